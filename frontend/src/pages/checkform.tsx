// A form of its own for checks: which plugins, on which hosts and groups, on
// which schedule. Fields the form does not show (attempts, flapping,
// classifiers, versions, params) are kept as they are; the JSON editor edits
// them.
import { useState } from 'preact/hooks';
import * as api from '../api';
import { useFetch } from '../components';

type Entity = Record<string, any>;

function Picker({ id, label, options, value, onChange }: { id: string; label: string; options: string[]; value: string[]; onChange: (v: string[]) => void }) {
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
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  const names = (xs?: Entity[]) => (xs ?? []).map((x) => x.name as string);
  const schedule = body.schedule ?? names(schedules.data)[0] ?? '';

  const save = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    const out: Entity = { ...body, schedule };
    for (const k of ['hosts', 'groups']) if (Array.isArray(out[k]) && out[k].length === 0) delete out[k];
    if (!out.description) delete out.description;
    try {
      if (name === null) await api.post('/manage/v1/checks', out);
      else await api.put(`/manage/v1/checks/${encodeURIComponent(name)}`, out);
      onSaved();
    } catch (x) { setErr(x as api.ApiError); } finally { setBusy(false); }
  };
  const fieldOf = (msg: string) => (/plugin/i.test(msg) ? 'plugins' : /schedule/i.test(msg) ? 'schedule' : /group/i.test(msg) ? 'groups' : /host/i.test(msg) ? 'hosts' : /name/i.test(msg) ? 'name' : '');
  const errField = err ? fieldOf(err.message) : '';
  const errAt = (f: string) => (err && errField === f ? <div class="field-error" role="alert">{err.message}</div> : null);

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
        {err && !errField && <div class="error" role="alert">{err.message}</div>}
        <div class="row">
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          <button type="button" class="btn" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}
