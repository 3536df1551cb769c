// Plugins: upload a package, see its versions with the hosts that run each,
// make another version current (roll back or forward), delete an unused
// version, and test a classifier against a host's recent results.
import { useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, Loading, StateBadge, useFetch, useIsAdmin } from '../components';
import { fmtTime, fmtValue } from '../util';
import { DeleteButton } from './entities';

interface Version { plugin: string; version: string; sha256?: string; description?: string; kind?: string; current?: boolean; hosts?: string[] | null; created_at?: string; uploaded_at?: string }

export function PackageUpload({ onDone }: { onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [sig, setSig] = useState('');
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true); setErr(null); setDone('');
    try {
      const v = await api.upload<Version>('/manage/v1/plugin-packages', file, 'application/gzip', sig.trim() ? { 'X-Prophasis-Signature': sig.trim() } : {});
      setDone(`published ${v.plugin} ${v.version}`);
      onDone();
    } catch (x) { setErr(x as api.ApiError); } finally { setBusy(false); }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="upload a plugin package">
      <div class="field">
        <label for="pkg-file">Plugin package (.tar.gz from <code>prophasis plugin pack</code>)</label>
        <input id="pkg-file" type="file" accept=".gz,.tgz,application/gzip" required onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      </div>
      <div class="field">
        <label for="pkg-sig">Signature (optional)</label>
        <input id="pkg-sig" class="mono" value={sig} onInput={(e) => setSig(e.currentTarget.value)} placeholder="from prophasis plugin sign" />
      </div>
      <button type="submit" class="btn primary small" disabled={busy || !file}>{busy ? 'Uploading…' : 'Upload'}</button>
      {done && <span class="small" role="status">{done}</span>}
      <ErrorBox error={err} />
    </form>
  );
}

export function PluginVersions({ name, onChanged }: { name: string; onChanged: () => void }) {
  const admin = useIsAdmin();
  const vs = useFetch(() => api.get<Version[]>(`/manage/v1/plugins/${encodeURIComponent(name)}/versions`), [name]);
  const [err, setErr] = useState<api.ApiError | null>(null);
  const makeCurrent = async (version: string) => {
    setErr(null);
    try { await api.post(`/manage/v1/plugins/${encodeURIComponent(name)}/rollback`, { version }); vs.reload(); onChanged(); }
    catch (x) { setErr(x as api.ApiError); }
  };
  return (
    <div class="sub">
      <ErrorBox error={vs.error} what="Versions" />
      <ErrorBox error={err} />
      <Loading show={vs.loading && !vs.data} />
      {vs.data && vs.data.length === 0 && <p class="muted small">No published versions (a plugin made by hand).</p>}
      <ul class="list">
        {(vs.data ?? []).map((v) => (
          <li key={v.version} class="row wrap">
            <span class="mono">{v.version}</span>
            {v.current && <span class="badge st-ok">current</span>}
            <span class="grow small muted">{v.hosts?.length ? `runs on ${v.hosts.join(', ')}` : 'runs nowhere'}{v.sha256 ? ` · ${v.sha256.slice(0, 12)}` : ''}</span>
            {admin && !v.current && (
              <span class="actions">
                <button type="button" class="btn small" onClick={() => makeCurrent(v.version)}>Make current</button>
                <DeleteButton path={`/manage/v1/plugins/${encodeURIComponent(name)}/versions/${encodeURIComponent(v.version)}`} what={`${name} ${v.version}`} onDone={vs.reload} />
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

interface Step { time: number | string; value?: number | null; message?: string; state: string; recorded?: string; error?: string }

// ClassifierTest runs a classifier over a host's stored results of the
// plugin (POST /manage/v1/classifier-test). Inside another form (the plugin
// form, with code: the form's classifier field) it is a group with a
// button, not a form, and has no source field of its own.
export function ClassifierTest({ name, source, code: formCode }: { name: string; source: string; code?: () => string }) {
  const hosts = useFetch(() => api.get<api.Host[]>('/manage/v1/hosts'), []);
  const [host, setHost] = useState('');
  const [check, setCheck] = useState('');
  const [last, setLast] = useState('20');
  const [code, setCode] = useState(source);
  const [steps, setSteps] = useState<Step[] | null>(null);
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const h = host || hosts.data?.[0]?.name || '';
  // The checks that run this plugin on the host (results are kept per check).
  const checks = useFetch(() => (h ? api.get<api.States>('/manage/v1/states', { host: h, plugin: name }) : Promise.resolve(null)), [h, name]);
  const checkNames = [...new Set((checks.data?.checks ?? []).map((c) => c.check ?? ''))];
  const chk = checkNames.includes(check) ? check : checkNames[0] ?? check;
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setErr(null);
    try {
      const body: Record<string, unknown> = { plugin: name, host: h, last: Number(last) || 20 };
      const src = formCode ? formCode() : code;
      if (src.trim()) body.source = src;
      if (chk.trim()) body.check = chk.trim();
      const r = await api.post<{ steps: Step[] }>('/manage/v1/classifier-test', body);
      setSteps(r.steps ?? []);
    } catch (x) { setErr(x as api.ApiError); setSteps(null); } finally { setBusy(false); }
  };
  const id = `ct-${name}`.replace(/[^\w-]/g, '_');
  const Wrap = formCode ? 'div' : 'form';
  return (
    <Wrap class="sub form wide" onSubmit={formCode ? undefined : run} role={formCode ? 'group' : undefined} aria-label={`test the classifier of ${name}`}>
      {!formCode && (
        <div class="field">
          <label for={`${id}-src`}>Classifier (Lua; empty = the plugin's own)</label>
          <textarea id={`${id}-src`} class="mono" rows={Math.min(16, Math.max(4, code.split('\n').length + 1))} spellcheck={false} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        </div>
      )}
      <div class="row wrap">
        <div class="field">
          <label for={`${id}-host`}>Against the stored results of</label>
          <select id={`${id}-host`} value={h} onChange={(e) => setHost(e.currentTarget.value)}>
            {(hosts.data ?? []).map((x) => <option key={x.name} value={x.name}>{x.name}</option>)}
          </select>
        </div>
        <div class="field">
          <label for={`${id}-check`}>Check</label>
          {checkNames.length > 0 ? (
            <select id={`${id}-check`} value={chk} onChange={(e) => setCheck(e.currentTarget.value)}>
              {checkNames.map((c) => <option key={c} value={c}>{c || '(none)'}</option>)}
            </select>
          ) : (
            <input id={`${id}-check`} value={check} onInput={(e) => setCheck(e.currentTarget.value)} placeholder="no check runs it here" />
          )}
        </div>
        <div class="field"><label for={`${id}-last`}>Last results</label><input id={`${id}-last`} type="number" min="1" max="1000" value={last} onInput={(e) => setLast(e.currentTarget.value)} /></div>
      </div>
      <div class="row"><button type={formCode ? 'button' : 'submit'} class="btn primary small" disabled={busy || !h} onClick={formCode ? run : undefined}>{busy ? 'Testing…' : 'Test against recent data'}</button></div>
      <div role="alert">{err && <div class="field-error">{err.message}</div>}</div>
      {steps && steps.length === 0 && <p class="muted small">No stored results for this plugin on {h}.</p>}
      {steps && steps.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Time</th><th class="num">Value</th><th>Message</th><th>State</th><th>Recorded</th></tr></thead>
            <tbody>
              {steps.map((s, i) => (
                <tr key={i}>
                  <td class="small nowrap">{fmtTime(s.time)}</td>
                  <td class="num mono">{fmtValue(s.value)}</td>
                  <td class="msg small">{s.message ?? ''}</td>
                  <td>{s.error ? <span class="field-error">{s.error}</span> : <StateBadge state={s.state} />}</td>
                  <td>{s.recorded ? <StateBadge state={s.recorded} /> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Wrap>
  );
}

interface Change { labels?: Record<string, string>; at: number | string; from: string; to: string; explain?: string; error?: string }

// TrendBacktest shows when a saved trend rule would have changed state over
// the stored data of the last day or week (POST /manage/v1/trend-rules/backtest).
// With rule (an unsaved rule's fields) instead of name it backtests those,
// inside another form (so it is a group with a button, not a form).
export function TrendBacktest({ name, rule }: { name: string; rule?: () => Record<string, unknown> }) {
  const [days, setDays] = useState('7');
  const [res, setRes] = useState<{ changes: Change[]; step?: string } | null>(null);
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setErr(null);
    try {
      const from = Math.floor(Date.now() / 1000) - Number(days) * 86400;
      const what = rule ? { rule: rule() } : { name };
      setRes(await api.post<{ changes: Change[]; step?: string }>('/manage/v1/trend-rules/backtest', { ...what, from: String(from) }));
    } catch (x) { setErr(x as api.ApiError); setRes(null); } finally { setBusy(false); }
  };
  const id = `bt-${name || 'new'}`.replace(/[^\w-]/g, '_');
  const Wrap = rule ? 'div' : 'form';
  return (
    <Wrap class="sub" onSubmit={rule ? undefined : run} role={rule ? 'group' : undefined} aria-label={`backtest ${name || 'this rule'}`}>
      <div class="row wrap">
        <div class="field">
          <label for={`${id}-days`}>Over the last</label>
          <select id={`${id}-days`} value={days} onChange={(e) => setDays(e.currentTarget.value)}>
            <option value="1">day</option><option value="7">week</option><option value="30">30 days</option>
          </select>
        </div>
        <button type={rule ? 'button' : 'submit'} class="btn primary small" disabled={busy} onClick={rule ? run : undefined}>{busy ? 'Running…' : rule ? 'Backtest these fields' : 'Backtest'}</button>
      </div>
      <div role="alert">{err && <div class="field-error">{err.message}</div>}</div>
      {res && res.changes.length === 0 && <p class="muted small">No change of state in that time.</p>}
      {res && res.changes.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>At</th><th>Series</th><th>Change</th><th>Why</th></tr></thead>
            <tbody>
              {res.changes.map((c, i) => (
                <tr key={i}>
                  <td class="small nowrap">{fmtTime(typeof c.at === 'number' && c.at < 1e12 ? c.at * 1000 : c.at)}</td>
                  <td class="mono small break">{Object.entries(c.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(', ')}</td>
                  <td class="nowrap">{c.from ? <StateBadge state={c.from} /> : <span class="small muted">start</span>} → <StateBadge state={c.to} /></td>
                  <td class="msg small">{c.error || c.explain || ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Wrap>
  );
}
