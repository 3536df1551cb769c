// A form of its own for checks: which plugins, on which hosts and groups, on
// which schedule. Fields the form does not show (attempts, flapping,
// classifiers, versions, params) are kept as they are; the JSON editor edits
// them.
import { useState } from 'preact/hooks';
import * as api from '../api';
import { useFetch } from '../components';
import { TrendBacktest } from './plugins';
import { fieldErrors, useSubmit } from './formfields';
import { countsOf, rulesOf, ServiceRulesFields, type Counts } from './servicerules';

type Entity = Record<string, any>;

export function Picker({ id, label, options, value, onChange }: { id: string; label: string; options: string[]; value: string[]; onChange: (v: string[]) => void }) {
  const [q, setQ] = useState('');
  const shown = options.filter((o) => !q || o.toLowerCase().includes(q.toLowerCase()) || value.includes(o));
  return (
    <fieldset class="picker" id={id}>
      <legend>{label} <span class="muted small">({value.length} chosen)</span></legend>
      {options.length > 8 && (
        <>
          <label for={`${id}-q`} class="sr-only">Filter {label.toLowerCase()}</label>
          <input id={`${id}-q`} type="search" placeholder="Filter…" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </>
      )}
      <div class="picker-options">
        {shown.map((o) => (
          <label key={o} class="check">
            <input type="checkbox" name={`${id}-opt`} value={o} checked={value.includes(o)}
              onChange={(e) => onChange(e.currentTarget.checked ? [...value, o] : value.filter((x) => x !== o))} /> {o}
          </label>
        ))}
        {options.length === 0 && <span class="muted small">none yet</span>}
      </div>
    </fieldset>
  );
}

export function CheckForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const plugins = useFetch(() => api.get<Entity[]>('/manage/v1/plugins'), []);
  const hosts = useFetch(() => api.get<Entity[]>('/manage/v1/hosts'), []);
  const groups = useFetch(() => api.get<Entity[]>('/manage/v1/groups'), []);
  const schedules = useFetch(() => api.get<Entity[]>('/manage/v1/schedules'), []);
  const [body, setBody] = useState<Entity>({ plugins: [], hosts: [], groups: [], ...initial, name: name === null ? '' : initial.name });
  const { err, busy, submit } = useSubmit('checks', name, onSaved);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  const names = (xs?: Entity[]) => (xs ?? []).map((x) => x.name as string);
  const schedule = body.schedule ?? names(schedules.data)[0] ?? '';

  const save = (e: Event) => {
    e.preventDefault();
    const out: Entity = { ...body, schedule };
    for (const k of ['hosts', 'groups']) if (Array.isArray(out[k]) && out[k].length === 0) delete out[k];
    if (!out.description) delete out.description;
    submit(out);
  };
  // The server's reasons for checks name their field loosely ("no plugin",
  // "unknown host"), so the patterns are looser than a field's name.
  const fe = fieldErrors(err, [['plugins', /plugin/i], ['schedule', /schedule/i], ['groups', /group/i], ['hosts', /host/i], ['name', /name/i]]);
  const errField = fe.field;
  const errAt = fe.at;

  return (
    <section class="card" aria-labelledby="check-form-title">
      <div class="card-head">
        <h2 id="check-form-title">{name === null ? 'New check' : `Edit check ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON({ ...body, schedule })}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field">
            <label for="check-name">Name</label>
            <input id="check-name" name="name" required value={body.name} onInput={(e) => set('name', e.currentTarget.value)} placeholder="resources"
              aria-invalid={errField === 'name' ? true : undefined} />
            {errAt('name')}
          </div>
          <div class="field grow">
            <label for="check-description">Description (optional)</label>
            <input id="check-description" value={body.description ?? ''} onInput={(e) => set('description', e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="check-schedule">Schedule</label>
            <select id="check-schedule" value={schedule} onChange={(e) => set('schedule', e.currentTarget.value)} aria-invalid={errField === 'schedule' ? true : undefined}>
              {names(schedules.data).map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
            {schedules.data && schedules.data.length === 0 && <div class="small muted">Make a schedule first (the Schedules tab).</div>}
            {errAt('schedule')}
          </div>
        </div>
        <div class="pickers">
          <div>
            <Picker id="check-plugins" label="Plugins" options={names(plugins.data)} value={body.plugins ?? []} onChange={(v) => set('plugins', v)} />
            {errAt('plugins')}
          </div>
          <div>
            <Picker id="check-hosts" label="Hosts" options={names(hosts.data)} value={body.hosts ?? []} onChange={(v) => set('hosts', v)} />
            {errAt('hosts')}
          </div>
          <div>
            <Picker id="check-groups" label="Host groups" options={names(groups.data)} value={body.groups ?? []} onChange={(v) => set('groups', v)} />
            {errAt('groups')}
          </div>
        </div>
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

// toLocalInput and fromLocalInput convert between RFC 3339 and the value of
// an <input type=datetime-local> (the browser's time zone).
function toLocalInput(t?: string): string {
  const d = t ? new Date(t) : null;
  if (!d || isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
const fromLocalInput = (v: string) => (v ? new Date(v).toISOString() : undefined);

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

// SilenceForm: a maintenance window, one-off (start, end) or weekly (days,
// time, duration, time zone), over hosts, groups, checks, services.
export function SilenceForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const hosts = useFetch(() => api.get<Entity[]>('/manage/v1/hosts'), []);
  const groups = useFetch(() => api.get<Entity[]>('/manage/v1/groups'), []);
  const checks = useFetch(() => api.get<Entity[]>('/manage/v1/checks'), []);
  const services = useFetch(() => api.get<Entity[]>('/manage/v1/services'), []);
  const now = new Date();
  const [body, setBody] = useState<Entity>(() => ({
    scope: {},
    ...(name === null ? { start: now.toISOString(), end: new Date(now.getTime() + 2 * 3600e3).toISOString() } : {}),
    ...initial,
    name: name === null ? '' : initial.name,
  }));
  const weekly = !!body.weekly;
  const { err, busy, submit } = useSubmit('silences', name, onSaved);
  const fe = fieldErrors(err, ['name', 'start', 'end', ['at', /weekly\.at\b/], ['duration', /weekly\.duration/], ['timezone', /weekly\.timezone/]]);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  const setScope = (k: string, v: string[]) => setBody({ ...body, scope: { ...(body.scope ?? {}), [k]: v } });
  const setWeekly = (k: string, v: unknown) => setBody({ ...body, weekly: { ...body.weekly, [k]: v } });
  const names = (xs?: Entity[]) => (xs ?? []).map((x) => x.name as string);
  const out = (): Entity => {
    const o: Entity = { ...body, scope: { ...(body.scope ?? {}) } };
    for (const k of Object.keys(o.scope)) if (!o.scope[k]?.length) delete o.scope[k];
    if (weekly) { delete o.start; delete o.end; } else delete o.weekly;
    for (const k of ['description', 'comment']) if (!o[k]) delete o[k];
    delete o.created_by;
    return o;
  };
  const save = (e: Event) => { e.preventDefault(); submit(out()); };
  return (
    <section class="card" aria-labelledby="silence-form-title">
      <div class="card-head">
        <h2 id="silence-form-title">{name === null ? 'New silence (maintenance window)' : `Edit silence ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON(out())}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field">
            <label for="silence-name">Name</label>
            <input id="silence-name" aria-invalid={fe.invalid('name')} required value={body.name} onInput={(e) => set('name', e.currentTarget.value)} placeholder="patch-night" />
            {fe.at('name')}
          </div>
          <div class="field grow">
            <label for="silence-comment">Why (a ticket, whom to ask)</label>
            <input id="silence-comment" value={body.comment ?? ''} onInput={(e) => set('comment', e.currentTarget.value)} />
          </div>
        </div>
        <div class="seg" role="group" aria-label="kind of window">
          <button type="button" class={!weekly ? 'on' : ''} aria-pressed={!weekly} onClick={() => setBody({ ...body, weekly: undefined, start: body.start ?? now.toISOString(), end: body.end ?? new Date(now.getTime() + 2 * 3600e3).toISOString() })}>Once</button>
          <button type="button" class={weekly ? 'on' : ''} aria-pressed={weekly} onClick={() => setBody({ ...body, weekly: body.weekly ?? { days: ['sun'], at: '02:00', duration: '2h', timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' } })}>Weekly</button>
        </div>
        {!weekly ? (
          <div class="row wrap">
            <div class="field"><label for="silence-start">From</label><input id="silence-start" aria-invalid={fe.invalid('start')} type="datetime-local" required value={toLocalInput(body.start)} onInput={(e) => set('start', fromLocalInput(e.currentTarget.value))} />{fe.at('start')}</div>
            <div class="field"><label for="silence-end">Until</label><input id="silence-end" aria-invalid={fe.invalid('end')} type="datetime-local" required value={toLocalInput(body.end)} onInput={(e) => set('end', fromLocalInput(e.currentTarget.value))} />{fe.at('end')}</div>
          </div>
        ) : (
          <div class="row wrap">
            <fieldset class="picker">
              <legend>Days</legend>
              <div class="row wrap">
                {DAYS.map((d) => (
                  <label key={d} class="check"><input type="checkbox" checked={(body.weekly?.days ?? []).includes(d)}
                    onChange={(e) => setWeekly('days', e.currentTarget.checked ? [...(body.weekly?.days ?? []), d] : (body.weekly?.days ?? []).filter((x: string) => x !== d))} /> {d}</label>
                ))}
              </div>
            </fieldset>
            <div class="field"><label for="silence-at">At</label><input id="silence-at" aria-invalid={fe.invalid('at')} type="time" required value={body.weekly?.at ?? ''} onInput={(e) => setWeekly('at', e.currentTarget.value)} />{fe.at('at')}</div>
            <div class="field"><label for="silence-duration">For</label><input id="silence-duration" aria-invalid={fe.invalid('duration')} required value={body.weekly?.duration ?? ''} onInput={(e) => setWeekly('duration', e.currentTarget.value)} placeholder="2h" />{fe.at('duration')}</div>
            <div class="field"><label for="silence-tz">Time zone</label><input id="silence-tz" aria-invalid={fe.invalid('timezone')} value={body.weekly?.timezone ?? ''} onInput={(e) => setWeekly('timezone', e.currentTarget.value)} placeholder="UTC" />{fe.at('timezone')}</div>
          </div>
        )}
        <p class="small muted">What it covers (nothing chosen: everything). Notifications stop while it is active; states and alerts are still recorded.</p>
        <div class="pickers">
          <Picker id="silence-hosts" label="Hosts" options={names(hosts.data)} value={body.scope?.hosts ?? []} onChange={(v) => setScope('hosts', v)} />
          <Picker id="silence-groups" label="Host groups" options={names(groups.data)} value={body.scope?.groups ?? []} onChange={(v) => setScope('groups', v)} />
          <Picker id="silence-checks" label="Checks" options={names(checks.data)} value={body.scope?.checks ?? []} onChange={(v) => setScope('checks', v)} />
          <Picker id="silence-services" label="Services" options={names(services.data)} value={body.scope?.services ?? []} onChange={(v) => setScope('services', v)} />
        </div>
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

// GroupForm: a host group's name, description, hosts and nested groups.
export function GroupForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const hosts = useFetch(() => api.get<Entity[]>('/manage/v1/hosts'), []);
  const groups = useFetch(() => api.get<Entity[]>('/manage/v1/groups'), []);
  const [body, setBody] = useState<Entity>({ hosts: [], groups: [], ...initial, name: name === null ? '' : initial.name });
  const { err, busy, submit } = useSubmit('groups', name, onSaved);
  const fe = fieldErrors(err, ['name', ['hosts', /\bhosts?\b/], ['groups', /\bgroups?\b/]]);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  const names = (xs?: Entity[]) => (xs ?? []).map((x) => x.name as string).filter((n) => n !== name);
  const out = () => { const o = { ...body }; if (!o.description) delete o.description; return o; };
  const save = (e: Event) => { e.preventDefault(); submit(out()); };
  return (
    <section class="card" aria-labelledby="group-form-title">
      <div class="card-head">
        <h2 id="group-form-title">{name === null ? 'New host group' : `Edit group ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON(out())}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field"><label for="group-name">Name</label><input id="group-name" aria-invalid={fe.invalid('name')} required value={body.name} onInput={(e) => set('name', e.currentTarget.value)} placeholder="webservers" />{fe.at('name')}</div>
          <div class="field grow"><label for="group-description">Description (optional)</label><input id="group-description" value={body.description ?? ''} onInput={(e) => set('description', e.currentTarget.value)} /></div>
        </div>
        <div class="pickers">
          <div><Picker id="group-hosts" label="Hosts" options={names(hosts.data)} value={body.hosts ?? []} onChange={(v) => set('hosts', v)} />{fe.at('hosts')}</div>
          <div><Picker id="group-groups" label="Groups inside it" options={names(groups.data)} value={body.groups ?? []} onChange={(v) => set('groups', v)} />{fe.at('groups')}</div>
        </div>
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

// UserForm: a user's name, role and password (write-only: left empty when
// editing, the stored one is kept).
export function UserForm({ name, initial, onCancel, onSaved }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void }) {
  const [user, setUser] = useState<string>(name === null ? '' : initial.name);
  const [role, setRole] = useState<string>(initial.role ?? 'viewer');
  const [password, setPassword] = useState('');
  const { err, busy, submit } = useSubmit('users', name, onSaved);
  const fe = fieldErrors(err, ['name', 'password']);
  const save = (e: Event) => {
    e.preventDefault();
    const body: Entity = { name: user, role };
    if (password) body.password = password;
    submit(body);
  };
  return (
    <section class="card" aria-labelledby="user-form-title">
      <h2 id="user-form-title">{name === null ? 'New user' : `Edit user ${name}`}</h2>
      <form class="form" onSubmit={save}>
        <div class="field"><label for="user-name">Name</label><input id="user-name" aria-invalid={fe.invalid('name')} required autocomplete="off" value={user} onInput={(e) => setUser(e.currentTarget.value)} />{fe.at('name')}</div>
        <div class="field">
          <label for="user-role">Role</label>
          <select id="user-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="viewer">viewer (reads)</option>
            <option value="admin">admin (changes)</option>
          </select>
        </div>
        <div class="field">
          <label for="user-password">{name === null ? 'Password' : 'New password (empty: keep the current one)'}</label>
          <input id="user-password" aria-invalid={fe.invalid('password')} type="password" autocomplete="new-password" required={name === null} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          {fe.at('password')}
        </div>
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

const STATES = ['ok', 'minor', 'major', 'critical', 'unknown', 'degraded', 'failed'];

// AlertRuleForm: when (from, to states), what (scope), whom (modules), how
// long first (delay), how often again (repeat). Escalations, condition and
// the rest are kept and edited as JSON.
export function AlertRuleForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const hosts = useFetch(() => api.get<Entity[]>('/manage/v1/hosts'), []);
  const groups = useFetch(() => api.get<Entity[]>('/manage/v1/groups'), []);
  const checks = useFetch(() => api.get<Entity[]>('/manage/v1/checks'), []);
  const services = useFetch(() => api.get<Entity[]>('/manage/v1/services'), []);
  const modules = useFetch(() => api.get<Entity[]>('/manage/v1/alert-modules'), []);
  const [body, setBody] = useState<Entity>(() => ({
    from: [], to: ['critical', 'failed'], scope: {}, modules: [], ...initial, name: name === null ? '' : initial.name,
  }));
  const { err, busy, submit } = useSubmit('alert-rules', name, onSaved);
  const fe = fieldErrors(err, ['name', 'delay', 'repeat', 'condition', 'escalations', ['modules', /module/]]);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  // Escalations as lines "AFTER: module, module" (e.g. "30m: ops-phone").
  const [escText, setEscText] = useState<string>(() => (initial.escalations ?? []).map((e: Entity) => `${e.after}: ${(e.modules ?? []).join(', ')}`).join('\n'));
  const setScope = (k: string, v: string[]) => setBody({ ...body, scope: { ...(body.scope ?? {}), [k]: v } });
  const names = (xs?: Entity[]) => (xs ?? []).map((x) => x.name as string);
  const out = (): Entity => {
    const o: Entity = { ...body, scope: { ...(body.scope ?? {}) } };
    for (const k of Object.keys(o.scope)) if (!o.scope[k]?.length) delete o.scope[k];
    for (const k of ['from', 'to']) if (!o[k]?.length) delete o[k];
    for (const k of ['description', 'delay', 'repeat', 'condition']) if (!o[k]) delete o[k];
    const esc = escText.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
      const [after, mods = ''] = l.split(/:(.*)/s);
      return { after: after.trim(), modules: mods.split(',').map((m) => m.trim()).filter(Boolean) };
    });
    if (esc.length) o.escalations = esc; else delete o.escalations;
    return o;
  };
  const save = (e: Event) => { e.preventDefault(); submit(out()); };
  const stateBoxes = (k: 'from' | 'to', label: string) => (
    <fieldset class="picker">
      <legend>{label} <span class="muted small">(none: any)</span></legend>
      <div class="row wrap">
        {STATES.map((s) => (
          <label key={s} class="check"><input type="checkbox" name={`rule-${k}`} value={s} checked={(body[k] ?? []).includes(s)}
            onChange={(e) => set(k, e.currentTarget.checked ? [...(body[k] ?? []), s] : (body[k] ?? []).filter((x: string) => x !== s))} /> {s}</label>
        ))}
      </div>
    </fieldset>
  );
  return (
    <section class="card" aria-labelledby="rule-form-title">
      <div class="card-head">
        <h2 id="rule-form-title">{name === null ? 'New alert rule' : `Edit alert rule ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON(out())}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field"><label for="rule-name">Name</label><input id="rule-name" aria-invalid={fe.invalid('name')} required value={body.name} onInput={(e) => set('name', e.currentTarget.value)} placeholder="page-on-critical" />{fe.at('name')}</div>
          <div class="field grow"><label for="rule-description">Description (optional)</label><input id="rule-description" value={body.description ?? ''} onInput={(e) => set('description', e.currentTarget.value)} /></div>
          <div class="field"><label for="rule-delay">After (delay)</label><input id="rule-delay" aria-invalid={fe.invalid('delay')} value={body.delay ?? ''} onInput={(e) => set('delay', e.currentTarget.value)} placeholder="0 = at once, 2m" />{fe.at('delay')}</div>
          <div class="field"><label for="rule-repeat">Repeat every</label><input id="rule-repeat" aria-invalid={fe.invalid('repeat')} value={body.repeat ?? ''} onInput={(e) => set('repeat', e.currentTarget.value)} placeholder="0 = once, 1h" />{fe.at('repeat')}</div>
        </div>
        <div class="pickers">
          {stateBoxes('from', 'From states')}
          {stateBoxes('to', 'To states')}
        </div>
        <Picker id="rule-modules" label="Notify via (alert modules)" options={names(modules.data)} value={body.modules ?? []} onChange={(v) => set('modules', v)} />
        {fe.at('modules')}
        {modules.data && modules.data.length === 0 && <p class="small muted">Make an alert module first (the Alert modules tab).</p>}
        <p class="small muted">What it watches (nothing chosen: everything).</p>
        <div class="pickers">
          <Picker id="rule-hosts" label="Hosts" options={names(hosts.data)} value={body.scope?.hosts ?? []} onChange={(v) => setScope('hosts', v)} />
          <Picker id="rule-groups" label="Host groups" options={names(groups.data)} value={body.scope?.groups ?? []} onChange={(v) => setScope('groups', v)} />
          <Picker id="rule-checks" label="Checks" options={names(checks.data)} value={body.scope?.checks ?? []} onChange={(v) => setScope('checks', v)} />
          <Picker id="rule-services" label="Services" options={names(services.data)} value={body.scope?.services ?? []} onChange={(v) => setScope('services', v)} />
        </div>
        <div class="row wrap">
          <div class="field grow">
            <label for="rule-condition">Condition (optional)</label>
            <textarea id="rule-condition" class="mono" rows={2} aria-invalid={fe.invalid('condition')} aria-describedby="rule-condition-hint"
              value={body.condition ?? ''} onInput={(e) => set('condition', e.currentTarget.value)} placeholder={'subject.labels.env == "prod" && hour(now) >= 8'} />
            <div class="small muted" id="rule-condition-hint">An expression that must hold too (docs/alerting.md); checked when saved.</div>
            {fe.at('condition')}
          </div>
          <div class="field grow">
            <label for="rule-escalations">Escalations (optional), one per line</label>
            <textarea id="rule-escalations" class="mono" rows={2} aria-invalid={fe.invalid('escalations')} aria-describedby="rule-escalations-hint"
              value={escText} onInput={(e) => setEscText(e.currentTarget.value)} placeholder={'30m: ops-phone\n2h: boss-mail'} />
            <div class="small muted" id="rule-escalations-hint">After how long unacknowledged, which modules are told as well.</div>
            {fe.at('escalations')}
          </div>
        </div>
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

// ScheduleForm: a schedule's intervals (each a period and an optional start
// that sets the grid's phase) and its maximum lateness.
export function ScheduleForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const [body, setBody] = useState<Entity>(() => ({ intervals: [{ period: '1m' }], ...initial, name: name === null ? '' : initial.name }));
  const { err, busy, submit } = useSubmit('schedules', name, onSaved);
  const fe = fieldErrors(err, ['name', 'max_lateness']);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  const intervals: Entity[] = body.intervals ?? [];
  const setInterval_ = (i: number, iv: Entity | null) => {
    const xs = intervals.slice();
    if (iv) xs[i] = iv; else xs.splice(i, 1);
    set('intervals', xs);
  };
  const out = (): Entity => {
    const o: Entity = { ...body, intervals: intervals.map((iv) => (iv.start ? iv : { period: iv.period })) };
    for (const k of ['description', 'max_lateness']) if (!o[k]) delete o[k];
    return o;
  };
  const save = (e: Event) => { e.preventDefault(); submit(out()); };
  return (
    <section class="card" aria-labelledby="schedule-form-title">
      <div class="card-head">
        <h2 id="schedule-form-title">{name === null ? 'New schedule' : `Edit schedule ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON(out())}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field"><label for="schedule-name">Name</label><input id="schedule-name" aria-invalid={fe.invalid('name')} required value={body.name} onInput={(e) => set('name', e.currentTarget.value)} placeholder="every-minute" />{fe.at('name')}</div>
          <div class="field grow"><label for="schedule-description">Description (optional)</label><input id="schedule-description" value={body.description ?? ''} onInput={(e) => set('description', e.currentTarget.value)} /></div>
          <div class="field"><label for="schedule-lateness">Max lateness (optional)</label><input id="schedule-lateness" aria-invalid={fe.invalid('max_lateness')} value={body.max_lateness ?? ''} onInput={(e) => set('max_lateness', e.currentTarget.value)} placeholder="half the period" />{fe.at('max_lateness')}</div>
        </div>
        <fieldset class="picker">
          <legend>Intervals: runs at start + k × period</legend>
          {intervals.map((iv, i) => (
            <div key={i} class="row wrap">
              <div class="field"><label for={`schedule-period-${i}`}>Every</label><input id={`schedule-period-${i}`} required value={iv.period ?? ''} onInput={(e) => setInterval_(i, { ...iv, period: e.currentTarget.value })} placeholder="1m" /></div>
              <div class="field"><label for={`schedule-start-${i}`}>From (optional, RFC 3339)</label><input id={`schedule-start-${i}`} value={iv.start ?? ''} onInput={(e) => setInterval_(i, { ...iv, start: e.currentTarget.value })} placeholder="2025-01-06T08:00:00Z" /></div>
              {intervals.length > 1 && <button type="button" class="btn small danger" onClick={() => setInterval_(i, null)}>Remove</button>}
            </div>
          ))}
          <button type="button" class="btn small" onClick={() => set('intervals', [...intervals, { period: '1h' }])}>Add an interval</button>
        </fieldset>
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

// TrendRuleForm: a trend rule's selector, window, interval and expression,
// with a backtest of the fields as they are (not saved) over stored data.
export function TrendRuleForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const [body, setBody] = useState<Entity>(() => ({
    selector: 'prophasis_value{plugin="disk"}', window: '6h', interval: '5m',
    expr: 'timeleft(window, 100) < duration("24h") ? "critical" : "ok"', ...initial, name: name === null ? '' : initial.name,
  }));
  const { err, busy, submit } = useSubmit('trend-rules', name, onSaved);
  const fe = fieldErrors(err, ['name', 'selector', 'window', 'interval', ['expr', /\bexpr(ession)?\b/]]);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  const out = (): Entity => {
    const o: Entity = { ...body };
    for (const k of ['description', 'interval']) if (!o[k]) delete o[k];
    if (!o.disabled) delete o.disabled;
    return o;
  };
  const save = (e: Event) => { e.preventDefault(); submit(out()); };
  return (
    <section class="card" aria-labelledby="trend-form-title">
      <div class="card-head">
        <h2 id="trend-form-title">{name === null ? 'New trend rule' : `Edit trend rule ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON(out())}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field"><label for="trend-name">Name</label><input id="trend-name" aria-invalid={fe.invalid('name')} required value={body.name} onInput={(e) => set('name', e.currentTarget.value)} placeholder="disk-full" />{fe.at('name')}</div>
          <div class="field grow"><label for="trend-description">Description (optional)</label><input id="trend-description" value={body.description ?? ''} onInput={(e) => set('description', e.currentTarget.value)} /></div>
        </div>
        <div class="row wrap">
          <div class="field grow"><label for="trend-selector">Series (a PromQL selector)</label><input id="trend-selector" aria-invalid={fe.invalid('selector')} class="mono" required value={body.selector ?? ''} onInput={(e) => set('selector', e.currentTarget.value)} />{fe.at('selector')}</div>
          <div class="field"><label for="trend-window">Window</label><input id="trend-window" aria-invalid={fe.invalid('window')} required value={body.window ?? ''} onInput={(e) => set('window', e.currentTarget.value)} placeholder="6h" />{fe.at('window')}</div>
          <div class="field"><label for="trend-interval">Every</label><input id="trend-interval" aria-invalid={fe.invalid('interval')} value={body.interval ?? ''} onInput={(e) => set('interval', e.currentTarget.value)} placeholder="5m" />{fe.at('interval')}</div>
        </div>
        <div class="field">
          <label for="trend-expr">Expression (docs/trend-rules.md), yielding a state</label>
          <textarea id="trend-expr" aria-invalid={fe.invalid('expr')} class="mono" rows={4} spellcheck={false} required value={body.expr ?? ''} onInput={(e) => set('expr', e.currentTarget.value)} />
          {fe.at('expr')}
        </div>
        <label class="check"><input type="checkbox" checked={!!body.disabled} onChange={(e) => set('disabled', e.currentTarget.checked)} /> Disabled</label>
        <TrendBacktest name={name ?? ''} rule={out} />
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}

// Members of a service are written one per line: "host H", "check H C P"
// (plugin P run by check C on host H), "service S", "trend R" or "trend R H".
export function memberLine(m: Entity): string {
  if (m.service) return `service ${m.service}`;
  if (m.trend) return `trend ${m.trend}${m.host ? ` ${m.host}` : ''}`;
  if (m.plugin) return `check ${m.host} ${m.check ?? ''} ${m.plugin}`;
  return `host ${m.host}`;
}

export function parseMembers(text: string): Entity[] | string {
  const out: Entity[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const f = raw.trim().split(/\s+/).filter(Boolean);
    if (f.length === 0) continue;
    const bad = `line ${i + 1}: "${raw.trim()}" is not host H, check H C P, service S, trend R or trend R H`;
    if (f[0] === 'host' && f.length === 2) out.push({ host: f[1] });
    else if (f[0] === 'check' && f.length === 4) out.push({ host: f[1], check: f[2], plugin: f[3] });
    else if (f[0] === 'service' && f.length === 2) out.push({ service: f[1] });
    else if (f[0] === 'trend' && (f.length === 2 || f.length === 3)) out.push(f.length === 3 ? { trend: f[1], host: f[2] } : { trend: f[1] });
    else return bad;
  }
  return out;
}

interface GroupDraft { name: string; k: string; members: string }

// ServiceForm: a service's dependencies, redundancy groups and rules (how
// member states count, servicerules.tsx).
export function ServiceForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const [svc, setSvc] = useState<string>(name === null ? '' : initial.name);
  const [description, setDescription] = useState<string>(initial.description ?? '');
  const [deps, setDeps] = useState<string>(((initial.dependencies ?? []) as Entity[]).map(memberLine).join('\n'));
  const [groups, setGroups] = useState<GroupDraft[]>(((initial.redundancy_groups ?? []) as Entity[]).map((g) => ({ name: g.name, k: String(g.k), members: (g.members ?? []).map(memberLine).join('\n') })));
  const [counts, setCounts] = useState<Counts>(() => countsOf(initial.rules));
  const [ignoreMaint, setIgnoreMaint] = useState<boolean>(!!initial.rules?.ignore_maintenance);
  const [ignoreAck, setIgnoreAck] = useState<boolean>(!!initial.rules?.ignore_acknowledged);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const { err, busy, submit } = useSubmit('services', name, onSaved);
  const fe = fieldErrors(err, [['rules', /rules\./], ['deps', /dependenc/i], ['groups', /redundancy/i], 'name']);
  const build = (): Entity | null => {
    const errs: Record<string, string> = {};
    const o: Entity = { ...initial, name: svc };
    delete o.id; delete o.created_at; delete o.updated_at;
    if (description) o.description = description; else delete o.description;
    const d = parseMembers(deps);
    if (typeof d === 'string') errs.deps = d; else if (d.length) o.dependencies = d; else delete o.dependencies;
    const rg: Entity[] = [];
    groups.forEach((g, i) => {
      const m = parseMembers(g.members);
      if (typeof m === 'string') errs[`g${i}`] = m;
      else rg.push({ name: g.name, k: Number(g.k), members: m });
    });
    if (rg.length) o.redundancy_groups = rg; else delete o.redundancy_groups;
    const r = rulesOf(counts, ignoreMaint, ignoreAck);
    if (r.error) errs.rules = r.error; else if (r.rules) o.rules = r.rules; else delete o.rules;
    setFieldErr(errs);
    return Object.keys(errs).length ? null : o;
  };
  const save = (e: Event) => {
    e.preventDefault();
    const o = build();
    if (o) submit(o);
  };
  const setGroup = (i: number, g: GroupDraft | null) => {
    const xs = groups.slice();
    if (g) xs[i] = g; else xs.splice(i, 1);
    setGroups(xs);
  };
  return (
    <section class="card" aria-labelledby="service-form-title">
      <div class="card-head">
        <h2 id="service-form-title">{name === null ? 'New service' : `Edit service ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => { const o = build(); if (o) onJSON(o); }}>Edit as JSON</button>
      </div>
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          <div class="field"><label for="service-name">Name</label><input id="service-name" required value={svc} onInput={(e) => setSvc(e.currentTarget.value)} placeholder="website" aria-invalid={fe.invalid('name')} />{fe.at('name')}</div>
          <div class="field grow"><label for="service-description">Description (optional)</label><input id="service-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} /></div>
        </div>
        <p class="small muted">Members, one per line: <code>host web1</code>, <code>check web1 res load</code> (host, check, plugin), <code>service database</code>, <code>trend disk.fill</code> or <code>trend disk.fill db1</code>.</p>
        <div class="field">
          <label for="service-deps">Dependencies (each must be up)</label>
          <textarea id="service-deps" class="mono" rows={3} value={deps} onInput={(e) => setDeps(e.currentTarget.value)} aria-invalid={fieldErr.deps ? true : undefined} aria-describedby="service-deps-err" />
          <div id="service-deps-err" role="alert">{fieldErr.deps && <div class="field-error">{fieldErr.deps}</div>}</div>
          {fe.at('deps')}
        </div>
        {groups.map((g, i) => (
          <fieldset key={i} class="picker">
            <legend>Redundancy group</legend>
            <div class="row wrap">
              <div class="field"><label for={`service-g${i}-name`}>Name</label><input id={`service-g${i}-name`} required value={g.name} onInput={(e) => setGroup(i, { ...g, name: e.currentTarget.value })} /></div>
              <div class="field"><label for={`service-g${i}-k`}>At least this many up</label><input id={`service-g${i}-k`} type="number" min="1" required value={g.k} onInput={(e) => setGroup(i, { ...g, k: e.currentTarget.value })} /></div>
              <button type="button" class="btn small danger" onClick={() => setGroup(i, null)}>Remove group</button>
            </div>
            <div class="field">
              <label for={`service-g${i}-members`}>Members</label>
              <textarea id={`service-g${i}-members`} class="mono" rows={3} value={g.members} onInput={(e) => setGroup(i, { ...g, members: e.currentTarget.value })} aria-describedby={`service-g${i}-err`} />
              <div id={`service-g${i}-err`} role="alert">{fieldErr[`g${i}`] && <div class="field-error">{fieldErr[`g${i}`]}</div>}</div>
            </div>
          </fieldset>
        ))}
        <div><button type="button" class="btn small" onClick={() => setGroups([...groups, { name: `group${groups.length + 1}`, k: '1', members: '' }])}>Add a redundancy group</button></div>
        {fe.at('groups')}
        <ServiceRulesFields counts={counts} onCounts={setCounts} ignoreMaintenance={ignoreMaint} onIgnoreMaintenance={setIgnoreMaint}
          ignoreAcknowledged={ignoreAck} onIgnoreAcknowledged={setIgnoreAck} error={fieldErr.rules || (fe.field === 'rules' ? err?.message : undefined)} />
        {fe.rest}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}
