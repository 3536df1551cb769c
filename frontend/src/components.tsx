import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { ApiError, type Session } from './api';

export const SessionContext = createContext<Session | null>(null);
export const useSession = () => useContext(SessionContext);
export const useIsAdmin = () => useContext(SessionContext)?.role === 'admin';

export function StateBadge({ state, pending }: { state: string; pending?: string }) {
  return (
    <span class={`badge st-${state}`}>
      {state}
      {pending && pending !== state ? <span class="pending" title={`pending: ${pending}`}> → {pending}?</span> : null}
    </span>
  );
}

export interface Fetched<T> { data: T | undefined; error: ApiError | null; loading: boolean; reload: () => void }

// useFetch runs load() when deps change and every `every` ms (when given and the
// tab is visible); the last good data stay shown while a reload runs or fails.
export function useFetch<T>(load: () => Promise<T>, deps: unknown[], every?: number): Fetched<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const gen = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const depsKey = JSON.stringify(deps);
  const lastKey = useRef(depsKey);

  useEffect(() => {
    if (lastKey.current !== depsKey) {
      lastKey.current = depsKey;
      setData(undefined);
    }
    const my = ++gen.current;
    setLoading(true);
    load().then(
      (d) => { if (my === gen.current) { setData(d); setError(null); setLoading(false); } },
      (e) => {
        if (my === gen.current) {
          setError(e instanceof ApiError ? e : new ApiError(0, 'client', String(e)));
          setLoading(false);
        }
      },
    );
  }, [depsKey, tick]);

  useEffect(() => {
    if (!every) return;
    const id = setInterval(() => { if (!document.hidden) reload(); }, every);
    return () => clearInterval(id);
  }, [every, reload]);

  return { data, error, loading, reload };
}

export function ErrorBox({ error, what }: { error: ApiError | null; what?: string }) {
  if (!error) return null;
  let text = error.message;
  if (error.status === 503) text = `not available on this server: ${error.message}`;
  if (error.status === 403) text = 'your role may not see this';
  return <div class="error" role="alert">{what ? `${what}: ` : ''}{text}</div>;
}

export function Loading({ show }: { show: boolean }) {
  return show ? <div class="muted small" aria-live="polite">loading…</div> : null;
}

export function Section({ title, children, actions, id }: { title: string; children: ComponentChildren; actions?: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard API (plain HTTP): select the text instead so the user can copy it.
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try { document.execCommand('copy'); } catch { /* ignore */ }
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return <button type="button" class="btn small" onClick={copy}>{done ? 'Copied' : label}</button>;
}

export function RangePicker({ value, onChange }: { value: string; onChange: (r: string) => void }) {
  const options = ['1h', '6h', '24h', '7d'];
  return (
    <div class="seg" role="group" aria-label="time range">
      {options.map((o) => (
        <button type="button" key={o} class={value === o ? 'on' : ''} aria-pressed={value === o} onClick={() => onChange(o)}>
          {o}
        </button>
      ))}
    </div>
  );
}

export function useNow(every = 30000): number {
  const [now, setNow] = useState(() => Math.floor(Date.now() / 1000));
  useEffect(() => {
    const id = setInterval(() => setNow(Math.floor(Date.now() / 1000)), every);
    return () => clearInterval(id);
  }, [every]);
  return now;
}
