import { type FormEvent, useRef, useState } from 'react';
import { postJson, streamJson } from '../api.js';
import { ErrorNote, ModelPicker, Slider, Section, useTaskModels } from '../components.js';
import { useAsync } from '../use-async.js';

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Pictures sent with a turn (base64, as Ollama's `images`), sent again with the conversation. */
  images?: string[];
}

/** A file's bytes as base64, as Ollama's `images` take them. */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** A picture of a turn, drawn from its base64 (the format sniffed from its first bytes). */
function Thumbnail({ image }: { image: string }) {
  const type = image.startsWith('/9j/') ? 'jpeg' : image.startsWith('UklGR') ? 'webp' : 'png';
  return <img className="thumbnail" src={`data:image/${type};base64,${image}`} alt="attached" />;
}

interface Stats {
  ttftMs?: number;
  tokens: number;
  tokensPerSecond?: number;
}

/** Chat (or plain completion) with a text model: streamed tokens, parameters, TTFT and tok/s. */
export function ChatPage({ model: chosen }: { model: string | undefined }) {
  const models = useTaskModels('text-generation', chosen);
  const { model } = models;
  const [mode, setMode] = useState<'chat' | 'completion'>('chat');
  const [system, setSystem] = useState('');
  const [input, setInput] = useState('');
  const [messages, setMessages] = useState<Message[]>([]);
  const [answer, setAnswer] = useState('');
  const [temperature, setTemperature] = useState(0.8);
  const [topP, setTopP] = useState(0.9);
  const [maxTokens, setMaxTokens] = useState(128);
  const [stop, setStop] = useState('');
  const [stats, setStats] = useState<Stats>();
  const [error, setError] = useState<string>();
  const running = useRef<AbortController | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [attached, setAttached] = useState<File[]>([]);
  // Whether the model reads images: its /api/show capabilities say `vision`.
  const shown = useAsync(
    () =>
      model
        ? postJson<{ capabilities?: string[] }>('/api/show', { model })
        : Promise.resolve({ capabilities: [] as string[] }),
    [model],
  );
  const sees = shown.data?.capabilities?.includes('vision') === true;

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (!model || !input.trim() || busy) return;
    const controller = new AbortController();
    running.current = controller;
    setBusy(true);
    setError(undefined);
    setAnswer('');
    const options = {
      temperature,
      top_p: topP,
      num_predict: maxTokens,
      ...(stop ? { stop: stop.split('|').filter(Boolean) } : {}),
    };
    const images = sees ? await Promise.all(attached.map(base64Of)) : [];
    const withImages = images.length > 0 ? { images } : {};
    const history: Message[] = [...messages, { role: 'user', content: input, ...withImages }];
    const body =
      mode === 'chat'
        ? { model, messages: [...(system ? [{ role: 'system', content: system }] : []), ...history], options }
        : { model, prompt: input, ...(system ? { system } : {}), ...withImages, options };
    if (mode === 'chat') setMessages(history);
    setInput('');
    setAttached([]);
    const started = performance.now();
    let text = '';
    let first: number | undefined;
    let tokens = 0;
    try {
      for await (const event of streamJson(
        mode === 'chat' ? '/api/chat' : '/api/generate',
        body,
        controller.signal,
      )) {
        const piece =
          mode === 'chat'
            ? ((event.message as { content?: string } | undefined)?.content ?? '')
            : String(event.response ?? '');
        if (piece) {
          first ??= performance.now() - started;
          tokens += 1;
          text += piece;
          setAnswer(text);
          setStats({ ttftMs: first, tokens });
        }
        if (event.done === true) {
          const count = typeof event.eval_count === 'number' ? event.eval_count : tokens;
          const ns = typeof event.eval_duration === 'number' ? event.eval_duration : 0;
          setStats({
            ttftMs: first,
            tokens: count,
            tokensPerSecond: ns > 0 ? (count * 1e9) / ns : undefined,
          });
        }
      }
      if (mode === 'chat') setMessages([...history, { role: 'assistant', content: text }]);
      setAnswer(mode === 'chat' ? '' : text);
    } catch (caught) {
      if (!controller.signal.aborted) setError((caught as Error).message);
      else if (mode === 'chat')
        setMessages([...history, { role: 'assistant', content: `${text} [stopped]` }]);
      if (mode === 'chat') setAnswer('');
    } finally {
      running.current = undefined;
      setBusy(false);
    }
  };

  return (
    <Section
      title={mode === 'chat' ? 'Chat' : 'Completion'}
      aside={<ModelPicker page="chat" models={models} />}
    >
      <div className="playground">
        <form className="controls" onSubmit={(e) => e.preventDefault()} aria-label="Parameters">
          <fieldset>
            <legend>Mode</legend>
            <label>
              <input type="radio" name="mode" checked={mode === 'chat'} onChange={() => setMode('chat')} />{' '}
              Chat
            </label>
            <label>
              <input
                type="radio"
                name="mode"
                checked={mode === 'completion'}
                onChange={() => setMode('completion')}
              />{' '}
              Completion
            </label>
          </fieldset>
          <label htmlFor="system">System prompt</label>
          <textarea id="system" rows={2} value={system} onChange={(e) => setSystem(e.target.value)} />
          <Slider
            id="temperature"
            label="Temperature"
            value={temperature}
            min={0}
            max={2}
            step={0.05}
            onChange={setTemperature}
          />
          <Slider id="top-p" label="Top p" value={topP} min={0} max={1} step={0.05} onChange={setTopP} />
          <Slider
            id="max-tokens"
            label="Max tokens"
            value={maxTokens}
            min={1}
            max={1024}
            step={1}
            onChange={setMaxTokens}
          />
          <label htmlFor="stop">Stop sequences (separated by |)</label>
          <input id="stop" value={stop} onChange={(e) => setStop(e.target.value)} />
          <button type="button" onClick={() => setMessages([])} disabled={busy}>
            Clear conversation
          </button>
        </form>
        <div className="conversation">
          <ol className="messages" aria-live="polite">
            {messages.map((message, i) => (
              <li key={i} className={message.role}>
                <span className="role">{message.role}</span>
                {message.images?.map((image, j) => (
                  <Thumbnail key={j} image={image} />
                ))}
                <pre>{message.content}</pre>
              </li>
            ))}
            {(busy || answer) && (
              <li className="assistant streaming">
                <span className="role">assistant</span>
                <pre data-testid="answer">{answer}</pre>
              </li>
            )}
          </ol>
          <p className="stats" data-testid="stats">
            {stats
              ? `TTFT ${stats.ttftMs?.toFixed(0) ?? '–'} ms · ${stats.tokens} tokens${
                  stats.tokensPerSecond ? ` · ${stats.tokensPerSecond.toFixed(1)} tok/s` : ''
                }`
              : 'TTFT and tokens/s appear here'}
          </p>
          <ErrorNote error={error} />
          {sees && attached.length > 0 && (
            <ul className="attachments" aria-label="Attached images">
              {attached.map((file, i) => (
                <li key={`${file.name}-${i}`}>
                  {file.name}{' '}
                  <button
                    type="button"
                    aria-label={`Remove ${file.name}`}
                    onClick={() => setAttached(attached.filter((_, k) => k !== i))}
                  >
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          <form
            className="composer"
            // Whether the model reads images, once its capabilities are known.
            data-sees={shown.loading ? undefined : String(sees)}
            onSubmit={(e) => void send(e)}
          >
            {sees && (
              <label className="attach">
                <span>Attach images</span>
                <input
                  id="attach"
                  type="file"
                  accept="image/png,image/jpeg,image/webp"
                  multiple
                  onChange={(e) => {
                    const files = [...(e.target.files ?? [])];
                    setAttached([...attached, ...files]);
                    e.target.value = '';
                  }}
                />
              </label>
            )}
            <label htmlFor="prompt" className="sr-only">
              Message
            </label>
            <textarea
              id="prompt"
              rows={3}
              value={input}
              placeholder={model ? `Message ${model} (Ctrl+Enter sends)` : 'No text model'}
              onChange={(e) => setInput(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e);
              }}
            />
            {busy ? (
              <button type="button" onClick={() => running.current?.abort()}>
                Stop
              </button>
            ) : (
              <button type="submit" disabled={!model || !input.trim()}>
                Send
              </button>
            )}
          </form>
        </div>
      </div>
    </Section>
  );
}
