// From Explore to a dashboard: put the query being explored on a dashboard,
// as a new panel of an existing or a new dashboard, or (when Explore was
// opened from a panel: ?dash=NAME&panel=I) back into that panel. It uses
// the dashboards API like every other page; viewers do not see it.
import { useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, useFetch, useIsAdmin } from '../components';
import { hrefWith } from '../router';
import { createUnique, type Dashboard, exportDocument, getDashboard, listDashboards, slug, updateDashboard } from './dashdoc';

const NEW = '\u0000new';

export function ToDashboard({ query, dash, panel }: { query: string; dash?: string; panel?: number }) {
  const admin = useIsAdmin();
  const all = useFetch(() => (admin ? listDashboards() : Promise.resolve([] as Dashboard[])), [admin]);
  const [target, setTarget] = useState(dash ?? '');
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<api.ApiError | null>(null);
  const [done, setDone] = useState<{ name: string; title: string; what: string } | null>(null);
  if (!admin || !query.trim()) return null;
  const from = dash ? all.data?.find((d) => d.name === dash) : undefined;
  const fromPanel = from && panel !== undefined ? from.panels[panel] : undefined;

  const save = async (replace: boolean) => {
    setBusy(true); setError(null); setDone(null);
    try {
      if (target === NEW || !target) {
        const t = title.trim() || 'Explored';
        const d = await createUnique({ name: slug(t), title: t, variables: [], panels: [{ title: query.slice(0, 80), type: 'timeseries', query }] });
        setDone({ name: d.name, title: t, what: 'created with this query' });
      } else {
        // Read it fresh: someone may have changed it since the list was fetched.
        const d = exportDocument(await getDashboard(target));
        const panels = [...d.panels];
        if (replace && panel !== undefined && panels[panel]) panels[panel] = { ...panels[panel], query };
        else panels.push({ title: query.slice(0, 80), type: 'timeseries', query });
        await updateDashboard(d.name, { ...d, panels });
        setDone({ name: d.name, title: d.title, what: replace ? `panel "${panels[panel!].title}" updated` : 'a panel added' });
      }
      all.reload();
    } catch (e) {
      setError(e as api.ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="card to-dashboard">
      {fromPanel && (
        <div class="row">
          <span>From panel <strong>{fromPanel.title || `#${panel! + 1}`}</strong> of <a href={`/dashboards/${encodeURIComponent(from!.name)}`}>{from!.title}</a></span>
          <button type="button" class="btn small primary" disabled={busy || fromPanel.query === query} onClick={() => save(true)}>Save query to the panel</button>
        </div>
      )}
      <div class="row">
        <label for="to-dash">Add to dashboard</label>
        <select id="to-dash" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
          <option value="">Choose…</option>
          {(all.data ?? []).map((d) => <option key={d.name} value={d.name}>{d.title || d.name}</option>)}
          <option value={NEW}>A new dashboard…</option>
        </select>
        {target === NEW && (
          <>
            <label for="to-dash-title" class="sr-only">New dashboard's title</label>
            <input id="to-dash-title" placeholder="Title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          </>
        )}
        <button type="button" class="btn small" disabled={busy || !target} onClick={() => save(false)}>Add panel</button>
      </div>
      <ErrorBox error={error ?? all.error} />
      {done && (
        <p class="small" role="status">
          <a href={hrefWith(`/dashboards/${encodeURIComponent(done.name)}`, {})}>{done.title}</a>: {done.what}.
        </p>
      )}
    </div>
  );
}
