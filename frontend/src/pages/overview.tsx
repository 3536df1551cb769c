import { useMemo, useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, Loading, Section, StateBadge, useFetch } from '../components';
import { byWorst, fmtAgo, fmtTime, fmtValue, stateFromNumber, STATE_ORDER, subjectText } from '../util';

const REFRESH = 15000;

export function Overview() {
  const states = useFetch(() => api.get<api.States>('/manage/v1/states'), [], REFRESH);
  const alerts = useFetch(() => api.get<api.Alert[]>('/manage/v1/alerts'), [], REFRESH);
  const events = useFetch(() => api.get<api.Event[]>('/manage/v1/events', { limit: 20 }), [], REFRESH);
  const [q, setQ] = useState('');
  const needle = q.trim().toLowerCase();

  const s = states.data;
  const hosts = useMemo(() => (s?.hosts ?? []).slice().sort(byWorst((h) => h.state, (h) => h.host)), [s]);
  const services = useMemo(() => (s?.services ?? []).slice().sort(byWorst((x) => x.state, (x) => x.service)), [s]);
  const checks = useMemo(
    () => (s?.checks ?? []).slice().sort(byWorst((c) => c.state, (c) => `${c.host}/${c.check}/${c.plugin}`)),
    [s],
  );
  const match = (...xs: (string | undefined)[]) => !needle || xs.some((x) => x && x.toLowerCase().includes(needle));
  const shownHosts = hosts.filter((h) => match(h.host, h.reason) || checks.some((c) => c.host === h.host && match(c.plugin, c.check)));
  const trends = (s?.trends ?? []).filter((x) => x.state !== 'ok' || needle)
    .filter((x) => match(x.rule, ...Object.values(x.labels ?? {}), x.explain)).sort(byWorst((x) => x.state, (x) => x.rule));
  const shownChecks = checks.filter((c) => c.state !== 'ok' || needle).filter((c) => match(c.host, c.plugin, c.check, c.message));

  return (
    <div class="page">
      <div class="page-head">
        <h1>Overview</h1>
        <div class="search">
          <label for="ov-search" class="sr-only">Search hosts and checks</label>
          <input id="ov-search" type="search" placeholder="Search hosts and checks…" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </div>
      </div>
      <ErrorBox error={states.error} what="States" />
      <Loading show={states.loading && !s} />
      {s && (
        <div class="counts-row">
          <Counts title="Hosts" states={hosts.map((h) => h.state)} order={STATE_ORDER} />
          <Counts title="Checks" states={checks.map((c) => c.state)} order={STATE_ORDER} />
          {services.length > 0 && <Counts title="Services" states={services.map((x) => x.state)} order={['failed', 'degraded', 'ok']} />}
        </div>
      )}
      <div class="grid-2">
        <Section title="Hosts" id="ov-hosts">
          {s && shownHosts.length === 0 && <p class="muted">{needle ? 'No host matches.' : <>No host has reported yet: hosts show here once their agent sends results. <a href="/config/hosts">Add or enrol a host</a>.</>}</p>}
          <ul class="list">
            {shownHosts.map((h) => (
              <li key={h.host} class="row">
                <StateBadge state={h.state} />
                <a href={`/hosts/${encodeURIComponent(h.host)}`} class="grow">{h.host}</a>
                <span class="muted small" title={fmtTime(h.since)}>{h.reason ? h.reason + ' · ' : ''}{fmtAgo(h.since)}</span>
              </li>
            ))}
          </ul>
        </Section>
        <Section title={needle ? 'Matching checks' : 'Checks not ok'} id="ov-checks">
          {s && shownChecks.length === 0 && trends.length === 0 && <p class="muted">{needle ? 'No check matches.' : 'Every check is ok.'}</p>}
          <ul class="list">
            {shownChecks.slice(0, 200).map((c) => (
              <li key={`${c.host}/${c.check}/${c.plugin}`} class="row wrap">
                <StateBadge state={c.state} pending={c.pending} />
                <a class="grow" href={`/hosts/${encodeURIComponent(c.host)}?plugin=${encodeURIComponent(c.plugin)}&check=${encodeURIComponent(c.check)}`}>
                  {c.host} · {c.check}/{c.plugin}
                </a>
                <span class="mono small">{fmtValue(c.value)}</span>
                {c.message ? <span class="msg small">{c.message}</span> : null}
              </li>
            ))}
            {trends.slice(0, 100).map((x, i) => (
              <li key={`t${i}`} class="row wrap">
                <StateBadge state={x.state} />
                {x.labels?.host ? <a class="grow" href={`/hosts/${encodeURIComponent(x.labels.host)}`}>{subjectText({ kind: 'trend', rule: x.rule, labels: x.labels })}</a>
                  : <span class="grow">{subjectText({ kind: 'trend', rule: x.rule, labels: x.labels })}</span>}
                {x.explain || x.error ? <span class="msg small">{x.error || x.explain}</span> : null}
              </li>
            ))}
          </ul>
        </Section>
        {services.length > 0 && (
          <Section title="Services" id="ov-services">
            <ul class="list">
              {services.filter((x) => match(x.service, x.reason)).map((x) => (
                <li key={x.service} class="row wrap">
                  <StateBadge state={x.state} />
                  <a class="grow" href={`/services/${encodeURIComponent(x.service)}`}>{x.service}</a>
                  {x.reason ? <span class="muted small">{x.reason}</span> : null}
                </li>
              ))}
            </ul>
          </Section>
        )}
        <Section title="Active alerts" id="ov-alerts" actions={<a href="/alerts" class="small">All alerts →</a>}>
          <ErrorBox error={alerts.error} />
          {alerts.data && alerts.data.length === 0 && <p class="muted">No open alerts.</p>}
          <ul class="list">
            {(alerts.data ?? []).slice().sort(byWorst((a) => a.state, (a) => a.rule)).map((a) => (
              <li key={a.id} class="row wrap">
                <StateBadge state={a.state} />
                <span class="grow">{subjectText(a.subject)}</span>
                <span class="small muted">{a.rule} · {a.status}{a.ack ? ' · acknowledged' : ''}</span>
              </li>
            ))}
          </ul>
        </Section>
        <Section title="Recent state changes" id="ov-events">
          <ErrorBox error={events.error} />
          {events.data && events.data.length === 0 && <p class="muted">No state changes yet.</p>}
          <ul class="list">
            {(events.data ?? []).map((e) => <EventRow key={e.id} e={e} />)}
          </ul>
        </Section>
      </div>
    </div>
  );
}

function EventRow({ e }: { e: api.Event }) {
  const svc = e.subject.kind === 'service';
  const from = stateFromNumber(e.from, svc);
  const to = stateFromNumber(e.to, svc);
  const label = subjectText(e.subject);
  return (
    <li class="row wrap">
      <span class="small muted time" title={fmtTime(e.time)}>{fmtAgo(e.time)}</span>
      {e.subject.host ? <a class="grow" href={`/hosts/${encodeURIComponent(e.subject.host)}`}>{label}</a> : <span class="grow">{label}</span>}
      {e.kind === 'state' ? (
        <span><StateBadge state={from} /> → <StateBadge state={to} /></span>
      ) : (
        <span class="badge">{e.kind === 'flapping_start' ? 'started flapping' : 'stopped flapping'}</span>
      )}
      {e.reason ? <span class="msg small">{e.reason}</span> : null}
    </li>
  );
}

function Counts({ title, states, order }: { title: string; states: string[]; order: string[] }) {
  const c: Record<string, number> = {};
  for (const s of states) c[s] = (c[s] ?? 0) + 1;
  return (
    <div class="card counts" aria-label={`${title} by state`}>
      <h2>{title} <span class="muted">{states.length}</span></h2>
      <div class="count-cells">
        {order.filter((s) => c[s]).map((s) => (
          <div key={s} class={`count st-${s}`}>
            <span class="n">{c[s]}</span>
            <span class="l">{s}</span>
          </div>
        ))}
        {states.length === 0 && <span class="muted small">none</span>}
      </div>
    </div>
  );
}
