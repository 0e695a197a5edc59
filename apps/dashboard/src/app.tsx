import { type FormEvent, useEffect, useState } from 'react';
import { apiKey, whenUnauthorized } from './api.js';
import { BatchesPage } from './pages/batches-page.js';
import { BenchPage } from './pages/bench-page.js';
import { ChatPage } from './pages/chat-page.js';
import { ClassifyPage } from './pages/classify-page.js';
import { DetectPage, PosePage, SegmentPage } from './pages/detection-pages.js';
import { EmbedPage } from './pages/embed-page.js';
import { ModelsPage } from './pages/models-page.js';
import { RemoveBackgroundPage } from './pages/remove-background-page.js';
import { WorkersPage } from './pages/workers-page.js';
import { href, useRoute } from './router.js';

const pages = [
  ['models', 'Models'],
  ['chat', 'Chat'],
  ['embed', 'Embeddings'],
  ['detect', 'Detection'],
  ['segment', 'Segmentation'],
  ['pose', 'Pose'],
  ['remove-background', 'Cut-out'],
  ['classify', 'Classification'],
  ['workers', 'Workers'],
  ['batches', 'Batches'],
  ['bench', 'Benchmarks'],
] as const;

export function App() {
  const route = useRoute();
  const [askKey, setAskKey] = useState(false);
  // Bumped when a key is given: pages load again with it.
  const [generation, setGeneration] = useState(0);
  const [checked, setChecked] = useState(false);
  const [keyError, setKeyError] = useState<string>();
  useEffect(
    () =>
      whenUnauthorized((message) => {
        setKeyError(message);
        setAskKey(true);
      }),
    [],
  );
  // Ask for the key before the first call when the gateway wants one (its /healthz says so).
  useEffect(() => {
    fetch('/healthz')
      .then((response) => response.json() as Promise<{ auth?: boolean }>)
      .then((health) => {
        if (health.auth && !apiKey.get()) setAskKey(true);
      })
      .catch(() => undefined)
      .finally(() => setChecked(true));
  }, []);

  const page = (() => {
    const model = route.model;
    switch (route.page) {
      case 'chat':
        return <ChatPage model={model} />;
      case 'embed':
        return <EmbedPage model={model} />;
      case 'detect':
        return <DetectPage model={model} />;
      case 'segment':
        return <SegmentPage model={model} />;
      case 'pose':
        return <PosePage model={model} />;
      case 'remove-background':
        return <RemoveBackgroundPage model={model} />;
      case 'classify':
        return <ClassifyPage model={model} />;
      case 'workers':
        return <WorkersPage />;
      case 'batches':
        return <BatchesPage />;
      case 'bench':
        return <BenchPage model={model} />;
      default:
        return <ModelsPage />;
    }
  })();

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <a className="brand" href={href('models')}>
          VMM
        </a>
        <nav aria-label="Pages">
          {pages.map(([id, label]) => (
            <a key={id} href={href(id)} aria-current={route.page === id ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      {askKey && (
        <KeyPrompt
          error={keyError}
          onKey={(key) => {
            apiKey.set(key);
            setAskKey(false);
            setGeneration((g) => g + 1);
          }}
        />
      )}
      <main id="main" key={generation}>
        {checked && !askKey ? page : null}
      </main>
    </>
  );
}

/** Asked once when the gateway wants an API key; kept for this browser tab (session storage). */
function KeyPrompt({ onKey, error }: { onKey: (key: string) => void; error: string | undefined }) {
  const [key, setKey] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  return (
    <form className="key-prompt" onSubmit={submit} aria-label="API key">
      <label htmlFor="api-key">This gateway needs an API key</label>
      <input
        id="api-key"
        type="password"
        autoComplete="off"
        autoFocus
        value={key}
        onChange={(e) => setKey(e.target.value)}
        placeholder="VMM_API_KEYS entry"
      />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit">Use key</button>
    </form>
  );
}
