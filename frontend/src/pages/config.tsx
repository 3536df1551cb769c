import { useState } from 'preact/hooks';
import * as api from '../api';
import { CopyButton, ErrorBox, Loading, Section, useFetch, useIsAdmin } from '../components';
import { fmtAgo, fmtTime } from '../util';
import { DeleteButton, EntityPage, KINDS, TokensPage } from './entities';
import { MeshPage } from './meshform';

const TABS: [string, string][] = [
  ['hosts', 'Hosts'], ['groups', 'Groups'], ['checks', 'Checks'], ['schedules', 'Schedules'], ['plugins', 'Plugins'],
  ['services', 'Services'], ['alert-rules', 'Alert rules'], ['trend-rules', 'Trend rules'], ['alert-modules', 'Alert modules'],
  ['silences', 'Silences'], ['mesh', 'Mesh'], ['users', 'Users'], ['tokens', 'Tokens'],
];

// Config is the configuration section: a row of tabs, one per kind of entity.
export function Config({ kind }: { kind: string }) {
  const admin = useIsAdmin();
  const tabs = TABS.filter(([k]) => admin || (k !== 'users' && k !== 'tokens'));
  let body;
  if (kind === 'hosts') body = <ConfigHosts />;
  else if (kind === 'tokens' && admin) body = <TokensPage />;
  else if (kind === 'mesh') body = <MeshPage />;
  else if (KINDS[kind] && (admin || !KINDS[kind].adminOnly)) body = <EntityPage key={kind} kindKey={kind} />;
  else body = <p class="error" role="alert">No such configuration page.</p>;
  return (
    <div class="page">
      <nav class="tabs" aria-label="configuration">
        {tabs.map(([k, label]) => (
          <a key={k} href={`/config/${k}`} aria-current={k === kind ? 'page' : undefined}>{label}</a>
        ))}
      </nav>
      {body}
    </div>
  );
}

function ConfigHosts() {
  const admin = useIsAdmin();
  const hosts = useFetch(() => api.get<api.Host[]>('/manage/v1/hosts'), []);
  const agents = useFetch(() => api.get<api.Agent[]>('/manage/v1/agents'), []);
  const [adding, setAdding] = useState(false);
  const [enrol, setEnrol] = useState<api.Enrollment | null>(null);
  const agentOf = (h: string) => (agents.data ?? []).find((a) => a.host === h && !a.revoked_at);

  return (
    <>
      <div class="page-head">
        <h1>Hosts</h1>
        {admin && !adding && <button type="button" class="btn primary" onClick={() => setAdding(true)}>Add host</button>}
      </div>
      {enrol && <EnrolmentBox e={enrol} onClose={() => setEnrol(null)} />}
      {adding && (
        <HostForm
          onCancel={() => setAdding(false)}
          onCreated={(e) => { setAdding(false); hosts.reload(); if (e) setEnrol(e); }}
        />
      )}
      <Section title="Hosts" id="cfg-hosts">
        <ErrorBox error={hosts.error} />
        <Loading show={hosts.loading && !hosts.data} />
        {hosts.data && hosts.data.length === 0 && <p class="muted">No hosts yet.</p>}
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Name</th><th>Address</th><th class="hide-narrow">Labels</th><th>Agent</th>{admin && <th><span class="sr-only">Actions</span></th>}</tr></thead>
            <tbody>
              {(hosts.data ?? []).map((h) => {
                const ag = agentOf(h.name);
                return (
                  <tr key={h.name}>
                    <td><a href={`/hosts/${encodeURIComponent(h.name)}`}>{h.name}</a>{h.description ? <div class="small muted">{h.description}</div> : null}</td>
                    <td class="mono small">{h.address ?? ''}</td>
                    <td class="hide-narrow small">{Object.entries(h.labels ?? {}).map(([k, v]) => <span key={k} class="tag">{k}={v}</span>)}</td>
                    <td class="small">{ag ? <span title={`enrolled ${fmtTime(ag.enrolled_at)}`}>{[ag.version, ag.os && ag.arch ? `${ag.os}/${ag.arch}` : ag.os].filter(Boolean).join(' · ')}{ag.last_seen_at ? ` · seen ${fmtAgo(ag.last_seen_at)}` : ''}</span> : <span class="muted">not enrolled</span>}</td>
                    {admin && (
                      <td>
                        <span class="actions">
                          <EnrolButton host={h.name} again={!!ag} onToken={setEnrol} />
                          {ag && <DeleteButton path={`/manage/v1/agents/${encodeURIComponent(h.name)}`} what={`the agent of ${h.name} (it stops being accepted at once)`} label="Revoke agent" onDone={agents.reload} />}
                          <DeleteButton path={`/manage/v1/hosts/${encodeURIComponent(h.name)}`} what={`host ${h.name}`} onDone={hosts.reload} />
                        </span>
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <ErrorBox error={agents.error} what="Agents" />
      </Section>
    </>
  );
}

function EnrolButton({ host, again, onToken }: { host: string; again: boolean; onToken: (e: api.Enrollment) => void }) {
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    if (again && !confirm(`Enrolling ${host} again revokes its agent's current credential once the new token is used. Continue?`)) return;
    setBusy(true);
    try { onToken(await api.post<api.Enrollment>('/manage/v1/enrollments', { host })); setErr(null); }
    catch (x) { setErr(x as api.ApiError); }
    finally { setBusy(false); }
  };
  return (
    <>
      <button type="button" class="btn small" disabled={busy} onClick={go}>{again ? 'Re-enrol' : 'Enrolment token'}</button>
      <ErrorBox error={err} />
    </>
  );
}

export function installCommand(e: api.Enrollment): string {
  // Over plain HTTP the agent refuses to enrol unless told --allow-http.
  const http = location.protocol === 'http:' ? ' --allow-http' : '';
  return `prophasis-agent --server ${location.origin} \\\n  --enroll-token ${e.token}${http} --data-dir /var/lib/prophasis-agent`;
}

function EnrolmentBox({ e, onClose }: { e: api.Enrollment; onClose: () => void }) {
  const cmd = installCommand(e);
  return (
    <section class="card enrol" aria-labelledby="enrol-title" role="region">
      <div class="card-head">
        <h2 id="enrol-title">Enrol {e.host}</h2>
        <button type="button" class="btn small" onClick={onClose} aria-label="Close">✕</button>
      </div>
      <p>Run this on <strong>{e.host}</strong> (the token works once and is shown only now; it expires {fmtTime(e.expires_at)}):</p>
      <pre class="mono cmd" data-testid="install-command">{cmd}</pre>
      <div class="row">
        <CopyButton text={cmd.replace(/\\\n\s*/g, '')} label="Copy command" />
        <CopyButton text={e.token} label="Copy token" />
      </div>
      <p class="small muted">With <code>--tls-auto</code> add <code>--ca-sha256</code> with the fingerprint <code>prophasis token create</code> prints, so the agent checks the server's CA.</p>
    </section>
  );
}

function HostForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (e: api.Enrollment | null) => void }) {
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [description, setDescription] = useState('');
  const [labels, setLabels] = useState('');
  const [withToken, setWithToken] = useState(true);
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const parseLabels = (): Record<string, string> | string => {
    const out: Record<string, string> = {};
    for (const part of labels.split(/[,\n]/).map((s) => s.trim()).filter(Boolean)) {
      const i = part.indexOf('=');
      if (i <= 0) return `"${part}" is not name=value`;
      out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
    return out;
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const l = parseLabels();
    if (typeof l === 'string') { setFieldErr({ labels: l }); return; }
    setFieldErr({});
    setErr(null);
    setBusy(true);
    try {
      const body: api.Host = { name: name.trim() };
      if (address.trim()) body.address = address.trim();
      if (description.trim()) body.description = description.trim();
      if (Object.keys(l).length) body.labels = l;
      await api.post('/manage/v1/hosts', body);
      let enr: api.Enrollment | null = null;
      if (withToken) enr = await api.post<api.Enrollment>('/manage/v1/enrollments', { host: body.name });
      onCreated(enr);
    } catch (x) {
      const ae = x as api.ApiError;
      // Show the server's reason beside the field it names, when it names one.
      const m = ae.message.toLowerCase();
      if (/\bname\b|already|taken|exists/.test(m)) setFieldErr({ name: ae.message });
      else if (/address/.test(m)) setFieldErr({ address: ae.message });
      else if (/label/.test(m)) setFieldErr({ labels: ae.message });
      else if (/description/.test(m)) setFieldErr({ description: ae.message });
      else setErr(ae);
    } finally {
      setBusy(false);
    }
  };

  const field = (id: string, label: string, value: string, set: (v: string) => void, extra: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`host-${id}`}>{label}</label>
      <input id={`host-${id}`} name={id} value={value} onInput={(e) => set(e.currentTarget.value)}
        aria-invalid={fieldErr[id] ? true : undefined} aria-describedby={fieldErr[id] ? `host-${id}-err` : undefined} {...extra} />
      {fieldErr[id] && <div id={`host-${id}-err`} class="field-error" role="alert">{fieldErr[id]}</div>}
    </div>
  );

  return (
    <section class="card" aria-labelledby="add-host-title">
      <h2 id="add-host-title">Add a host</h2>
      <form class="form" onSubmit={submit}>
        {field('name', 'Name', name, setName, { required: true, placeholder: 'web1', autoFocus: true, pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]*' })}
        {field('address', 'Address (optional)', address, setAddress, { placeholder: '10.0.0.11' })}
        {field('description', 'Description (optional)', description, setDescription)}
        {field('labels', 'Labels (optional, name=value, comma separated)', labels, setLabels, { placeholder: 'env=prod, room=b2' })}
        <label class="check">
          <input type="checkbox" checked={withToken} onChange={(e) => setWithToken(e.currentTarget.checked)} /> Make an enrolment token for its agent
        </label>
        <ErrorBox error={err} />
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Create host'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}
