// A form of its own for plugins registered by hand (store.Plugin): how the
// agent runs it (kind, entrypoint, args, timeout) and how the server judges
// its results (classifier, history). Packages are uploaded beside it
// (plugins.tsx); a packaged plugin's checksum is kept by the server.
import { useState } from 'preact/hooks';
import { ClassifierTest } from './plugins';
import { fieldErrors, FormButtons, lines, unlines, useSubmit } from './formfields';

type Entity = Record<string, any>;

// What each kind's entrypoint is (store.Plugin.Entrypoint).
const KINDS: Record<string, { label: string; entry: string; placeholder: string }> = {
  nagios: { label: 'Nagios plugin (exit status and perfdata)', entry: 'Program: an absolute path on the host, or a path inside the package', placeholder: '/usr/lib/nagios/plugins/check_load' },
  munin: { label: 'Munin plugin', entry: 'Program: an absolute path on the host, or a path inside the package', placeholder: '/usr/share/munin/plugins/cpu' },
  exec: { label: 'Program printing a JSON object', entry: 'Program: an absolute path on the host, or a path inside the package', placeholder: 'bin/check' },
  builtin: { label: 'Built into the agent', entry: 'Collector (empty: the plugin’s name)', placeholder: 'load' },
};

const FIELDS = ['name', 'version', 'description', 'kind', 'entrypoint', 'args', 'timeout', 'history', 'classifier'];

export function PluginForm({ name, initial, onCancel, onSaved, onJSON }: { name: string | null; initial: Entity; onCancel: () => void; onSaved: () => void; onJSON: (body: Entity) => void }) {
  const [body, setBody] = useState<Entity>(() => ({ kind: 'nagios', ...initial, name: name === null ? '' : initial.name }));
  const [args, setArgs] = useState<string>(unlines(initial.args));
  const { err, busy, submit } = useSubmit('plugins', name, onSaved);
  const set = (k: string, v: unknown) => setBody({ ...body, [k]: v });
  const kind = KINDS[body.kind] ? body.kind : 'builtin';
  const fe = fieldErrors(err, FIELDS);

  const out = (): Entity => {
    const o: Entity = {};
    for (const f of FIELDS) if (body[f] !== undefined && body[f] !== null && body[f] !== '') o[f] = body[f];
    const a = lines(args);
    if (a.length) o.args = a; else delete o.args;
    if (o.history !== undefined) o.history = Number(o.history);
    if (!o.history) delete o.history;
    return o;
  };
  const save = (e: Event) => { e.preventDefault(); submit(out()); };
  const text = (f: string, label: string, props: Record<string, unknown> = {}) => (
    <div class={`field${f === 'entrypoint' || f === 'description' ? ' grow' : ''}`}>
      <label for={`plugin-${f}`}>{label}</label>
      <input id={`plugin-${f}`} name={f} value={body[f] ?? ''} onInput={(e) => set(f, e.currentTarget.value)} aria-invalid={fe.invalid(f)} {...props} />
      {fe.at(f)}
    </div>
  );

  return (
    <section class="card" aria-labelledby="plugin-form-title">
      <div class="card-head">
        <h2 id="plugin-form-title">{name === null ? 'Register a plugin' : `Edit plugin ${name}`}</h2>
        <button type="button" class="btn small" onClick={() => onJSON(out())}>Edit as JSON</button>
      </div>
      {initial.sha256 && <p class="small muted">From a package ({String(initial.sha256).slice(0, 12)}…): upload a new version to change what it runs; the fields here are the current version's.</p>}
      <form class="form wide" onSubmit={save}>
        <div class="row wrap">
          {text('name', 'Name', { required: true, placeholder: 'disk-root', readOnly: name !== null && !!initial.sha256 })}
          <div class="field">
            <label for="plugin-kind">Kind</label>
            <select id="plugin-kind" value={kind} onChange={(e) => set('kind', e.currentTarget.value)} aria-invalid={fe.invalid('kind')}>
              {Object.entries(KINDS).map(([k, v]) => <option key={k} value={k}>{k}: {v.label}</option>)}
            </select>
            {fe.at('kind')}
          </div>
          {text('version', 'Version (optional)', { placeholder: '1.0.0' })}
        </div>
        <div class="row wrap">
          {text('entrypoint', KINDS[kind].entry, { class: 'mono', placeholder: KINDS[kind].placeholder, required: kind !== 'builtin' })}
          {text('timeout', 'Timeout (empty: 10s)', { placeholder: '10s' })}
        </div>
        <div class="field">
          <label for="plugin-args">Arguments, one per line (as they are: no shell)</label>
          <textarea id="plugin-args" class="mono" rows={Math.min(8, Math.max(2, args.split('\n').length + 1))} value={args} onInput={(e) => setArgs(e.currentTarget.value)}
            aria-invalid={fe.invalid('args')} placeholder={kind === 'nagios' ? '-w\n5\n-c\n10' : ''} />
          {fe.at('args')}
        </div>
        <div class="row wrap">
          {text('description', 'Description (optional)')}
          {text('history', 'Results the classifier sees (empty: 10)', { type: 'number', min: 0, max: 1000, inputMode: 'numeric' })}
        </div>
        <div class="field">
          <label for="plugin-classifier">Classifier (Lua; empty: the default for the kind — docs/classifiers.md)</label>
          <textarea id="plugin-classifier" class="mono" spellcheck={false} rows={Math.min(16, Math.max(4, String(body.classifier ?? '').split('\n').length + 1))}
            value={body.classifier ?? ''} onInput={(e) => set('classifier', e.currentTarget.value)} aria-invalid={fe.invalid('classifier')} />
          {fe.at('classifier')}
        </div>
        {name !== null && <ClassifierTest name={name} source="" code={() => body.classifier ?? ''} />}
        {fe.rest}
        <FormButtons busy={busy} onCancel={onCancel} />
      </form>
    </section>
  );
}
