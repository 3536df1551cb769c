// A form of its own for alert modules, kind by kind (rules/notify: email,
// webhook, slack, command, alertmanager), and the "Send a test" button.
//
// Secrets (store.SecretKeys) come back from the API as "<secret>". The form
// never shows them: a stored secret's field is empty and says "set — leave
// empty to keep", and the form then sends "<secret>" back, which the server
// reads as "keep the stored value" (store.UpdateAlertModule). Settings the
// form does not know are kept as they are.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import * as api from '../api';
import { fieldErrors, FormButtons, lines, saveEntity, unlines } from './formfields';

type Entity = Record<string, any>;

export const SECRET = '<secret>';

interface Field {
  key: string;
  label: string;
  type?: 'text' | 'number' | 'secret' | 'list' | 'bool' | 'select' | 'headers';
  options?: string[];
  placeholder?: string;
  required?: boolean;
  wide?: boolean;
}

const timeout = (def: string, max: string): Field => ({ key: 'timeout', label: `Timeout (empty: ${def}, at most ${max})`, placeholder: def });

// KIND_FIELDS are each kind's settings (the Config structs of rules/notify).
export const KIND_FIELDS: Record<string, { label: string; fields: Field[] }> = {
  email: {
    label: 'Email (SMTP)',
    fields: [
      { key: 'host', label: 'SMTP server', placeholder: 'smtp.example.org', required: true },
      { key: 'port', label: 'Port (empty: 465 with TLS, else 587)', type: 'number', placeholder: '587' },
      { key: 'tls', label: 'Implicit TLS from the first byte (SMTPS, port 465)', type: 'bool' },
      { key: 'starttls', label: 'STARTTLS', type: 'select', options: ['auto', 'always', 'never'] },
      { key: 'username', label: 'User name (optional)' },
      { key: 'password', label: 'Password', type: 'secret' },
      { key: 'from', label: 'From', placeholder: 'Prophasis <monitoring@example.org>', required: true, wide: true },
      { key: 'to', label: 'To, one address per line', type: 'list', required: true, wide: true },
      { key: 'ca_file', label: 'CA file on the server (PEM; empty: the system’s)', placeholder: '/etc/ssl/private-ca.pem' },
      { key: 'hello', label: 'Name in EHLO (empty: localhost)' },
      timeout('30s', '5m'),
    ],
  },
  webhook: {
    label: 'Webhook (the alert as JSON, POSTed)',
    fields: [
      { key: 'url', label: 'URL', placeholder: 'https://example.org/hook', required: true, wide: true },
      { key: 'secret', label: 'Signing secret (HMAC-SHA256 in X-Prophasis-Signature)', type: 'secret' },
      { key: 'headers', label: 'Headers sent with each request (their values are secrets)', type: 'headers' },
      timeout('10s', '2m'),
    ],
  },
  slack: {
    label: 'Slack-compatible webhook (Slack, Mattermost, Rocket.Chat)',
    fields: [
      { key: 'url', label: 'Incoming webhook URL (a secret)', type: 'secret', required: true },
      { key: 'channel', label: 'Channel (optional)', placeholder: '#ops' },
      { key: 'username', label: 'Post as (optional)', placeholder: 'prophasis' },
      timeout('10s', '2m'),
    ],
  },
  command: {
    label: 'Command (the alert as JSON on stdin)',
    fields: [
      { key: 'path', label: 'Program (absolute path; no shell)', placeholder: '/usr/local/bin/send-sms', required: true, wide: true },
      { key: 'args', label: 'Arguments, one per line', type: 'list' },
      { key: 'env', label: 'Environment variables it gets from the server, one name per line', type: 'list' },
      timeout('30s', '10m'),
    ],
  },
  alertmanager: {
    label: 'Prometheus Alertmanager',
    fields: [
      { key: 'urls', label: 'Alertmanager URLs, one per line (all of an HA cluster)', type: 'list', required: true, wide: true },
      { key: 'username', label: 'User name (basic auth, optional)' },
      { key: 'password', label: 'Password', type: 'secret' },
      { key: 'bearer_token', label: 'Bearer token', type: 'secret' },
      { key: 'hold', label: 'Hold a firing alert for (empty: 24h)', placeholder: '24h' },
      timeout('10s', '2m'),
    ],
  },
};

interface Header { name: string; value: string; stored: boolean }

// Draft is the form's state: text of every field, typed secrets (empty:
// keep the stored one), which secrets are stored, and which to remove.
interface Draft { values: Record<string, string>; flags: Record<string, boolean>; secrets: Record<string, string>; stored: Record<string, boolean>; remove: Record<string, boolean>; headers: Header[] }

function draftOf(kind: string, config: Entity): Draft {
  const d: Draft = { values: {}, flags: {}, secrets: {}, stored: {}, remove: {}, headers: [] };
  for (const f of KIND_FIELDS[kind]?.fields ?? []) {
    const v = config[f.key];
    if (f.type === 'secret') d.stored[f.key] = typeof v === 'string' && v !== '';
    else if (f.type === 'bool') d.flags[f.key] = !!v;
    else if (f.type === 'list') d.values[f.key] = unlines(v);
    else if (f.type === 'headers') d.headers = Object.entries((v ?? {}) as Record<string, string>).map(([name, value]) => ({ name, value: '', stored: value !== '' }));
    else d.values[f.key] = v === undefined || v === null ? '' : String(v);
  }
  return d;
}

// configOf builds the module's config from the draft, over base (the
// stored config when the kind is unchanged, so unknown settings are kept).
function configOf(kind: string, d: Draft, base: Entity): Entity {
  const c: Entity = { ...base };
  for (const f of KIND_FIELDS[kind]?.fields ?? []) {
    delete c[f.key];
    if (f.type === 'secret') {
      const typed = d.secrets[f.key] ?? '';
      if (typed) c[f.key] = typed;
      else if (d.stored[f.key] && !d.remove[f.key]) c[f.key] = SECRET;
    } else if (f.type === 'bool') {
      if (d.flags[f.key]) c[f.key] = true;
    } else if (f.type === 'list') {
      const xs = lines(d.values[f.key] ?? '');
      if (xs.length) c[f.key] = xs;
    } else if (f.type === 'headers') {
      const h: Record<string, string> = {};
      for (const x of d.headers) if (x.name.trim()) h[x.name.trim()] = x.value || (x.stored ? SECRET : '');
      if (Object.keys(h).length) c[f.key] = h;
    } else {
      const v = (d.values[f.key] ?? '').trim();
      if (v) c[f.key] = f.type === 'number' ? Number(v) : v;
    }
  }
  return c;
}

export function ModuleForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const initialKind = KIND_FIELDS[initial.kind] ? initial.kind : 'webhook';
  const [saved, setSaved] = useState<string | null>(name);
  const [mod, setMod] = useState<Entity>({ name: name === null ? '' : initial.name, description: initial.description ?? '', kind: initialKind });
  const [stored, setStored] = useState<Entity>({ kind: initialKind, config: initial.config ?? {} });
  const [draft, setDraft] = useState<Draft>(() => draftOf(initialKind, initial.config ?? {}));
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [tested, setTested] = useState<{ ok: boolean; text: string } | null>(null);
  const kind: string = mod.kind;
  const fields = KIND_FIELDS[kind].fields;
  const fe = fieldErrors(err, ['name', 'description', 'kind', ...fields.map((f) => f.key)]);

  const setKind = (k: string) => {
    setMod({ ...mod, kind: k });
    // Another kind's settings mean nothing here, and its secrets cannot be
    // kept (the server keeps secrets only within a kind).
    setDraft(draftOf(k, k === stored.kind ? stored.config : {}));
  };
  const body = (): Entity => {
    const o: Entity = { name: mod.name, kind, config: configOf(kind, draft, kind === stored.kind ? stored.config : {}) };
    if (mod.description) o.description = mod.description;
    return o;
  };
  // write saves the module; the answer (redacted) becomes the stored state,
  // so typed secrets leave the form once the server has them.
  const write = async (): Promise<string | null> => {
    setErr(null); setBusy(true);
    try {
      const m = await saveEntity<Entity>('alert-modules', saved, body());
      setSaved(m.name);
      setStored({ kind: m.kind, config: m.config ?? {} });
      setDraft(draftOf(m.kind, m.config ?? {}));
      return m.name as string;
    } catch (x) { setErr(x as api.ApiError); return null; } finally { setBusy(false); }
  };
  const save = async (e: Event) => {
    e.preventDefault();
    if (await write()) onSaved();
  };
  const saveAndTest = async () => {
    setTested(null);
    const n = await write();
    if (n) setTested(await sendTest(n));
  };

  const setValue = (k: string, v: string) => setDraft({ ...draft, values: { ...draft.values, [k]: v } });
  const control = (f: Field) => {
    const id = `module-${f.key}`;
    const invalid = fe.invalid(f.key);
    switch (f.type) {
      case 'bool':
        return (
          <div class="field" key={f.key}>
            <label class="check"><input id={id} type="checkbox" checked={!!draft.flags[f.key]} onChange={(e) => setDraft({ ...draft, flags: { ...draft.flags, [f.key]: e.currentTarget.checked } })} aria-invalid={invalid} /> {f.label}</label>
            {fe.at(f.key)}
          </div>
        );
      case 'select':
        return (
          <div class="field" key={f.key}>
            <label for={id}>{f.label}</label>
            <select id={id} value={draft.values[f.key] ?? ''} onChange={(e) => setValue(f.key, e.currentTarget.value)} aria-invalid={invalid}>
              <option value="">default ({f.options?.[0]})</option>
              {(f.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
            </select>
            {fe.at(f.key)}
          </div>
        );
      case 'list':
        return (
          <div class="field grow" key={f.key}>
            <label for={id}>{f.label}</label>
            <textarea id={id} class="mono" rows={3} required={f.required} value={draft.values[f.key] ?? ''} onInput={(e) => setValue(f.key, e.currentTarget.value)} aria-invalid={invalid} />
            {fe.at(f.key)}
          </div>
        );
      case 'secret':
        return (
          <SecretField key={f.key} id={id} label={f.label} required={f.required} stored={!!draft.stored[f.key]} value={draft.secrets[f.key] ?? ''}
            remove={!!draft.remove[f.key]} invalid={invalid} error={fe.at(f.key)}
            onValue={(v) => setDraft({ ...draft, secrets: { ...draft.secrets, [f.key]: v } })}
            onRemove={(v) => setDraft({ ...draft, remove: { ...draft.remove, [f.key]: v } })} />
        );
      case 'headers':
        return <HeadersField key={f.key} label={f.label} headers={draft.headers} onChange={(h) => setDraft({ ...draft, headers: h })} error={fe.at(f.key)} />;
      default:
        return (
          <div class={`field${f.wide ? ' grow' : ''}`} key={f.key}>
            <label for={id}>{f.label}</label>
            <input id={id} name={f.key} class={f.key.includes('url') || f.key === 'path' ? 'mono' : undefined} inputMode={f.type === 'number' ? 'numeric' : undefined}
              required={f.required} placeholder={f.placeholder} value={draft.values[f.key] ?? ''} onInput={(e) => setValue(f.key, e.currentTarget.value)} aria-invalid={invalid} />
            {fe.at(f.key)}
          </div>
        );
    }
  };

  return (
    <section class="card" aria-labelledby="module-form-title">
      <div class="card-head">
        <h2 id="module-form-title">{saved === null ? 'New alert module' : `Edit alert module ${saved}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON(body())}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field">
            <label for="module-name">Name</label>
            <input id="module-name" name="name" required value={mod.name} onInput={(e) => setMod({ ...mod, name: e.currentTarget.value })} placeholder="ops-mail" aria-invalid={fe.invalid('name')} />
            {fe.at('name')}
          </div>
          <div class="field">
            <label for="module-kind">Kind</label>
            <select id="module-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)} aria-invalid={fe.invalid('kind')}>
              {Object.entries(KIND_FIELDS).map(([k, v]) => <option key={k} value={k}>{v.label}</option>)}
            </select>
            {fe.at('kind')}
          </div>
          <div class="field grow">
            <label for="module-description">Description (optional)</label>
            <input id="module-description" value={mod.description} onInput={(e) => setMod({ ...mod, description: e.currentTarget.value })} aria-invalid={fe.invalid('description')} />
            {fe.at('description')}
          </div>
        </div>
        {kind !== stored.kind && saved !== null && <p class="small muted">Changing the kind drops the stored settings and secrets of the old one.</p>}
        <div class="row wrap align-start">{fields.map(control)}</div>
        {fe.rest}
        <FormButtons busy={busy} onCancel={onCancel}>
          <button type="button" class="btn" disabled={busy} onClick={saveAndTest}>Save and send a test</button>
        </FormButtons>
        <TestResult result={tested} />
      </form>
    </section>
  );
}

function SecretField({ id, label, required, stored, value, remove, invalid, error, onValue, onRemove }: {
  id: string; label: string; required?: boolean; stored: boolean; value: string; remove: boolean; invalid?: true; error: ComponentChildren;
  onValue: (v: string) => void; onRemove: (v: boolean) => void;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} type="password" autocomplete="new-password" class="mono" value={value} required={required && !stored}
        placeholder={stored ? 'set — leave empty to keep' : 'not set'} aria-describedby={`${id}-state`} aria-invalid={invalid}
        disabled={remove} onInput={(e) => onValue(e.currentTarget.value)} />
      <div id={`${id}-state`} class="small muted" data-secret-state={stored ? 'set' : 'unset'}>{stored ? (remove ? 'will be removed' : 'set — leave empty to keep') : 'not set'}</div>
      {stored && !required && <label class="check small"><input type="checkbox" checked={remove} onChange={(e) => onRemove(e.currentTarget.checked)} /> Remove it</label>}
      {error}
    </div>
  );
}

function HeadersField({ label, headers, onChange, error }: { label: string; headers: Header[]; onChange: (h: Header[]) => void; error: ComponentChildren }) {
  const set = (i: number, h: Header | null) => {
    const xs = headers.slice();
    if (h) xs[i] = h; else xs.splice(i, 1);
    onChange(xs);
  };
  return (
    <fieldset class="picker grow" id="module-headers">
      <legend>{label}</legend>
      {headers.map((h, i) => (
        <div class="row wrap" key={i}>
          <div class="field"><label for={`module-header-${i}-name`}>Header</label><input id={`module-header-${i}-name`} value={h.name} placeholder="Authorization" onInput={(e) => set(i, { ...h, name: e.currentTarget.value })} /></div>
          <div class="field grow"><label for={`module-header-${i}-value`}>Value</label><input id={`module-header-${i}-value`} type="password" autocomplete="new-password" class="mono" value={h.value}
            placeholder={h.stored ? 'set — leave empty to keep' : ''} onInput={(e) => set(i, { ...h, value: e.currentTarget.value })} /></div>
          <button type="button" class="btn small danger" onClick={() => set(i, null)}>Remove header</button>
        </div>
      ))}
      <button type="button" class="btn small" onClick={() => onChange([...headers, { name: '', value: '', stored: false }])}>Add a header</button>
      {error}
    </fieldset>
  );
}

// sendTest asks the server to send a test notification through the saved
// module (POST /manage/v1/alert-modules/{name}/test).
async function sendTest(name: string): Promise<{ ok: boolean; text: string }> {
  try {
    await api.post(`/manage/v1/alert-modules/${encodeURIComponent(name)}/test`);
    return { ok: true, text: `Sent: ${name} delivered the test notification.` };
  } catch (x) {
    return { ok: false, text: (x as api.ApiError).message };
  }
}

function TestResult({ result }: { result: { ok: boolean; text: string } | null }) {
  return (
    <div role="status" class="test-result">
      {result && (result.ok ? <span class="small ok-text">{result.text}</span> : <div class="error">Test failed: {result.text}</div>)}
    </div>
  );
}

// ModuleTest is the list's "Send a test" button for a saved module, with the outcome.
export function ModuleTest({ name }: { name: string }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const go = async () => {
    setBusy(true); setResult(null);
    setResult(await sendTest(name));
    setBusy(false);
  };
  return (
    <>
      <button type="button" class="btn small" disabled={busy} onClick={go}>{busy ? 'Sending…' : 'Send a test'}</button>
      <TestResult result={result} />
    </>
  );
}
