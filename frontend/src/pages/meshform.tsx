// The agent mesh's settings (GET/PUT /manage/v1/mesh): one set for the
// whole server, put in every agent's plan, so turning the mesh on takes no
// flags on any host. Admins edit; viewers read. The keys are secrets: the
// API shows each as <secret>; the page refers to a stored key by its
// position (<secret:N>), adds new keys made in this browser, and walks
// through a rotation without downtime (add second, make first, remove the
// old one) — each step reaches every agent through its plan.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, Loading, useFetch, useIsAdmin } from '../components';
import { fmtTime } from '../util';
import { fieldErrors } from './formfields';

export interface MeshSettings {
  enabled: boolean; cluster: string; port: number; keys: string[]; allow: string;
  status_listen: string; status_allow: string; interval: string; down: string; remove: string; updated_at?: number;
}

// A key in the form: a stored one by its position, or a new one's value.
type Key = { stored: number } | { value: string };

// newKey makes a random 32-byte AES key, base64, in this browser.
function newKey(): string {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b));
}

const FIELDS = ['enabled', 'cluster', 'port', 'keys', 'allow', 'status_listen', 'status_allow', 'interval', 'down', 'remove'];

export function MeshPage() {
  const admin = useIsAdmin();
  const cur = useFetch(() => api.get<MeshSettings>('/manage/v1/mesh'), []);
  const [body, setBody] = useState<MeshSettings | null>(null);
  const [keys, setKeys] = useState<Key[]>([]);
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (cur.data && !body) {
      setBody(cur.data);
      setKeys((cur.data.keys ?? []).map((_, i) => ({ stored: i })));
    }
  }, [cur.data]);
  const fe = fieldErrors(err, FIELDS);
  if (!body) return <><ErrorBox error={cur.error} /><Loading show={cur.loading} /></>;
  const set = (k: keyof MeshSettings, v: unknown) => { setBody({ ...body, [k]: v }); setSaved(false); };
  const move = (from: number, to: number) => { const ks = [...keys]; const [k] = ks.splice(from, 1); ks.splice(to, 0, k); setKeys(ks); setSaved(false); };
  const save = async (e: Event) => {
    e.preventDefault();
    setErr(null); setBusy(true); setSaved(false);
    try {
      const out = { ...body, keys: keys.map((k) => ('stored' in k ? `<secret:${k.stored}>` : k.value)) };
      delete out.updated_at;
      const next = await api.put<MeshSettings>('/manage/v1/mesh', out);
      setBody(next);
      setKeys((next.keys ?? []).map((_, i) => ({ stored: i })));
      setSaved(true);
    } catch (x) { setErr(x as api.ApiError); } finally { setBusy(false); }
  };
  const ro = !admin;
  const text = (id: keyof MeshSettings, label: string, hint?: string, placeholder?: string) => (
    <div class="field grow">
      <label for={`mesh-${id}`}>{label}</label>
      <input id={`mesh-${id}`} value={String(body[id] ?? '')} disabled={ro} placeholder={placeholder} aria-invalid={fe.invalid(id)}
        aria-describedby={hint ? `mesh-${id}-hint` : undefined} onInput={(e) => set(id, e.currentTarget.value)} />
      {hint && <div class="small muted" id={`mesh-${id}-hint`}>{hint}</div>}
      {fe.at(id)}
    </div>
  );
  return (
    <>
      <div class="page-head"><h1>Agent mesh</h1></div>
      <p class="muted">
        Agents gossip their hosts' status with each other, so any agent can show the cluster when this server is down,
        and the server can tell a host that is down from one it cannot reach. These settings go to every agent in its plan;
        an agent started with <code>--mesh</code> flags keeps its own.
      </p>
      <section class="card" aria-labelledby="mesh-form-title">
        <div class="card-head"><h2 id="mesh-form-title">Settings</h2>{body.updated_at ? <span class="small muted">changed {fmtTime(body.updated_at)}</span> : null}</div>
        <form class="form wide" onSubmit={save}>
          <div class="row wrap">
            <label class="check"><input id="mesh-enabled" type="checkbox" checked={body.enabled} disabled={ro} onChange={(e) => set('enabled', e.currentTarget.checked)} /> Mesh on</label>
            {fe.at('enabled')}
          </div>
          <div class="row wrap">
            {text('cluster', 'Cluster name', 'Agents with another name ignore each other; not a secret.', 'office')}
            <div class="field">
              <label for="mesh-port">Port (UDP and TCP)</label>
              <input id="mesh-port" type="number" value={body.port} disabled={ro} aria-invalid={fe.invalid('port')}
                onInput={(e) => set('port', Number(e.currentTarget.value))} />
              {fe.at('port')}
            </div>
          </div>
          <div class="row wrap">
            {text('allow', 'Addresses allowed in the mesh', '192.168.0.100-199, 192.168.0., 10.1.0.0/24; everything else is refused.', '192.168.0.')}
          </div>
          <div class="row wrap">
            {text('status_listen', 'Status page address (optional)', 'Every agent serves its view of the cluster here, e.g. :8080.', ':8080')}
            {text('status_allow', 'Who may read the status page', undefined, '127.0.0.1 ::1')}
          </div>
          <div class="row wrap">
            {text('interval', 'Status every', undefined, '1m')}
            {text('down', 'Down after silent for', undefined, '30m')}
            {text('remove', 'Forgotten after', undefined, '240h')}
          </div>
          <fieldset class="keys">
            <legend>Keys (encrypt and authenticate gossip; the first sends)</legend>
            {keys.length === 0 && <p class="small muted">None yet: one is made when the mesh is turned on.</p>}
            <ol class="list">
              {keys.map((k, i) => (
                <li key={i} class="row wrap" data-testid="mesh-key">
                  <span class="mono">{'stored' in k ? `stored key ${k.stored + 1}` : 'new key (made in this browser)'}</span>
                  <span class="small muted">{i === 0 ? 'sends and receives' : 'receives'}</span>
                  {admin && i > 0 && <button type="button" class="btn small" onClick={() => move(i, 0)}>Make first</button>}
                  {admin && keys.length > 1 && <button type="button" class="btn small" onClick={() => { setKeys(keys.filter((_, j) => j !== i)); setSaved(false); }}>Remove</button>}
                </li>
              ))}
            </ol>
            {admin && (
              <button type="button" class="btn small" onClick={() => { const ks = [...keys]; ks.splice(Math.min(1, ks.length), 0, { value: newKey() }); setKeys(ks); setSaved(false); }}>
                Add a new key
              </button>
            )}
            <p class="small muted">
              To rotate without downtime: add a new key and save (it goes second: every agent accepts it); once the agents
              have their new plan, make it first and save; then remove the old key and save.
            </p>
            {fe.at('keys')}
          </fieldset>
          {fe.rest}
          {admin && (
            <div class="row">
              <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
              {saved && <span role="status" class="small">Saved: agents get the settings with their next plan.</span>}
            </div>
          )}
        </form>
      </section>
    </>
  );
}
