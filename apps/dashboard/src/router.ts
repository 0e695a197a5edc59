import { useEffect, useState } from 'react';

/** Hash routes (`#/detect/yolov8n-squares`): the gateway serves one index.html for every page. */
export interface Route {
  page: string;
  model?: string;
}

export function parseRoute(hash: string): Route {
  const [page = 'models', ...rest] = hash.replace(/^#\/?/, '').split('/');
  const model = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  return { page: page || 'models', ...(model ? { model } : {}) };
}

export const href = (page: string, model?: string) =>
  `#/${page}${model ? `/${encodeURIComponent(model).replaceAll('%3A', ':').replaceAll('%2F', '/')}` : ''}`;

/** The page a model opens, chosen by its task (type-aware routing). */
export function pageForTask(task: string): string {
  switch (task) {
    case 'text-generation':
      return 'chat';
    case 'embedding':
      return 'embed';
    case 'object-detection':
      return 'detect';
    case 'image-classification':
      return 'classify';
    case 'instance-segmentation':
      return 'segment';
    case 'pose-estimation':
      return 'pose';
    case 'background-removal':
      return 'remove-background';
    default:
      return 'models';
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
