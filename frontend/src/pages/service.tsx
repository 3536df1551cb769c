// A service: its state and the server's reason in words, and its tree of
// dependencies and redundancy groups with each member's live state and how it
// counts (up, impaired, down) under the service's rules (docs/alerting.md).
import * as api from '../api';
import { ErrorBox, Loading, Section, StateBadge, useFetch } from '../components';
import { hrefWith } from '../router';

interface Member { host?: string; check?: string; plugin?: string; service?: string; trend?: string }
interface Service {
  name: string; description?: string; dependencies?: Member[];
  redundancy_groups?: { name: string; k: number; members: Member[] }[];
  rules?: { down?: string[]; impaired?: string[]; ignore_maintenance?: boolean; ignore_acknowledged?: boolean };
}

const worstOf = (xs: string[]) => {
  const order = ['critical', 'major', 'minor', 'unknown', 'ok'];
  return xs.length ? xs.slice().sort((a, b) => order.indexOf(a) - order.indexOf(b))[0] : 'unknown';
};

function memberState(m: Member, st: api.States): string {
  if (m.service) return st.services.find((s) => s.service === m.service)?.state ?? 'unknown';
  if (m.trend) {
    const series = st.trends.filter((t) => t.rule === m.trend && (!m.host || t.labels?.host === m.host));
    return worstOf(series.map((t) => t.state));
  }
  if (m.host && m.plugin) return st.checks.find((c) => c.host === m.host && c.plugin === m.plugin && (c.check ?? '') === (m.check ?? ''))?.state ?? 'unknown';
  if (m.host) return st.hosts.find((h) => h.host === m.host)?.state ?? 'unknown';
  return 'unknown';
}

// counts says how a member counts for the service: service members by their
// state, the others by the service's rules (defaults: down critical; impaired
// minor, major, unknown; a list left out is its default less the other list).
function counts(m: Member, state: string, rules: Service['rules']): 'up' | 'impaired' | 'down' {
  if (m.service) return state === 'failed' ? 'down' : state === 'degraded' ? 'impaired' : 'up';
  let down = rules?.down?.length ? rules.down : undefined;
  let impaired = rules?.impaired?.length ? rules.impaired : undefined;
  if (!down) down = ['critical'].filter((s) => !(impaired ?? []).includes(s));
  if (!impaired) impaired = ['minor', 'major', 'unknown'].filter((s) => !down!.includes(s));
  if (down.includes(state)) return 'down';
  if (impaired.includes(state)) return 'impaired';
  return 'up';
}

function memberLabel(m: Member): string {
  if (m.service) return `service ${m.service}`;
  if (m.trend) return `trend ${m.trend}${m.host ? ` on ${m.host}` : ''}`;
  if (m.plugin) return `check ${m.check ? m.check + '/' : ''}${m.plugin} on ${m.host}`;
  return `host ${m.host}`;
}

function memberHref(m: Member): string | undefined {
  if (m.service) return `/services/${encodeURIComponent(m.service)}`;
  if (m.host && m.plugin) return hrefWith(`/hosts/${encodeURIComponent(m.host)}`, { plugin: m.plugin, check: m.check ?? '' });
  if (m.host) return `/hosts/${encodeURIComponent(m.host)}`;
  return undefined;
}

function MemberRow({ m, st, rules }: { m: Member; st: api.States; rules: Service['rules'] }) {
  const state = memberState(m, st);
  const c = counts(m, state, rules);
  const href = memberHref(m);
  return (
    <li class="row wrap">
      <StateBadge state={state} />
      {href ? <a class="grow" href={href}>{memberLabel(m)}</a> : <span class="grow">{memberLabel(m)}</span>}
      <span class={`small count-${c}`}>{c}</span>
    </li>
  );
}

export function ServicePage({ name }: { name: string }) {
  const svc = useFetch(() => api.get<Service>(`/manage/v1/services/${encodeURIComponent(name)}`), [name]);
  const st = useFetch(() => api.get<api.States>('/manage/v1/states'), [name], 15000);
  const s = svc.data;
  const states = st.data;
  const me = states?.services.find((x) => x.service === name);
  return (
    <div class="page">
      <div class="page-head">
        <h1><a href="/" class="muted crumb">Overview</a> / service {name} {me && <StateBadge state={me.state} />}</h1>
      </div>
      {s?.description && <p class="muted">{s.description}</p>}
      {me?.reason && <p class="reason" aria-label="why">{me.reason}</p>}
      <ErrorBox error={svc.error} what="Service" />
      <ErrorBox error={st.error} what="States" />
      <Loading show={(svc.loading && !s) || (st.loading && !states)} />
      {s && states && (
        <>
          <Section title="Dependencies — each must be up" id="svc-deps">
            {(s.dependencies ?? []).length === 0 && <p class="muted">None.</p>}
            <ul class="list">{(s.dependencies ?? []).map((m, i) => <MemberRow key={i} m={m} st={states} rules={s.rules} />)}</ul>
          </Section>
          {(s.redundancy_groups ?? []).map((g) => {
            const up = g.members.filter((m) => counts(m, memberState(m, states), s.rules) !== 'down').length;
            return (
              <Section key={g.name} title={`Redundancy group ${g.name} — ${g.k} of ${g.members.length} must be up`} id={`svc-g-${g.name}`}>
                <p class={up < g.k ? 'error' : 'small muted'}>{up} of {g.members.length} up or impaired (needs {g.k})</p>
                <ul class="list">{g.members.map((m, i) => <MemberRow key={i} m={m} st={states} rules={s.rules} />)}</ul>
              </Section>
            );
          })}
          {(s.rules?.ignore_maintenance || s.rules?.ignore_acknowledged) && (
            <p class="small muted">This service counts members {[s.rules?.ignore_maintenance && 'in maintenance', s.rules?.ignore_acknowledged && 'whose problem is acknowledged'].filter(Boolean).join(' and ')} as up; the server's reason above accounts for that, the counts here do not.</p>
          )}
        </>
      )}
    </div>
  );
}
