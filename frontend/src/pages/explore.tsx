import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { Chart, seriesLabel } from '../chart';
import { ErrorBox, Loading, RangePicker, useFetch, useNow } from '../components';
import { setQuery, useRoute } from '../router';
import { fmtTime, RANGES, stepFor } from '../util';
import { ToDashboard } from './explore2dash';

// Explore: a PromQL editor with suggestions of metric and label names, a graph
// and a table. The URL holds the query, the range and the view, so it can be
// shared. A panel's Explore link opens it here (?dash=&panel=); the query
// goes back to a panel, or onto any dashboard, with ToDashboard.
export function Explore() {
  const route = useRoute();
  const q = route.query.get('q') ?? '';
  const view = route.query.get('view') === 'table' ? 'table' : 'graph';
  const range = route.query.get('range') ?? '1h';
  const fromQ = Number(route.query.get('from'));
  const toQ = Number(route.query.get('to'));
  const zoomed = fromQ > 0 && toQ > fromQ;
  const now = useNow(60000);
  const [runs, setRuns] = useState(0);
  const end = zoomed ? toQ : now;
  const start = zoomed ? fromQ : now - (RANGES[range] ?? 3600);
  const step = stepFor(start, end, 300);

  const result = useFetch<api.PromResult | null>(
    () => {
      if (!q.trim()) return Promise.resolve(null);
      return view === 'graph' ? api.queryRange(q, start, end, step) : api.queryInstant(q, end);
    },
    [q, view, start, end, step, runs],
  );

  return (
    <div class="page">
      <div class="page-head"><h1>Explore</h1></div>
      <Editor
        initial={q}
        onRun={(text) => {
          if (text === q) setRuns((r) => r + 1);
          else setQuery({ q: text }, { replace: false });
        }}
      />
      <div class="toolbar">
        <div class="seg" role="group" aria-label="view">
          <button type="button" class={view === 'graph' ? 'on' : ''} aria-pressed={view === 'graph'} onClick={() => setQuery({ view: undefined })}>Graph</button>
          <button type="button" class={view === 'table' ? 'on' : ''} aria-pressed={view === 'table'} onClick={() => setQuery({ view: 'table' })}>Table</button>
        </div>
        <RangePicker value={zoomed ? '' : range} onChange={(r) => setQuery({ range: r === '1h' ? undefined : r, from: undefined, to: undefined })} />
        {zoomed && (
          <>
            <span class="small muted">{fmtTime(start * 1000)} – {fmtTime(end * 1000)}</span>
            <button type="button" class="btn small" onClick={() => setQuery({ from: undefined, to: undefined })}>Reset zoom</button>
          </>
        )}
      </div>
      <ErrorBox error={result.error} />
      <Loading show={result.loading} />
      {result.data && <Result r={result.data} view={view} start={start} end={end} step={step} />}
      <ToDashboard query={q} dash={route.query.get('dash') ?? undefined} panel={route.query.get('panel') ? Number(route.query.get('panel')) : undefined} />
      {!q.trim() && <p class="muted">Type a PromQL query, e.g. <code>prophasis_value</code> or <code>prophasis_state == 3</code>, and press Run (Ctrl+Enter).</p>}
    </div>
  );
}

function Result({ r, view, start, end, step }: { r: api.PromResult; view: string; start: number; end: number; step: number }) {
  if (r.resultType === 'scalar' || r.resultType === 'string') {
    const v = r.result as [number, string];
    return <div class="card"><span class="mono">{v[1]}</span></div>;
  }
  const series = r.result as api.PromSeries[];
  if (series.length === 0) return <p class="muted">No data.</p>;
  if (view === 'graph' && r.resultType === 'matrix') {
    return (
      <div class="card">
        {series.length > 50 && <p class="muted small">{series.length} series; the legend is hidden above 12.</p>}
        <Chart series={series} start={start} end={end} step={step} height={360} label="query result"
          onZoom={(f, t) => setQuery({ from: String(f), to: String(t) }, { replace: false })} />
      </div>
    );
  }
  return (
    <div class="card table-wrap">
      <table class="table">
        <thead><tr><th>Series</th><th class="num">Value</th></tr></thead>
        <tbody>
          {series.map((s, i) => {
            const v = s.value ?? s.values?.[s.values.length - 1];
            return (
              <tr key={i}>
                <td class="mono break">{seriesLabel(s.metric)}</td>
                <td class="num mono">{v ? v[1] : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

// The word being typed just before the cursor: a metric or label name.
function wordAt(text: string, pos: number): { start: number; word: string } {
  let i = pos;
  while (i > 0 && /[a-zA-Z0-9_:]/.test(text[i - 1])) i--;
  return { start: i, word: text.slice(i, pos) };
}

// insideBraces says whether the cursor is inside a {...} label matcher, where
// label names rather than metric names are suggested.
function insideBraces(text: string, pos: number): boolean {
  let depth = 0, quote = false;
  for (let i = 0; i < pos; i++) {
    const ch = text[i];
    if (quote) { if (ch === '\\') i++; else if (ch === '"') quote = false; continue; }
    if (ch === '"') quote = true;
    else if (ch === '{') depth++;
    else if (ch === '}') depth = Math.max(0, depth - 1);
  }
  return depth > 0 && !quote;
}

function Editor({ initial, onRun }: { initial: string; onRun: (q: string) => void }) {
  const [text, setText] = useState(initial);
  const [cursor, setCursor] = useState(initial.length);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const ta = useRef<HTMLTextAreaElement>(null);
  useEffect(() => setText(initial), [initial]);

  const metrics = useFetch(() => api.get<string[]>('/api/v1/label/__name__/values'), []);
  const labels = useFetch(() => api.get<string[]>('/api/v1/labels'), []);

  const { start, word } = wordAt(text, cursor);
  const inBraces = insideBraces(text, cursor);
  const suggestions = useMemo(() => {
    if (!word) return [];
    const pool = inBraces ? labels.data ?? [] : metrics.data ?? [];
    const w = word.toLowerCase();
    const pre = pool.filter((x) => x.toLowerCase().startsWith(w) && x !== word);
    const sub = pool.filter((x) => !x.toLowerCase().startsWith(w) && x.toLowerCase().includes(w));
    return [...pre, ...sub].slice(0, 12);
  }, [word, inBraces, metrics.data, labels.data]);
  const showList = open && suggestions.length > 0;

  const accept = (s: string) => {
    const next = text.slice(0, start) + s + text.slice(cursor);
    const pos = start + s.length;
    setText(next);
    setOpen(false);
    requestAnimationFrame(() => {
      const el = ta.current;
      if (el) { el.focus(); el.setSelectionRange(pos, pos); setCursor(pos); }
    });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      setOpen(false);
      onRun(text.trim());
      return;
    }
    if (!showList) return;
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive((a) => (a + 1) % suggestions.length); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive((a) => (a - 1 + suggestions.length) % suggestions.length); }
    else if (e.key === 'Tab' || e.key === 'Enter') { e.preventDefault(); accept(suggestions[Math.min(active, suggestions.length - 1)]); }
    else if (e.key === 'Escape') { e.preventDefault(); setOpen(false); }
  };

  return (
    <form class="editor" onSubmit={(e) => { e.preventDefault(); setOpen(false); onRun(text.trim()); }}>
      <label for="promql" class="sr-only">PromQL query</label>
      <div class="editor-box">
        <textarea
          id="promql"
          ref={ta}
          class="mono"
          rows={3}
          spellcheck={false}
          autocomplete="off"
          placeholder='prophasis_value{host="web1"}'
          value={text}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={showList}
          aria-controls="promql-suggestions"
          aria-activedescendant={showList ? `sugg-${active}` : undefined}
          onInput={(e) => {
            const el = e.currentTarget;
            setText(el.value);
            setCursor(el.selectionStart ?? el.value.length);
            setOpen(true);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
          onClick={(e) => setCursor(e.currentTarget.selectionStart ?? 0)}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
        />
        {showList && (
          <ul id="promql-suggestions" class="suggestions" role="listbox" aria-label={inBraces ? 'label names' : 'metric names'}>
            {suggestions.map((s, i) => (
              <li
                key={s}
                id={`sugg-${i}`}
                role="option"
                aria-selected={i === active}
                class={i === active ? 'active mono' : 'mono'}
                onMouseDown={(e) => { e.preventDefault(); accept(s); }}
              >
                {s}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div class="row">
        <button type="submit" class="btn primary">Run</button>
        <span class="small muted hide-narrow">Ctrl+Enter runs · Tab accepts a suggestion</span>
      </div>
    </form>
  );
}
