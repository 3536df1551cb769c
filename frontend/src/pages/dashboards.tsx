// Dashboards: panels of time series, stat, gauge and table over PromQL, a
// host variable ($host in queries), a shared time range (drag on a chart to
// zoom), auto-refresh, JSON import and export.
//
// Storage: the management API has no dashboards yet, so dashboards live in
// this browser (localStorage) until it does; export and import move them as
// JSON (the same document the API will take).
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import * as api from '../api';
import { Chart, seriesLabel, StateTimeline } from '../chart';
import { CopyButton, ErrorBox, Loading, RangePicker, Section, useFetch, useNow } from '../components';
import { hrefWith, navigate, setQuery, useRoute } from '../router';
import { fmtTime, fmtValue, RANGES, stepFor } from '../util';

export type PanelType = 'timeseries' | 'state' | 'stat' | 'gauge' | 'table' | 'messages';
const TYPES: PanelType[] = ['timeseries', 'state', 'stat', 'gauge', 'table', 'messages'];
export interface Panel { title: string; type: PanelType; query: string; min?: number; max?: number; unit?: string; help?: string; stacked?: boolean }
export interface Dashboard { id: string; title: string; variables?: { host?: boolean }; panels: Panel[] }

const KEY = 'prophasis.dashboards';

export function loadDashboards(): Dashboard[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter(validDashboard) : [];
  } catch {
    return [];
  }
}
export function saveDashboards(ds: Dashboard[]) { localStorage.setItem(KEY, JSON.stringify(ds)); }

function validDashboard(d: any): d is Dashboard {
  return d && typeof d === 'object' && typeof d.title === 'string' && Array.isArray(d.panels) &&
    d.panels.every((p: any) => p && typeof p.query === 'string' && TYPES.includes(p.type));
}

// parseDashboard reads an imported document, saying what is wrong with it.
export function parseDashboard(text: string): Dashboard | string {
  let d: any;
  try { d = JSON.parse(text); } catch (e) { return `not valid JSON: ${(e as Error).message}`; }
  if (!d || typeof d !== 'object' || Array.isArray(d)) return 'the document must be a JSON object';
  if (typeof d.title !== 'string' || !d.title.trim()) return '"title" must be a non-empty string';
  if (!Array.isArray(d.panels)) return '"panels" must be a list';
  for (const [i, p] of d.panels.entries()) {
    if (!p || typeof p.query !== 'string') return `panels[${i}]: "query" must be a string`;
    if (!TYPES.includes(p.type)) return `panels[${i}]: "type" must be one of ${TYPES.join(', ')}`;
    if (p.title !== undefined && typeof p.title !== 'string') return `panels[${i}]: "title" must be a string`;
  }
  return { id: typeof d.id === 'string' && d.id ? d.id : newID(), title: d.title, variables: d.variables, panels: d.panels.map((p: any) => ({ ...p, title: p.title ?? '' })) };
}

const DEFAULT_QUERY: Record<PanelType, string> = {
  timeseries: 'prophasis_value{host="$host"}',
  state: 'prophasis_state{host="$host"}',
  stat: 'count(prophasis_state{host="$host"} > 0) or vector(0)',
  gauge: 'prophasis_value{host="$host", plugin="disk"}',
  table: 'prophasis_value{host="$host"}',
  messages: '{host="$host"}',
};

// A messages panel's query is a set of matchers {host="...", plugin="...",
// check="..."} for GET /manage/v1/messages (host is required).
function messageParams(q: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of q.matchAll(/(host|plugin|check)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2].replace(/\\(.)/g, '$1');
  return out;
}

export const newID = () => Math.random().toString(36).slice(2, 10);

export function Dashboards() {
  const route = useRoute();
  const m = route.path.match(/^\/dashboards\/([^/]+)$/);
  const [all, setAll] = useState(loadDashboards);
  const update = (ds: Dashboard[]) => { saveDashboards(ds); setAll(ds); };
  if (m) {
    const d = all.find((x) => x.id === decodeURIComponent(m[1]));
    if (!d) return <div class="page"><p class="error" role="alert">No such dashboard in this browser. <a href="/dashboards">All dashboards</a></p></div>;
    return <DashboardView key={d.id} d={d} onChange={(nd) => update(all.map((x) => (x.id === nd.id ? nd : x)))} onDelete={() => { update(all.filter((x) => x.id !== d.id)); navigate('/dashboards'); }} />;
  }
  return <DashboardList all={all} update={update} />;
}

function DashboardList({ all, update }: { all: Dashboard[]; update: (ds: Dashboard[]) => void }) {
  const [importing, setImporting] = useState(false);
  const [text, setText] = useState('');
  const [err, setErr] = useState('');
  const create = () => {
    const d: Dashboard = {
      id: newID(), title: 'New dashboard', variables: { host: true },
      panels: [
        { title: 'Values of $host', type: 'timeseries', query: 'prophasis_value{host="$host"}' },
        { title: 'Checks not ok', type: 'stat', query: 'count(prophasis_state{host="$host"} > 0) or vector(0)' },
      ],
    };
    update([...all, d]);
    navigate(`/dashboards/${d.id}?edit=1`);
  };
  const doImport = (e: Event) => {
    e.preventDefault();
    const d = parseDashboard(text);
    if (typeof d === 'string') { setErr(d); return; }
    if (all.some((x) => x.id === d.id)) d.id = newID();
    update([...all, d]);
    navigate(`/dashboards/${d.id}`);
  };
  return (
    <div class="page">
      <div class="page-head">
        <h1>Dashboards</h1>
        <div class="row">
          <button type="button" class="btn" onClick={() => setImporting(!importing)} aria-expanded={importing}>Import JSON</button>
          <button type="button" class="btn primary" onClick={create}>New dashboard</button>
        </div>
      </div>
      <p class="muted small">Dashboards are kept in this browser until the server stores them; export one as JSON to move or share it.</p>
      {importing && (
        <Section title="Import a dashboard" id="dash-import">
          <form class="form wide" onSubmit={doImport}>
            <div class="field">
              <label for="dash-import-json">Dashboard JSON</label>
              <textarea id="dash-import-json" class="mono" rows={10} value={text} onInput={(e) => setText(e.currentTarget.value)}
                aria-invalid={err ? true : undefined} aria-describedby="dash-import-err" />
              <div id="dash-import-err" role="alert">{err && <div class="field-error">{err}</div>}</div>
            </div>
            <div class="row"><button type="submit" class="btn primary">Import</button></div>
          </form>
        </Section>
      )}
      <Section title="In this browser" id="dash-list">
        {all.length === 0 && <p class="muted">No dashboards yet.</p>}
        <ul class="list">
          {all.map((d) => (
            <li key={d.id} class="row wrap">
              <a class="grow" href={`/dashboards/${encodeURIComponent(d.id)}`}>{d.title}</a>
              <span class="small muted">{d.panels.length} panels</span>
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}

const expand = (q: string, vars: Record<string, string>) =>
  q.replace(/\$(\w+)/g, (all, name: string) => (name in vars ? vars[name].replace(/\\/g, '\\\\').replace(/"/g, '\\"') : all));

// DashboardView shows a dashboard; a generated one (a host's automatic
// dashboard) passes onSaveCopy instead of onChange/onDelete and cannot be edited.
export function DashboardView({ d, onChange, onDelete, onSaveCopy, crumb }: {
  d: Dashboard; onChange?: (d: Dashboard) => void; onDelete?: () => void; onSaveCopy?: () => void; crumb?: ComponentChildren;
}) {
  const route = useRoute();
  const editing = !!onChange && route.query.get('edit') === '1';
  const range = route.query.get('range') ?? '6h';
  const refresh = Number(route.query.get('refresh') ?? '0');
  const fromQ = Number(route.query.get('from'));
  const toQ = Number(route.query.get('to'));
  const zoomed = fromQ > 0 && toQ > fromQ;
  const now = useNow(refresh > 0 ? refresh * 1000 : 3600 * 1000);
  const [tick, setTick] = useState(0);
  const end = zoomed ? toQ : now;
  const start = zoomed ? fromQ : now - (RANGES[range] ?? RANGES['6h']);
  // step= in the URL overrides the automatic step (about 300 points a series).
  const stepQ = Number(route.query.get('step'));
  const step = stepQ >= 1 ? Math.max(stepQ, Math.ceil((end - start) / 11000)) : stepFor(start, end, 300);
  const hosts = useFetch(() => (d.variables?.host ? api.get<string[]>('/api/v1/label/host/values') : Promise.resolve([] as string[])), [d.variables?.host]);
  const host = route.query.get('var-host') ?? hosts.data?.[0] ?? '';
  const vars = useMemo(() => ({ host }), [host]);
  const [json, setJson] = useState('');
  const [jsonErr, setJsonErr] = useState('');
  const exportText = JSON.stringify({ title: d.title, variables: d.variables, panels: d.panels }, null, 2);
  useEffect(() => { if (editing) setJson(exportText); }, [editing, d]);

  const change = (nd: Dashboard) => onChange?.(nd);
  const setPanel = (i: number, p: Panel | null) => {
    const panels = d.panels.slice();
    if (p) panels[i] = p; else panels.splice(i, 1);
    change({ ...d, panels });
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>{crumb ?? <a href="/dashboards" class="muted crumb">Dashboards</a>} / {d.title}</h1>
        <div class="row wrap">
          {onSaveCopy ? (
            <button type="button" class="btn" onClick={onSaveCopy}>Save as a dashboard</button>
          ) : editing ? (
            <a class="btn primary" href={hrefWith(location.pathname, { range: route.query.get('range') ?? undefined, 'var-host': route.query.get('var-host') ?? undefined })}>Done</a>
          ) : (
            <button type="button" class="btn" onClick={() => setQuery({ edit: '1' })}>Edit</button>
          )}
          <CopyButton text={exportText} label="Copy JSON" />
          <a class="btn small" download={`${d.title.replace(/[^\w.-]+/g, '_')}.json`} href={`data:application/json;charset=utf-8,${encodeURIComponent(exportText)}`}>Export</a>
        </div>
      </div>
      <div class="toolbar">
        {d.variables?.host && (
          <div class="field">
            <label for="var-host">Host</label>
            <select id="var-host" value={host} onChange={(e) => setQuery({ 'var-host': e.currentTarget.value })}>
              {(hosts.data ?? []).map((h) => <option key={h} value={h}>{h}</option>)}
            </select>
          </div>
        )}
        <RangePicker value={zoomed ? '' : range} onChange={(r) => setQuery({ range: r, from: undefined, to: undefined })} />
        {zoomed && (
          <>
            <span class="small muted">{fmtTime(start * 1000)} – {fmtTime(end * 1000)}</span>
            <button type="button" class="btn small" onClick={() => setQuery({ from: undefined, to: undefined })}>Reset zoom</button>
          </>
        )}
        <div class="field">
          <label for="dash-refresh">Refresh</label>
          <select id="dash-refresh" value={String(refresh)} onChange={(e) => setQuery({ refresh: e.currentTarget.value === '0' ? undefined : e.currentTarget.value })}>
            <option value="0">off</option><option value="15">15 s</option><option value="60">1 min</option><option value="300">5 min</option>
          </select>
        </div>
        <button type="button" class="btn small" onClick={() => setTick((t) => t + 1)}>Reload</button>
      </div>
      {editing && (
        <Section title="Edit" id="dash-edit">
          <div class="form wide">
            <div class="field">
              <label for="dash-title">Title</label>
              <input id="dash-title" value={d.title} onChange={(e) => change({ ...d, title: e.currentTarget.value || d.title })} />
            </div>
            <label class="check">
              <input type="checkbox" checked={!!d.variables?.host} onChange={(e) => change({ ...d, variables: { ...d.variables, host: e.currentTarget.checked } })} /> Host variable ($host in queries)
            </label>
            <div class="row wrap">
              {TYPES.map((t) => (
                <button key={t} type="button" class="btn small" onClick={() => change({ ...d, panels: [...d.panels, { title: `New ${t}`, type: t, query: DEFAULT_QUERY[t] }] })}>Add {t}</button>
              ))}
            </div>
            <details>
              <summary>Dashboard JSON</summary>
              <div class="field">
                <label for="dash-json">JSON</label>
                <textarea id="dash-json" class="mono" rows={14} value={json} onInput={(e) => setJson(e.currentTarget.value)} aria-describedby="dash-json-err" />
                <div id="dash-json-err" role="alert">{jsonErr && <div class="field-error">{jsonErr}</div>}</div>
              </div>
              <button type="button" class="btn small" onClick={() => {
                const nd = parseDashboard(json);
                if (typeof nd === 'string') { setJsonErr(nd); return; }
                setJsonErr('');
                change({ ...nd, id: d.id });
              }}>Apply JSON</button>
            </details>
            <div><button type="button" class="btn small danger" onClick={() => { if (confirm(`Delete the dashboard ${d.title}?`)) onDelete?.(); }}>Delete dashboard</button></div>
          </div>
        </Section>
      )}
      <div class="panels">
        {d.panels.map((p, i) => (
          <PanelView key={i} p={p} vars={vars} start={start} end={end} step={step} tick={tick}
            editing={editing} onChange={(np) => setPanel(i, np)}
            onZoom={(f, t) => setQuery({ from: String(f), to: String(t) }, { replace: false })} />
        ))}
      </div>
      {d.panels.length === 0 && <p class="muted">No panels yet: Edit, then add one.</p>}
    </div>
  );
}

function PanelView({ p, vars, start, end, step, tick, editing, onChange, onZoom }: {
  p: Panel; vars: Record<string, string>; start: number; end: number; step: number; tick: number;
  editing: boolean; onChange: (p: Panel | null) => void; onZoom: (f: number, t: number) => void;
}) {
  const q = expand(p.query, vars);
  const r = useFetch<api.PromResult | null>(
    () => (!q.trim() || p.type === 'messages' ? Promise.resolve(null)
      : p.type === 'timeseries' || p.type === 'state' ? api.queryRange(q, start, end, step) : api.queryInstant(q, end)),
    [q, p.type, start, end, step, tick],
  );
  const msgs = useFetch<api.Message[] | null>(() => {
    if (p.type !== 'messages') return Promise.resolve(null);
    const mp = messageParams(q);
    if (!mp.host) return Promise.reject(new api.ApiError(400, 'bad_data', 'a messages panel needs host="..." in its query'));
    return api.get<api.Message[]>('/manage/v1/messages', { ...mp, from: start, to: end, limit: 30 });
  }, [q, p.type, start, end, tick]);
  const series = r.data && Array.isArray(r.data.result) && r.data.resultType !== 'scalar' ? (r.data.result as api.PromSeries[]) : [];
  const scalar = r.data && r.data.resultType === 'scalar' ? parseFloat((r.data.result as [number, string])[1]) : undefined;
  const first = scalar ?? (series[0] ? parseFloat((series[0].value ?? series[0].values?.[series[0].values.length - 1] ?? [0, 'NaN'])[1]) : undefined);
  const title = expand(p.title, vars).replace(/\\"/g, '"');
  return (
    <section class={`card panel panel-${p.type}`} aria-label={title || p.type}>
      <div class="card-head">
        <h2>{title}</h2>
        <span class="actions">
          <a class="btn small" href={hrefWith('/explore', { q })}>Explore</a>
        </span>
      </div>
      {editing && <PanelEditor p={p} onChange={onChange} />}
      {p.help && <p class="small muted">{p.help}</p>}
      <ErrorBox error={r.error} />
      <Loading show={r.loading && !r.data} />
      {r.data && p.type === 'timeseries' && (series.length ? <Chart series={series} start={start} end={end} step={step} height={220} label={title} onZoom={onZoom} stacked={p.stacked} /> : <p class="muted">No data.</p>)}
      {r.data && p.type === 'state' && (
        <>
          {series.map((x, i) => (
            <div key={i} class="state-row">
              <div class="small mono break">{seriesLabel(x.metric)}</div>
              <StateTimeline series={[x]} start={start} end={end} step={step} />
            </div>
          ))}
          {series.length === 0 && <p class="muted">No data.</p>}
        </>
      )}
      {p.type === 'messages' && (
        <>
          <ErrorBox error={msgs.error} />
          {msgs.data && msgs.data.length === 0 && <p class="muted">No messages in this range.</p>}
          <ul class="list messages">
            {(msgs.data ?? []).map((m, i) => (
              <li key={i} class="row wrap">
                <span class="small muted time">{fmtTime(m.timestamp ?? m.time)}</span>
                <span class="small">{[m.check, m.plugin].filter(Boolean).join('/')}</span>
                <span class="msg pre">{m.text ?? ''}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {r.data && p.type === 'stat' && <div class="stat"><span class="stat-value">{fmtValue(first)}</span>{p.unit && <span class="muted"> {p.unit}</span>}</div>}
      {r.data && p.type === 'gauge' && <Gauge value={first} min={p.min ?? 0} max={p.max ?? 100} unit={p.unit} />}
      {r.data && p.type === 'table' && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Series</th><th class="num">Value</th></tr></thead>
            <tbody>
              {series.map((s, i) => (
                <tr key={i}><td class="mono small break">{seriesLabel(s.metric)}</td><td class="num mono">{fmtValue(parseFloat(s.value?.[1] ?? 'NaN'))}</td></tr>
              ))}
            </tbody>
          </table>
          {series.length === 0 && <p class="muted">No data.</p>}
        </div>
      )}
    </section>
  );
}

function PanelEditor({ p, onChange }: { p: Panel; onChange: (p: Panel | null) => void }) {
  const [query, setQuery2] = useState(p.query);
  const id = useMemo(newID, []);
  return (
    <div class="panel-editor">
      <div class="field"><label for={`pt-${id}`}>Title</label><input id={`pt-${id}`} value={p.title} onChange={(e) => onChange({ ...p, title: e.currentTarget.value })} /></div>
      <div class="field"><label for={`py-${id}`}>Type</label>
        <select id={`py-${id}`} value={p.type} onChange={(e) => onChange({ ...p, type: e.currentTarget.value as PanelType })}>
          <option value="timeseries">time series</option><option value="state">state timeline</option><option value="stat">stat</option>
          <option value="gauge">gauge</option><option value="table">table</option><option value="messages">messages</option>
        </select>
      </div>
      <div class="field"><label for={`pq-${id}`}>PromQL ($host is the variable)</label>
        <textarea id={`pq-${id}`} class="mono" rows={2} placeholder={p.type === 'messages' ? '{host="$host", plugin="load"}' : ''} value={query} onInput={(e) => setQuery2(e.currentTarget.value)} onBlur={() => query !== p.query && onChange({ ...p, query })} />
      </div>
      <div class="row wrap">
        <button type="button" class="btn small" onClick={() => onChange({ ...p, query })}>Apply query</button>
        <button type="button" class="btn small danger" onClick={() => onChange(null)}>Remove panel</button>
      </div>
    </div>
  );
}

function Gauge({ value, min, max, unit }: { value?: number; min: number; max: number; unit?: string }) {
  const v = value === undefined || Number.isNaN(value) ? undefined : value;
  const frac = v === undefined ? 0 : Math.min(1, Math.max(0, (v - min) / (max - min || 1)));
  const angle = Math.PI * (1 - frac);
  const x = 50 + 40 * Math.cos(angle), y = 50 - 40 * Math.sin(angle);
  const colour = frac > 0.9 ? 'var(--critical)' : frac > 0.75 ? 'var(--major)' : 'var(--ok)';
  return (
    <svg class="gauge" viewBox="0 0 100 60" role="img" aria-label={`${fmtValue(v)}${unit ? ' ' + unit : ''} of ${max}`}>
      <path d="M10 50 A40 40 0 0 1 90 50" fill="none" stroke="var(--grid)" stroke-width="8" />
      {v !== undefined && <path d={`M10 50 A40 40 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}`} fill="none" stroke={colour} stroke-width="8" />}
      <text x="50" y="48" text-anchor="middle" font-size="14" fill="currentColor">{fmtValue(v)}</text>
      {unit && <text x="50" y="58" text-anchor="middle" font-size="7" fill="currentColor">{unit}</text>}
    </svg>
  );
}
