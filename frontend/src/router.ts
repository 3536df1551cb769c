// A tiny history router: the server answers index.html for every UI path,
// and the UI picks the page from location.pathname. Same-origin <a href="/...">
// clicks are handled here without a page load.
import { useEffect, useState } from 'preact/hooks';

export interface Route { path: string; query: URLSearchParams }

const listeners = new Set<() => void>();

function current(): Route {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function navigate(url: string, opts: { replace?: boolean } = {}) {
  if (url === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((f) => f());
  if (!opts.replace) window.scrollTo(0, 0);
}

// Sets query parameters of the current URL (undefined or '' removes one).
export function setQuery(params: Record<string, string | undefined>, opts: { replace?: boolean } = { replace: true }) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? '?' + s : ''), opts);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const f = () => setRoute(current());
    listeners.add(f);
    window.addEventListener('popstate', f);
    return () => {
      listeners.delete(f);
      window.removeEventListener('popstate', f);
    };
  }, []);
  return route;
}

export function installLinkHandler() {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('//')) return;
    if (href.startsWith('/manage/') || href.startsWith('/api/') || href.startsWith('/metrics')) return;
    e.preventDefault();
    navigate(href);
  });
}

export function hrefWith(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
