import * as api from '../api';
import { Chart, Sparkline, StateTimeline } from '../chart';
import { ErrorBox, Loading, RangePicker, Section, StateBadge, useFetch, useNow } from '../components';
import { hrefWith, setQuery, useRoute } from '../router';
import { byWorst, fmtAgo, fmtTime, fmtValue, RANGES, stepFor } from '../util';

const SPARK_RANGE = 6 * 3600;

const sel = (host: string, plugin?: string, check?: string) => {
  const parts = [`host=${api.promString(host)}`];
  if (plugin !== undefined) parts.push(`plugin=${api.promString(plugin)}`);
  if (check !== undefined) parts.push(`check=${api.promString(check)}`);
  return `{${parts.join(', ')}}`;
};

export function HostPage({ name }: { name: string }) {
  const route = useRoute();
  const plugin = route.query.get('plugin') ?? undefined;
  const check = route.query.get('check') ?? '';
  const states = useFetch(() => api.get<api.States>('/manage/v1/states', { host: name }), [name], 15000);
  const host = useFetch(() => api.get<api.Host>(`/manage/v1/hosts/${encodeURIComponent(name)}`), [name]);
  // Sparklines: the last 6 h of every value of the host, fetched again every
  // 30 s and whenever a check appears.
  const nChecks = states.data?.checks.length ?? 0;
  const spark = useFetch(async () => {
    const end = Math.floor(Date.now() / 1000);
    const start = end - SPARK_RANGE;
    const step = stepFor(start, end, 120);
    const r = await api.queryRange(`prophasis_value${sel(name)}`, start, end, step);
    const m = new Map<string, api.PromSeries>();
    if (Array.isArray(r.result)) for (const s of r.result as api.PromSeries[]) m.set(`${s.metric.plugin ?? ''}/${s.metric.check ?? ''}`, s);
    return { start, end, step, bySeries: m };
  }, [name, nChecks], 30000);
  const bySeries = spark.data?.bySeries ?? new Map<string, api.PromSeries>();

  const hostState = states.data?.hosts.find((h) => h.host === name);
  const checks = (states.data?.checks ?? []).slice().sort(byWorst((c) => c.state, (c) => `${c.check}/${c.plugin}`));

  return (
    <div class="page">
      <div class="page-head">
        <h1>
          <a href="/" class="muted crumb">Overview</a> / {name} {hostState && <StateBadge state={hostState.state} />}
        </h1>
        <span class="actions">
          <a class="btn small" href={`/hosts/${encodeURIComponent(name)}/dashboard`}>Dashboard</a>
          <a class="btn small" href={hrefWith('/explore', { q: `prophasis_value${sel(name)}` })}>Explore this host's values</a>
        </span>
      </div>
      {host.data && (host.data.address || host.data.description) && (
        <p class="muted">{[host.data.address, host.data.description].filter(Boolean).join(' · ')}</p>
      )}
      {hostState?.reason && <p>{reasonWithoutMesh(hostState, name)}</p>}
      {hostState?.reachability?.text && <MeshReachability r={hostState.reachability} />}
      <ErrorBox error={states.error} what="States" />
      <Loading show={states.loading && !states.data} />
      {plugin !== undefined && <CheckDetail host={name} plugin={plugin} check={check} state={checks.find((c) => c.plugin === plugin && (c.check ?? '') === check)} />}
      <Section title="Checks" id="host-checks">
        {states.data && checks.length === 0 && <p class="muted">No check has run on this host yet.</p>}
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr><th>State</th><th>Check</th><th class="num">Value</th><th class="hide-narrow">Last 6 h</th><th>Message</th><th class="hide-narrow">Since</th></tr>
            </thead>
            <tbody>
              {checks.map((c) => {
                const key = `${c.plugin}/${c.check ?? ''}`;
                const selected = c.plugin === plugin && (c.check ?? '') === check;
                const s = bySeries.get(key);
                return (
                  <tr key={key} class={selected ? 'selected' : ''}>
                    <td><StateBadge state={c.state} pending={c.pending} />{c.flapping ? <span class="badge">flapping</span> : null}</td>
                    <td>
                      <a href={hrefWith(`/hosts/${encodeURIComponent(name)}`, { plugin: c.plugin, check: c.check ?? '', range: route.query.get('range') ?? undefined })} aria-current={selected ? 'true' : undefined}>
                        {c.check ? `${c.check}/` : ''}{c.plugin}
                      </a>
                    </td>
                    <td class="num mono">{fmtValue(c.value)}</td>
                    <td class="hide-narrow">{s && spark.data ? <Sparkline series={[s]} start={spark.data.start} end={spark.data.end} step={spark.data.step} /> : <span class="muted small">no values</span>}</td>
                    <td class="msg">{c.message ?? ''}</td>
                    <td class="hide-narrow small muted" title={fmtTime(c.since)}>{fmtAgo(c.since)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Section>
      {(states.data?.trends ?? []).length > 0 && (
        <Section title="Trend rules" id="host-trends">
          <ul class="list">
            {(states.data?.trends ?? []).slice().sort(byWorst((x) => x.state, (x) => x.rule)).map((x, i) => (
              <li key={i} class="row wrap">
                <StateBadge state={x.state} />
                <span class="grow">{x.rule} <span class="small muted mono">{Object.entries(x.labels ?? {}).filter(([k]) => k !== 'host').map(([k, v]) => `${k}=${v}`).join(', ')}</span></span>
                <span class="small muted">since {fmtAgo(x.since)}</span>
                {x.explain || x.error ? <span class="msg small">{x.error || x.explain}</span> : null}
              </li>
            ))}
          </ul>
        </Section>
      )}
    </div>
  );
}

function CheckDetail({ host, plugin, check, state }: { host: string; plugin: string; check: string; state?: api.CheckState }) {
  const route = useRoute();
  const range = route.query.get('range') ?? '6h';
  const fromQ = Number(route.query.get('from'));
  const toQ = Number(route.query.get('to'));
  const now = useNow(30000);
  const zoomed = fromQ > 0 && toQ > fromQ;
  const end = zoomed ? toQ : now;
  const start = zoomed ? fromQ : now - (RANGES[range] ?? RANGES['6h']);
  const step = stepFor(start, end, 300);
  const s = sel(host, plugin, check);
  const values = useFetch(() => api.queryRange(`prophasis_value${s}`, start, end, step), [s, start, end, step]);
  const states = useFetch(() => api.queryRange(`prophasis_state${s}`, start, end, step), [s, start, end, step]);
  const msgs = useFetch(
    () => api.get<api.Message[]>('/manage/v1/messages', { host, plugin, check: check || undefined, limit: 50 }),
    [host, plugin, check, state?.time],
  );
  const title = `${check ? check + '/' : ''}${plugin}`;
  const matrix = (r?: api.PromResult) => (r && Array.isArray(r.result) ? (r.result as api.PromSeries[]) : []);

  return (
    <Section
      title={title}
      id="check-detail"
      actions={
        <>
          <RangePicker value={zoomed ? '' : range} onChange={(r) => setQuery({ range: r, from: undefined, to: undefined })} />
          {zoomed && <button type="button" class="btn small" onClick={() => setQuery({ from: undefined, to: undefined })}>Reset zoom</button>}
          <a class="btn small" href={hrefWith('/explore', { q: `prophasis_value${s}` })}>Explore</a>
          <a class="btn small" href={hrefWith(location.pathname, { range: route.query.get('range') ?? undefined })} aria-label="Close the check's graph">✕</a>
        </>
      }
    >
      {state && (
        <p class="row wrap">
          <StateBadge state={state.state} pending={state.pending} />
          <span>value <span class="mono">{fmtValue(state.value)}</span></span>
          <span class="muted small">since {fmtTime(state.since)}</span>
        </p>
      )}
      <ErrorBox error={values.error} what="Values" />
      {values.data && matrix(values.data).length === 0 && <p class="muted">No values in this range (the plugin may report only a message).</p>}
      {matrix(values.data).length > 0 && (
        <Chart
          series={matrix(values.data)}
          start={start}
          end={end}
          step={step}
          height={240}
          label={`values of ${title} on ${host}`}
          onZoom={(f, t) => setQuery({ from: String(f), to: String(t) }, { replace: false })}
        />
      )}
      <h3>State</h3>
      <ErrorBox error={states.error} what="States" />
      {states.data && <StateTimeline series={matrix(states.data)} start={start} end={end} step={step} />}
      <div class="timeline-axis small muted"><span>{fmtTime(start * 1000)}</span><span>{fmtTime(end * 1000)}</span></div>
      <h3>Messages</h3>
      <ErrorBox error={msgs.error} what="Messages" />
      {msgs.data && msgs.data.length === 0 && <p class="muted">No messages.</p>}
      <ul class="list messages">
        {(msgs.data ?? []).map((m, i) => (
          <li key={i} class="row wrap">
            <span class="small muted time">{fmtTime(m.timestamp ?? m.time)}</span>
            {m.exit_status ? <span class="badge" title="exit status">exit {m.exit_status}</span> : null}
            <span class="msg pre">{m.text ?? ''}</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}

/**
 * What the agent mesh sees of a host whose results stopped: "web3
 * unreachable from the server, but alive according to 4 of 5 peers" (a
 * network problem) or "web3 down according to all 5 peers" (the host is
 * down). Refreshed with the states, so it follows the peers' latest views.
 */
function MeshReachability({ r }: { r: api.Reachability }) {
  return (
    <p class={r.verdict === 'down' ? 'error' : undefined} data-testid="reachability">
      <strong>Mesh:</strong> {r.text}
      {r.last_seen ? <span class="small muted"> · last heard from {fmtAgo(r.last_seen)}</span> : null}
    </p>
  );
}

/**
 * The host's reason without the mesh sentence the server appends while its
 * results have stopped: MeshReachability shows the live one.
 */
function reasonWithoutMesh(h: api.HostState, name: string): string {
  const reason = h.reason ?? '';
  if (!h.reachability?.text) return reason;
  const i = reason.indexOf(`: ${name} `);
  return i >= 0 ? reason.slice(0, i) : reason;
}
