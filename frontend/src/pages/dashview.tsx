// DashboardView draws a dashboard: its variables, the time range (drag on
// any chart to zoom every panel), auto-refresh, the panels (a panel with
// repeat drawn once per selected value of its variable) and, for an admin in
// edit mode, the editors. Everything the view shows is in the URL.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import * as api from '../api';
import { Chart, seriesLabel, StateTimeline } from '../chart';
import { CopyButton, ErrorBox, Loading, RangePicker, Section, useFetch, useIsAdmin, useNow } from '../components';
import { hrefWith, setQuery, useRoute } from '../router';
import { fmtTime, fmtValue, RANGES, stepFor } from '../util';
import { expand, useVariables, VAR_NAMES, VariablePickers, type VarName, type Vars, type VarState } from './dashvars';
import { exportDocument, parseDashboard, PANEL_TYPES, type Dashboard, type Panel, type PanelType } from './dashdoc';

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

let idSeq = 0;
const newID = () => `p${++idSeq}`;

// DashboardView shows a dashboard. A stored one passes onChange (which
// saves; it rejects with the server's reason) and onDelete; a generated one
// (a host's automatic dashboard) passes onSaveCopy instead and cannot be
// edited. Viewers see neither edit nor save buttons.
export function DashboardView({ d, onChange, onDelete, onSaveCopy, crumb, saveError }: {
  d: Dashboard; onChange?: (d: Dashboard) => void; onDelete?: () => void; onSaveCopy?: () => void; crumb?: ComponentChildren;
  saveError?: api.ApiError | null;
}) {
  const route = useRoute();
  const admin = useIsAdmin();
  const editing = admin && !!onChange && route.query.get('edit') === '1';
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
  const vs = useVariables(d.variables ?? []);
  const [json, setJson] = useState('');
  const [jsonErr, setJsonErr] = useState('');
  const exportText = JSON.stringify(exportDocument(d), null, 2);
  useEffect(() => { if (editing) setJson(exportText); }, [editing, exportText]);

  const change = (nd: Dashboard) => onChange?.(nd);
  const setPanel = (i: number, p: Panel | null) => {
    const panels = d.panels.slice();
    if (p) panels[i] = p; else panels.splice(i, 1);
    change({ ...d, panels });
  };
  const setVariable = (name: VarName, on: boolean, multi: boolean) => {
    const rest = d.variables.filter((v) => v.name !== name);
    const variables = on ? VAR_NAMES.filter((n) => n === name || rest.some((v) => v.name === n)).map((n) => (n === name ? { name, multi: multi || undefined } : rest.find((v) => v.name === n)!)) : rest;
    // A panel repeated by a removed variable is drawn once.
    const panels = on ? d.panels : d.panels.map((p) => (p.repeat === name ? { ...p, repeat: undefined } : p));
    change({ ...d, variables, panels });
  };
  const keep = (k: string) => route.query.get(k) ?? undefined;

  return (
    <div class="page">
      <div class="page-head">
        <h1>{crumb ?? <a href="/dashboards" class="muted crumb">Dashboards</a>} / {d.title || d.name}</h1>
        <div class="row wrap">
          {onSaveCopy ? (
            admin && <button type="button" class="btn" onClick={onSaveCopy}>Save as a dashboard</button>
          ) : !admin || !onChange ? null : editing ? (
            <a class="btn primary" href={hrefWith(location.pathname, Object.fromEntries(['range', 'from', 'to', 'refresh', 'step', ...d.variables.map((v) => `var-${v.name}`)].map((k) => [k, keep(k)])))}>Done</a>
          ) : (
            <button type="button" class="btn" onClick={() => setQuery({ edit: '1' })}>Edit</button>
          )}
          <CopyButton text={exportText} label="Copy JSON" />
          <a class="btn small" download={`${d.name}.json`} href={`data:application/json;charset=utf-8,${encodeURIComponent(exportText)}`}>Export</a>
        </div>
      </div>
      {d.description && <p class="muted">{d.description}</p>}
      <ErrorBox error={saveError ?? null} what="Not saved" />
      <div class="toolbar">
        <VariablePickers state={vs} />
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
      <ErrorBox error={vs.error} what="Variables" />
      {editing && (
        <Section title="Edit" id="dash-edit">
          <div class="form wide">
            <div class="row wrap align-start">
              <div class="field grow">
                <label for="dash-title">Title</label>
                <input id="dash-title" value={d.title} onChange={(e) => change({ ...d, title: e.currentTarget.value })} />
              </div>
              <div class="field grow">
                <label for="dash-name">Name (in the URL)</label>
                <input id="dash-name" value={d.name} onChange={(e) => e.currentTarget.value && change({ ...d, name: e.currentTarget.value })} />
              </div>
            </div>
            <div class="field">
              <label for="dash-description">Description</label>
              <input id="dash-description" value={d.description ?? ''} onChange={(e) => change({ ...d, description: e.currentTarget.value })} />
            </div>
            <fieldset class="picker">
              <legend>Variables</legend>
              {VAR_NAMES.map((n) => {
                const v = d.variables.find((x) => x.name === n);
                return (
                  <div class="row wrap" key={n}>
                    <label class="check"><input type="checkbox" id={`dash-var-${n}`} checked={!!v} onChange={(e) => setVariable(n, e.currentTarget.checked, !!v?.multi)} /> ${n}</label>
                    {v && <label class="check small"><input type="checkbox" id={`dash-var-${n}-multi`} checked={!!v.multi} onChange={(e) => setVariable(n, true, e.currentTarget.checked)} /> several values</label>}
                  </div>
                );
              })}
              <p class="small muted">$group stands for its hosts as a regular expression (host=~"$group"); a variable of several values does too (host=~"$host").</p>
            </fieldset>
            <div class="row wrap">
              {PANEL_TYPES.map((t) => (
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
                const nd = parseDashboard(json, new Set(), d.name);
                if (typeof nd === 'string') { setJsonErr(nd); return; }
                setJsonErr('');
                change(nd);
              }}>Apply JSON</button>
            </details>
            <div><button type="button" class="btn small danger" onClick={() => { if (confirm(`Delete the dashboard ${d.title || d.name}?`)) onDelete?.(); }}>Delete dashboard</button></div>
          </div>
        </Section>
      )}
      <Loading show={vs.loading} />
      {!vs.loading && (
        <div class="panels">
          {d.panels.flatMap((p, i) => {
            const rep = p.repeat && d.variables.some((v) => v.name === p.repeat) ? vs.selected[p.repeat] ?? [] : null;
            const draw = (vars: Vars, key: string, first: boolean) => (
              <PanelView key={key} p={p} vars={vars} start={start} end={end} step={step} tick={tick} from={onChange ? { dash: d.name, panel: i } : undefined}
                editing={editing && first} vs={vs} onChange={(np) => setPanel(i, np)}
                onZoom={(f, t) => setQuery({ from: String(f), to: String(t) }, { replace: false })} />
            );
            if (!rep) return [draw(vs.expanded(), `${i}`, true)];
            return rep.map((value, j) => draw(vs.expanded({ name: p.repeat!, value }), `${i}-${value}`, j === 0));
          })}
        </div>
      )}
      {d.panels.length === 0 && <p class="muted">No panels yet{admin && onChange ? ': Edit, then add one' : ''}.</p>}
    </div>
  );
}

function PanelView({ p, vars, start, end, step, tick, from, editing, vs, onChange, onZoom }: {
  p: Panel; vars: Vars; start: number; end: number; step: number; tick: number; from?: { dash: string; panel: number };
  editing: boolean; vs: VarState; onChange: (p: Panel | null) => void; onZoom: (f: number, t: number) => void;
}) {
  const q = expand(p.query, vars, 'query');
  const r = useFetch<api.PromResult | null>(
    () => (!q.trim() || p.type === 'messages' ? Promise.resolve(null)
      : p.type === 'timeseries' || p.type === 'state' ? api.queryRange(q, start, end, step) : api.queryInstant(q, end)),
    [q, p.type, start, end, step, tick],
  );
  const msgs = useFetch<api.Message[] | null>(() => {
    if (p.type !== 'messages') return Promise.resolve(null);
    const mp = messageParams(q);
    if (!mp.host) return Promise.reject(new api.ApiError(400, 'bad_data', 'a messages panel shows one host: host="..." in its query (repeat the panel by $host for several)'));
    return api.get<api.Message[]>('/manage/v1/messages', { ...mp, from: start, to: end, limit: 30 });
  }, [q, p.type, start, end, tick]);
  const series = r.data && Array.isArray(r.data.result) && r.data.resultType !== 'scalar' ? (r.data.result as api.PromSeries[]) : [];
  const scalar = r.data && r.data.resultType === 'scalar' ? parseFloat((r.data.result as [number, string])[1]) : undefined;
  const first = scalar ?? (series[0] ? parseFloat((series[0].value ?? series[0].values?.[series[0].values.length - 1] ?? [0, 'NaN'])[1]) : undefined);
  const title = expand(p.title, vars, 'title');
  return (
    <section class={`card panel panel-${p.type}`} aria-label={title || p.type} data-repeat={p.repeat || undefined}>
      <div class="card-head">
        <h2>{title}</h2>
        <span class="actions">
          {/* Explore can save its query back into a stored panel (?dash=&panel=),
              offered only when the query has no variables, which the saved
              query would lose. */}
          <a class="btn small" href={hrefWith('/explore', { q, ...(from && q === p.query ? { dash: from.dash, panel: String(from.panel) } : {}) })}>Explore</a>
        </span>
      </div>
      {editing && <PanelEditor p={p} vs={vs} onChange={onChange} />}
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

function PanelEditor({ p, vs, onChange }: { p: Panel; vs: VarState; onChange: (p: Panel | null) => void }) {
  const [query, setQuery2] = useState(p.query);
  useEffect(() => setQuery2(p.query), [p.query]);
  const id = useMemo(newID, []);
  return (
    <div class="panel-editor">
      <div class="field"><label for={`pt-${id}`}>Title</label><input id={`pt-${id}`} value={p.title} onChange={(e) => onChange({ ...p, title: e.currentTarget.value })} /></div>
      <div class="row wrap">
        <div class="field"><label for={`py-${id}`}>Type</label>
          <select id={`py-${id}`} value={p.type} onChange={(e) => onChange({ ...p, type: e.currentTarget.value as PanelType })}>
            <option value="timeseries">time series</option><option value="state">state timeline</option><option value="stat">stat</option>
            <option value="gauge">gauge</option><option value="table">table</option><option value="messages">messages</option>
          </select>
        </div>
        <div class="field"><label for={`pr-${id}`}>Repeat for each</label>
          <select id={`pr-${id}`} class="panel-repeat" value={p.repeat ?? ''} onChange={(e) => onChange({ ...p, repeat: (e.currentTarget.value || undefined) as VarName | undefined })}>
            <option value="">(once)</option>
            {vs.vars.map((v) => <option key={v.name} value={v.name}>${v.name}</option>)}
          </select>
        </div>
      </div>
      <div class="field"><label for={`pq-${id}`}>PromQL ($host, $group, $check are the variables)</label>
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
