// Configuration of the entities: a list with a summary of each, and (for
// admins) create, edit and delete through each kind's form, or through a
// JSON editor of the entity's body — exactly what the management
// API takes (docs/configuration.md), so the server's validation errors apply
// as they are.
import { useState } from 'preact/hooks';
import * as api from '../api';
import { CopyButton, ErrorBox, Loading, Section, useFetch, useIsAdmin } from '../components';
import { fmtAgo, fmtTime } from '../util';
import { AlertRuleForm, CheckForm, GroupForm, ScheduleForm, ServiceForm, SilenceForm, TrendRuleForm, UserForm } from './checkform';
import { ClassifierTest, PackageUpload, PluginVersions, TrendBacktest } from './plugins';
import { ModuleForm, ModuleTest } from './moduleform';
import { PluginForm } from './pluginform';

type Entity = Record<string, any>;

interface Kind {
  title: string;
  path: string; // under /manage/v1
  fields: string[]; // what a write takes (answers add id, created_at, ...)
  template: Entity;
  summary: (e: Entity) => string;
  adminOnly?: boolean;
}

const list = (xs: unknown) => (Array.isArray(xs) ? xs.join(', ') : '');
const n = (xs: unknown) => (Array.isArray(xs) ? xs.length : 0);

export const KINDS: Record<string, Kind> = {
  groups: {
    title: 'Host groups', path: 'groups', fields: ['name', 'description', 'hosts', 'groups'],
    template: { name: 'webservers', description: '', hosts: ['web1'], groups: [] },
    summary: (e) => [list(e.hosts) && `hosts: ${list(e.hosts)}`, list(e.groups) && `groups: ${list(e.groups)}`].filter(Boolean).join(' · '),
  },
  checks: {
    title: 'Checks', path: 'checks',
    fields: ['name', 'description', 'plugins', 'hosts', 'groups', 'schedule', 'attempts', 'flapping', 'classifiers', 'versions', 'params'],
    template: { name: 'resources', plugins: ['load', 'memory'], hosts: ['web1'], groups: [], schedule: 'every-minute' },
    summary: (e) => `${list(e.plugins)} on ${[list(e.hosts), list(e.groups)].filter(Boolean).join(', ') || 'nothing'} · ${e.schedule ?? ''}`,
  },
  schedules: {
    title: 'Schedules', path: 'schedules', fields: ['name', 'description', 'intervals', 'max_lateness'],
    template: { name: 'every-minute', intervals: [{ period: '1m' }] },
    summary: (e) => (Array.isArray(e.intervals) ? e.intervals.map((i: Entity) => `every ${i.period}${i.start ? ` from ${i.start}` : ''}`).join(', ') : ''),
  },
  plugins: {
    title: 'Plugins', path: 'plugins', fields: ['name', 'version', 'description', 'kind', 'entrypoint', 'args', 'timeout', 'sha256', 'classifier', 'history'],
    template: { name: 'my-check', kind: 'nagios', entrypoint: '/usr/lib/nagios/plugins/check_load', args: ['-w', '5', '-c', '10'], timeout: '10s' },
    summary: (e) => [e.kind, e.version && `v${e.version}`, e.description].filter(Boolean).join(' · '),
  },
  services: {
    title: 'Services', path: 'services', fields: ['name', 'description', 'dependencies', 'redundancy_groups', 'rules'],
    template: { name: 'website', dependencies: [{ host: 'router' }], redundancy_groups: [{ name: 'web', k: 1, members: [{ host: 'web1' }, { host: 'web2' }] }] },
    summary: (e) => `${n(e.dependencies)} dependencies, ${n(e.redundancy_groups)} redundancy groups`,
  },
  'alert-rules': {
    title: 'Alert rules', path: 'alert-rules',
    fields: ['name', 'description', 'from', 'to', 'scope', 'modules', 'delay', 'repeat', 'condition', 'escalations', 'no_recovery', 'disabled'],
    template: { name: 'page-on-critical', to: ['critical', 'failed'], scope: { hosts: ['web1'] }, modules: ['ops-mail'], delay: '2m', repeat: '1h' },
    summary: (e) => `${list(e.from) || 'any'} → ${list(e.to) || 'any'} · via ${list(e.modules)}${e.disabled ? ' · disabled' : ''}`,
  },
  'trend-rules': {
    title: 'Trend rules', path: 'trend-rules', fields: ['name', 'description', 'selector', 'window', 'interval', 'expr', 'disabled'],
    template: { name: 'disk-full', selector: 'prophasis_value{plugin="disk"}', window: '6h', interval: '5m', expr: 'timeleft(100) < 24h ? "critical" : "ok"' },
    summary: (e) => `${e.selector ?? ''} · ${e.window ?? ''}${e.disabled ? ' · disabled' : ''}`,
  },
  'alert-modules': {
    title: 'Alert modules', path: 'alert-modules', fields: ['name', 'description', 'kind', 'config'],
    template: { name: 'ops-hook', kind: 'webhook', config: { url: 'https://example.net/hook' } },
    summary: (e) => [e.kind, e.description].filter(Boolean).join(' · '),
  },
  silences: {
    title: 'Silences', path: 'silences', fields: ['name', 'description', 'scope', 'start', 'end', 'weekly', 'comment', 'created_by'],
    template: { name: 'patch-night', scope: { hosts: ['web1'] }, weekly: { days: ['tue'], at: '02:00', duration: '2h', timezone: 'UTC' }, comment: '' },
    summary: (e) => [e.weekly ? `weekly ${list(e.weekly.days)} at ${e.weekly.at} for ${e.weekly.duration}` : `${fmtTime(e.start)} – ${fmtTime(e.end)}`, e.comment, e.created_by && `by ${e.created_by}`].filter(Boolean).join(' · '),
  },
  users: {
    title: 'Users', path: 'users', fields: ['name', 'role', 'password'], adminOnly: true,
    template: { name: 'ann', role: 'viewer', password: '' },
    summary: (e) => `${e.role}${e.has_password ? '' : ' · no password (tokens only)'}`,
  },
};

// The kinds with a form of their own, which can switch to the JSON editor
// (users have a form without it); the others are edited as JSON.
type FormProps = { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void };
const FORM_OF: Record<string, (p: FormProps) => any> = {
  checks: CheckForm, silences: SilenceForm, groups: GroupForm, 'alert-rules': AlertRuleForm, schedules: ScheduleForm,
  'trend-rules': TrendRuleForm, services: ServiceForm, plugins: PluginForm, 'alert-modules': ModuleForm,
};
const FORMS = [...Object.keys(FORM_OF), 'users'];

function bodyOf(kind: Kind, e: Entity): Entity {
  const out: Entity = {};
  for (const f of kind.fields) if (e[f] !== undefined && e[f] !== null) out[f] = e[f];
  return out;
}

export function EntityPage({ kindKey }: { kindKey: string }) {
  const kind = KINDS[kindKey];
  const Form = FORM_OF[kindKey];
  const admin = useIsAdmin();
  const items = useFetch(() => api.get<Entity[]>(`/manage/v1/${kind.path}`), [kind.path]);
  const [editing, setEditing] = useState<{ name: string | null; body: Entity; json?: boolean } | null>(null);
  const [q, setQ] = useState('');
  const [open, setOpen] = useState<{ name: string; what: 'versions' | 'classifier' | 'backtest' } | null>(null);
  const toggle = (name: string, what: 'versions' | 'classifier' | 'backtest') =>
    setOpen(open && open.name === name && open.what === what ? null : { name, what });
  const shown = (items.data ?? []).filter((e) => !q || JSON.stringify(e).toLowerCase().includes(q.toLowerCase()));

  return (
    <>
      <div class="page-head">
        <h1>{kind.title}</h1>
        <div class="row">
          <label for="ent-filter" class="sr-only">Filter</label>
          <input id="ent-filter" type="search" placeholder="Filter…" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          {admin && !editing && <button type="button" class="btn primary" onClick={() => setEditing({ name: null, body: FORMS.includes(kindKey) ? {} : kind.template })}>New</button>}
        </div>
      </div>
      {kindKey === 'plugins' && admin && <PackageUpload onDone={items.reload} />}
      {editing && !editing.json && Form && (
        <Form
          key={editing.name ?? ''}
          name={editing.name}
          initial={editing.body}
          // A module's Cancel reloads: "Save and send a test" may have saved it.
          onCancel={() => { setEditing(null); if (kindKey === 'alert-modules') items.reload(); }}
          onSaved={() => { setEditing(null); items.reload(); }}
          onJSON={(body) => setEditing({ ...editing, body, json: true })}
        />
      )}
      {editing && kindKey === 'users' && (
        <UserForm key={editing.name ?? ''} name={editing.name} initial={editing.body} onCancel={() => setEditing(null)} onSaved={() => { setEditing(null); items.reload(); }} />
      )}
      {editing && (!FORMS.includes(kindKey) || (editing.json && kindKey !== 'users')) && (
        <JSONEditor
          kind={kind}
          name={editing.name}
          initial={editing.body}
          onCancel={() => setEditing(null)}
          onSaved={() => { setEditing(null); items.reload(); }}
        />
      )}
      <Section title={`${shown.length} ${kind.title.toLowerCase()}`} id="ent-list">
        <ErrorBox error={items.error} />
        <Loading show={items.loading && !items.data} />
        {items.data && items.data.length === 0 && <p class="muted">None yet.</p>}
        <ul class="list">
          {shown.map((e) => (
            <li key={e.name} class="row wrap">
              <strong class="mono">{e.name}</strong>
              <span class="grow small muted">{kind.summary(e)}</span>
              <span class="actions">
                {kindKey === 'alert-modules' && admin && <ModuleTest name={e.name} />}
                {kindKey === 'trend-rules' && (
                  <button type="button" class="btn small" aria-expanded={open?.name === e.name && open?.what === 'backtest'} onClick={() => toggle(e.name, 'backtest')}>Backtest</button>
                )}
                {kindKey === 'plugins' && (
                  <>
                    <button type="button" class="btn small" aria-expanded={open?.name === e.name && open?.what === 'versions'} onClick={() => toggle(e.name, 'versions')}>Versions</button>
                    <button type="button" class="btn small" aria-expanded={open?.name === e.name && open?.what === 'classifier'} onClick={() => toggle(e.name, 'classifier')}>Test classifier</button>
                  </>
                )}
                {admin ? (
                  <>
                    <button type="button" class="btn small" onClick={() => { setEditing({ name: e.name, body: bodyOf(kind, e) }); window.scrollTo(0, 0); }}>Edit</button>
                    <DeleteButton path={`/manage/v1/${kind.path}/${encodeURIComponent(e.name)}`} what={e.name} onDone={items.reload} />
                  </>
                ) : (
                  <details class="small"><summary>JSON</summary><pre class="mono cmd">{JSON.stringify(bodyOf(kind, e), null, 2)}</pre></details>
                )}
              </span>
              {e.description && kindKey !== 'plugins' && kindKey !== 'alert-modules' ? <span class="small msg">{e.description}</span> : null}
              {open?.name === e.name && open?.what === 'versions' && <PluginVersions name={e.name} onChanged={items.reload} />}
              {open?.name === e.name && open?.what === 'classifier' && <ClassifierTest name={e.name} source={e.classifier ?? ''} />}
              {open?.name === e.name && open?.what === 'backtest' && <TrendBacktest name={e.name} />}
            </li>
          ))}
        </ul>
      </Section>
    </>
  );
}

export function DeleteButton({ path, what, onDone, label = 'Delete' }: { path: string; what: string; onDone: () => void; label?: string }) {
  const [err, setErr] = useState<api.ApiError | null>(null);
  const go = async () => {
    if (!confirm(`${label} ${what}?`)) return;
    try { await api.del(path); setErr(null); onDone(); } catch (x) { setErr(x as api.ApiError); }
  };
  return (
    <>
      <button type="button" class="btn small danger" onClick={go}>{label}</button>
      <ErrorBox error={err} />
    </>
  );
}

function JSONEditor({ kind, name, initial, onCancel, onSaved }: { kind: Kind; name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void }) {
  const [text, setText] = useState(() => JSON.stringify(initial, null, 2));
  const [parseErr, setParseErr] = useState('');
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    let body: Entity;
    try {
      body = JSON.parse(text);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('the body must be a JSON object');
    } catch (x) {
      setParseErr(String((x as Error).message));
      return;
    }
    setParseErr('');
    setErr(null);
    setBusy(true);
    try {
      if (name === null) await api.post(`/manage/v1/${kind.path}`, body);
      else await api.put(`/manage/v1/${kind.path}/${encodeURIComponent(name)}`, body);
      onSaved();
    } catch (x) {
      setErr(x as api.ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="ent-edit-title">
      <h2 id="ent-edit-title">{name === null ? `New ${kind.title.toLowerCase().replace(/s$/, '')}` : `Edit ${name}`}</h2>
      <form class="form wide" onSubmit={save}>
        <div class="field">
          <label for="ent-json">JSON (the fields of docs/configuration.md; unknown fields are refused)</label>
          <textarea id="ent-json" class="mono" rows={Math.min(24, Math.max(8, text.split('\n').length + 1))} spellcheck={false} value={text}
            aria-invalid={parseErr || err ? true : undefined} aria-describedby="ent-json-err"
            onInput={(e) => setText(e.currentTarget.value)} />
          <div id="ent-json-err" role="alert">
            {parseErr && <div class="field-error">Not valid JSON: {parseErr}</div>}
            {err && <div class="field-error">{err.message}</div>}
          </div>
        </div>
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

interface Token { id: number; name: string; role: string; owner?: string; created_at?: string; last_used_at?: string; revoked_at?: string }

export function TokensPage() {
  const tokens = useFetch(() => api.get<Token[]>('/manage/v1/tokens'), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [secret, setSecret] = useState('');
  const [err, setErr] = useState<api.ApiError | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    try {
      const r = await api.post<{ secret: string }>('/manage/v1/tokens', { name, role });
      setSecret(r.secret);
      setName('');
      tokens.reload();
    } catch (x) { setErr(x as api.ApiError); }
  };
  return (
    <>
      <div class="page-head"><h1>API tokens</h1></div>
      <Section title="New token" id="tok-new">
        <form class="inline-form" onSubmit={create}>
          <div class="field"><label for="tok-name">Name</label><input id="tok-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="grafana" /></div>
          <div class="field"><label for="tok-role">Role</label>
            <select id="tok-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}><option value="viewer">viewer</option><option value="admin">admin</option></select>
          </div>
          <button type="submit" class="btn primary small">Create</button>
          <ErrorBox error={err} />
        </form>
        {secret && (
          <div class="enrol">
            <p>The token, shown this once:</p>
            <pre class="mono cmd" data-testid="token-secret">{secret}</pre>
            <CopyButton text={secret} label="Copy token" />
          </div>
        )}
      </Section>
      <Section title="Tokens" id="tok-list">
        <ErrorBox error={tokens.error} />
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Name</th><th>Role</th><th class="hide-narrow">Owner</th><th>Last used</th><th><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {(tokens.data ?? []).map((t) => (
                <tr key={t.id}>
                  <td>{t.name} <span class="muted small">#{t.id}</span></td>
                  <td>{t.role}</td>
                  <td class="hide-narrow">{t.owner ?? ''}</td>
                  <td class="small">{t.revoked_at ? `revoked ${fmtAgo(t.revoked_at)}` : fmtAgo(t.last_used_at)}</td>
                  <td>{!t.revoked_at && <DeleteButton path={`/manage/v1/tokens/${t.id}`} what={`token ${t.name}`} label="Revoke" onDone={tokens.reload} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </>
  );
}
