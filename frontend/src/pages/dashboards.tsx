// Dashboards: the list (/dashboards) and one dashboard (/dashboards/{name}),
// stored by the server (/manage/v1/dashboards): everyone signed in sees the
// same ones; admins create, edit, import and delete them. Export and import
// use the document the API takes (dashdoc.ts). Dashboards the earlier
// version kept in this browser's localStorage are offered to an admin to
// move to the server in one click.
//
// The view is dashview.tsx, variables dashvars.tsx.
import { useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, Loading, Section, useFetch, useIsAdmin } from '../components';
import { navigate, useRoute } from '../router';
import {
  createDashboard, deleteDashboard, fromLegacy, getDashboard, legacyDashboards, listDashboards, parseDashboard,
  setLegacyDashboards, slug, updateDashboard, type Dashboard,
} from './dashdoc';
import { DashboardView } from './dashview';

export type { Dashboard, Panel } from './dashdoc';

export function Dashboards() {
  const route = useRoute();
  const m = route.path.match(/^\/dashboards\/([^/]+)$/);
  if (m) {
    const name = decodeURIComponent(m[1]);
    return <DashboardPage key={name} name={name} />;
  }
  return <DashboardList />;
}

// DashboardPage loads one dashboard and saves each change (PUT); a change
// the server refuses is shown and not kept.
function DashboardPage({ name }: { name: string }) {
  const f = useFetch(() => getDashboard(name), [name]);
  const [saved, setSaved] = useState<Dashboard | null>(null);
  const [saveErr, setSaveErr] = useState<api.ApiError | null>(null);
  const d = saved ?? f.data;
  if (!d) {
    return (
      <div class="page">
        <h1><a href="/dashboards" class="muted crumb">Dashboards</a> / {name}</h1>
        {f.error?.status === 404 ? <p class="error" role="alert">There is no dashboard {name}. <a href="/dashboards">All dashboards</a></p> : <ErrorBox error={f.error} />}
        <Loading show={f.loading} />
      </div>
    );
  }
  const save = async (nd: Dashboard) => {
    try {
      const out = await updateDashboard(d.name, nd);
      setSaveErr(null);
      setSaved(out);
      if (out.name !== name) navigate(`/dashboards/${encodeURIComponent(out.name)}${location.search}`, { replace: true });
    } catch (e) {
      setSaveErr(e as api.ApiError);
    }
  };
  const remove = async () => {
    try {
      await deleteDashboard(d.name);
      navigate('/dashboards');
    } catch (e) {
      setSaveErr(e as api.ApiError);
    }
  };
  return <DashboardView d={d} onChange={save} onDelete={remove} saveError={saveErr} />;
}

const NEW_PANELS: Dashboard['panels'] = [
  { title: 'Values of $host', type: 'timeseries', query: 'prophasis_value{host="$host"}' },
  { title: 'Checks not ok', type: 'stat', query: 'count(prophasis_state{host="$host"} > 0) or vector(0)' },
];

function DashboardList() {
  const admin = useIsAdmin();
  const list = useFetch(listDashboards, []);
  const [mode, setMode] = useState<'' | 'new' | 'import'>('');
  const [text, setText] = useState('');
  const [title, setTitle] = useState('');
  const [name, setName] = useState('');
  const [err, setErr] = useState('');
  const taken = new Set((list.data ?? []).map((d) => d.name));
  const toggle = (m: 'new' | 'import') => { setErr(''); setMode(mode === m ? '' : m); };

  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const d = await createDashboard({ name: name || slug(title), title: title || name, variables: [{ name: 'host' }], panels: NEW_PANELS });
      navigate(`/dashboards/${encodeURIComponent(d.name)}?edit=1`);
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  // Import posts the document as it is; the server's reason names the field.
  const doImport = async (e: Event) => {
    e.preventDefault();
    const d = parseDashboard(text, taken);
    if (typeof d === 'string') { setErr(d); return; }
    try {
      const out = await createDashboard(d);
      navigate(`/dashboards/${encodeURIComponent(out.name)}`);
    } catch (e) {
      setErr((e as Error).message);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Dashboards</h1>
        {admin && (
          <div class="row">
            <button type="button" class="btn" onClick={() => toggle('import')} aria-expanded={mode === 'import'}>Import JSON</button>
            <button type="button" class="btn primary" onClick={() => toggle('new')} aria-expanded={mode === 'new'}>New dashboard</button>
          </div>
        )}
      </div>
      <Legacy taken={taken} onMoved={list.reload} />
      {mode === 'new' && (
        <Section title="New dashboard" id="dash-new">
          <form class="form" onSubmit={create}>
            <div class="field">
              <label for="dash-new-title">Title</label>
              <input id="dash-new-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
            </div>
            <div class="field">
              <label for="dash-new-name">Name (in the URL; letters, digits, '_', '.', '-')</label>
              <input id="dash-new-name" value={name} placeholder={title ? slug(title) : ''} onInput={(e) => setName(e.currentTarget.value)}
                aria-invalid={err ? true : undefined} aria-describedby="dash-new-err" />
              <div id="dash-new-err" role="alert">{err && <div class="field-error">{err}</div>}</div>
            </div>
            <div class="row"><button type="submit" class="btn primary">Create</button></div>
          </form>
        </Section>
      )}
      {mode === 'import' && (
        <Section title="Import a dashboard" id="dash-import">
          <form class="form wide" onSubmit={doImport}>
            <div class="field">
              <label for="dash-import-json">Dashboard JSON (as Export writes it)</label>
              <textarea id="dash-import-json" class="mono" rows={10} value={text} onInput={(e) => setText(e.currentTarget.value)}
                aria-invalid={err ? true : undefined} aria-describedby="dash-import-err" />
              <div id="dash-import-err" role="alert">{err && <div class="field-error">{err}</div>}</div>
            </div>
            <div class="row"><button type="submit" class="btn primary">Import</button></div>
          </form>
        </Section>
      )}
      <Section title="Dashboards" id="dash-list">
        <ErrorBox error={list.error} />
        <Loading show={list.loading && !list.data} />
        {list.data?.length === 0 && <p class="muted">No dashboards yet.{admin ? ' Make one, or save a host’s automatic dashboard.' : ''}</p>}
        <ul class="list">
          {(list.data ?? []).map((d) => (
            <li key={d.name} class="row wrap">
              <a class="grow" href={`/dashboards/${encodeURIComponent(d.name)}`}>{d.title || d.name}</a>
              <span class="small muted">{d.panels.length} panels</span>
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}

// Legacy offers to move the dashboards the earlier version kept in this
// browser to the server (admins), then forgets them here. One the server
// refuses stays, with the reason.
function Legacy({ taken, onMoved }: { taken: Set<string>; onMoved: () => void }) {
  const admin = useIsAdmin();
  const [left, setLeft] = useState(legacyDashboards);
  const [errs, setErrs] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  if (left.length === 0) return null;
  const move = async () => {
    setBusy(true);
    const names = new Set(taken);
    const failed: any[] = [];
    const reasons: string[] = [];
    for (const old of left) {
      const d = fromLegacy(old, names);
      names.add(d.name);
      try {
        await createDashboard(d);
      } catch (e) {
        failed.push(old);
        reasons.push(`${old.title ?? d.name}: ${(e as Error).message}`);
      }
    }
    setLegacyDashboards(failed);
    setLeft(failed);
    setErrs(reasons);
    setBusy(false);
    onMoved();
  };
  return (
    <div class="card" role="region" aria-label="Dashboards in this browser">
      <p>
        {left.length} dashboard{left.length === 1 ? '' : 's'} from an earlier version {left.length === 1 ? 'is' : 'are'} kept only in this browser.{' '}
        {admin ? `Move ${left.length === 1 ? 'it' : 'them'} to the server, where everyone sees ${left.length === 1 ? 'it' : 'them'}.` : 'An admin signed in in this browser can move them to the server.'}
      </p>
      {admin && <button type="button" class="btn primary" disabled={busy} onClick={move}>Move to server</button>}
      {errs.map((e) => <p key={e} class="field-error" role="alert">{e}</p>)}
    </div>
  );
}
