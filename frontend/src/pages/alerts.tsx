import { useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, Loading, Section, StateBadge, useFetch, useIsAdmin } from '../components';
import { byWorst, fmtAgo, fmtTime, subjectText } from '../util';
import { DeleteButton } from './entities';

export function Alerts() {
  const alerts = useFetch(() => api.get<api.Alert[]>('/manage/v1/alerts'), [], 15000);
  const history = useFetch(() => api.get<api.AlertStep[]>('/manage/v1/alert-history', { limit: 100 }), [], 30000);
  const acks = useFetch(() => api.get<api.Ack[]>('/manage/v1/acks'), [], 15000);
  const list = (alerts.data ?? []).slice().sort(byWorst((a) => a.state, (a) => a.id));
  const reload = () => { alerts.reload(); history.reload(); acks.reload(); };
  const ackKey = (a: api.Alert) => (acks.data ?? []).find((k) => sameSubject(k.subject, a.subject))?.subject_key;

  return (
    <div class="page">
      <div class="page-head"><h1>Alerts</h1></div>
      <Section title="Open alerts" id="alerts-open" actions={alerts.data && (
        <span class="small muted" aria-live="polite">
          {list.length} open · {list.filter((a) => a.status === 'firing').length} firing · {list.filter((a) => a.ack).length} acknowledged · {list.filter((a) => a.silenced).length} silenced
        </span>
      )}>
        <ErrorBox error={alerts.error} />
        <Loading show={alerts.loading && !alerts.data} />
        {alerts.data && list.length === 0 && <p class="muted">No open alerts.</p>}
        <ul class="list">
          {list.map((a) => <AlertRow key={a.id} a={a} ackKey={ackKey(a)} onChanged={reload} />)}
        </ul>
      </Section>
      <Section title="History" id="alerts-history">
        <ErrorBox error={history.error} />
        {history.data && history.data.length === 0 && <p class="muted">No alert has fired yet.</p>}
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Time</th><th>Status</th><th>Subject</th><th class="hide-narrow">Rule</th><th>Reason</th></tr></thead>
            <tbody>
              {(history.data ?? []).map((h) => (
                <tr key={h.id}>
                  <td class="small nowrap">{fmtTime(h.time)}</td>
                  <td><span class={`badge status-${h.status}`}>{h.status}</span> <StateBadge state={h.state} /></td>
                  <td>{subjectText(h.subject)}</td>
                  <td class="hide-narrow">{h.rule}</td>
                  <td class="msg small">{h.reason ?? ''}{h.ack?.by ? ` · acknowledged by ${h.ack.by}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </div>
  );
}

function sameSubject(x: api.Subject, y: api.Subject): boolean {
  const f = (s: api.Subject) => JSON.stringify([s.kind, s.host ?? '', s.plugin ?? '', s.check ?? '', s.service ?? '', s.rule ?? '',
    Object.entries(s.labels ?? {}).sort()]);
  return f(x) === f(y);
}

function AlertRow({ a, ackKey, onChanged }: { a: api.Alert; ackKey?: string; onChanged: () => void }) {
  const admin = useIsAdmin();
  const [form, setForm] = useState<'' | 'ack' | 'silence'>('');
  return (
    <li class="alert-row">
      <div class="row wrap">
        <StateBadge state={a.state} />
        <span class={`badge status-${a.status}`}>{a.status}</span>
        {a.subject.host ? <a class="grow" href={`/hosts/${encodeURIComponent(a.subject.host)}${a.subject.plugin ? `?plugin=${encodeURIComponent(a.subject.plugin)}&check=${encodeURIComponent(a.subject.check ?? '')}` : ''}`}>{subjectText(a.subject)}</a>
          : <span class="grow">{subjectText(a.subject)}</span>}
        <span class="small muted">rule {a.rule} · active {fmtAgo(a.active_at)}</span>
        {admin && (
          <span class="actions">
            <button type="button" class="btn small" aria-expanded={form === 'ack'} onClick={() => setForm(form === 'ack' ? '' : 'ack')}>Acknowledge</button>
            <button type="button" class="btn small" aria-expanded={form === 'silence'} onClick={() => setForm(form === 'silence' ? '' : 'silence')}>Silence</button>
          </span>
        )}
      </div>
      {a.reason && <div class="msg small">{a.reason}</div>}
      {a.ack && (
        <div class="small row wrap">
          <span>Acknowledged by {a.ack.by}: “{a.ack.comment}”{a.ack.expires ? ` until ${fmtTime(a.ack.expires)}` : ''}</span>
          {admin && ackKey && <DeleteButton path={api.withParams('/manage/v1/acks', { subject_key: ackKey })} what="the acknowledgement" label="Withdraw" onDone={onChanged} />}
        </div>
      )}
      {a.silenced && <div class="small">Silenced by {a.silenced}</div>}
      {form === 'ack' && <AckForm a={a} onDone={() => { setForm(''); onChanged(); }} />}
      {form === 'silence' && <SilenceForm a={a} onDone={() => { setForm(''); onChanged(); }} />}
    </li>
  );
}

const DURATIONS = [['', 'until it recovers'], ['1h', '1 hour'], ['4h', '4 hours'], ['24h', '1 day'], ['168h', '1 week']];

function AckForm({ a, onDone }: { a: api.Alert; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [dur, setDur] = useState('');
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `ack-${a.id}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.post('/manage/v1/acks', { subject: a.subject, comment, ...(dur ? { for: dur } : {}) });
      onDone();
    } catch (x) { setErr(x as api.ApiError); } finally { setBusy(false); }
  };
  return (
    <form class="inline-form" onSubmit={submit}>
      <div class="field">
        <label for={`${id}-c`}>Comment</label>
        <input id={`${id}-c`} name="comment" required value={comment} onInput={(e) => setComment(e.currentTarget.value)} placeholder="looking into it" />
      </div>
      <div class="field">
        <label for={`${id}-d`}>For</label>
        <select id={`${id}-d`} value={dur} onChange={(e) => setDur(e.currentTarget.value)}>
          {DURATIONS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </div>
      <button type="submit" class="btn primary small" disabled={busy}>Acknowledge</button>
      <ErrorBox error={err} />
    </form>
  );
}

function scopeOf(s: api.Subject): Record<string, string[]> {
  const scope: Record<string, string[]> = {};
  if (s.host) scope.hosts = [s.host];
  if (s.plugin) scope.plugins = [s.plugin];
  if (s.check) scope.checks = [s.check];
  if (s.service) scope.services = [s.service];
  if (s.rule && s.kind === 'trend') scope.trend_rules = [s.rule];
  return scope;
}

function SilenceForm({ a, onDone }: { a: api.Alert; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [hours, setHours] = useState('2');
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `sil-${a.id}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const start = new Date();
    const end = new Date(start.getTime() + Number(hours) * 3600 * 1000);
    const base = (a.subject.host || a.subject.service || a.subject.rule || 'alert').toLowerCase().replace(/[^a-z0-9_.-]/g, '-').slice(0, 60);
    const name = `ui-${base}-${start.toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
    try {
      await api.post('/manage/v1/silences', {
        name,
        description: `silenced from the alert ${a.rule}: ${subjectText(a.subject)}`.slice(0, 1000),
        scope: scopeOf(a.subject),
        start: start.toISOString(),
        end: end.toISOString(),
        comment,
      });
      onDone();
    } catch (x) { setErr(x as api.ApiError); } finally { setBusy(false); }
  };
  return (
    <form class="inline-form" onSubmit={submit}>
      <div class="field">
        <label for={`${id}-c`}>Reason</label>
        <input id={`${id}-c`} name="reason" required value={comment} onInput={(e) => setComment(e.currentTarget.value)} placeholder="maintenance, ticket…" />
      </div>
      <div class="field">
        <label for={`${id}-h`}>Hours</label>
        <input id={`${id}-h`} type="number" min="0.25" max="720" step="0.25" required value={hours} onInput={(e) => setHours(e.currentTarget.value)} />
      </div>
      <button type="submit" class="btn primary small" disabled={busy}>Silence</button>
      <span class="small muted">Notifications stop; states and alerts are still recorded.</span>
      <ErrorBox error={err} />
    </form>
  );
}
