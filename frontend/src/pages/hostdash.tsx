// A host's automatic dashboard: for every check on the host, the charts its
// plugin's graph hints ask for (docs/plugins.md#graph-hints), or a value
// chart and a state timeline for a plugin without hints. It can be saved as
// an ordinary dashboard (stored by the server) to edit.
import { useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, Loading, useFetch } from '../components';
import { navigate } from '../router';
import { createUnique, type Dashboard, type Panel } from './dashdoc';
import { DashboardView } from './dashview';

interface Hint { metric: string; unit?: string; help?: string; chart: string; min?: number; max?: number }

export async function hostDashboard(host: string): Promise<Dashboard> {
  const [states, plugins] = await Promise.all([
    api.get<api.States>('/manage/v1/states', { host }),
    api.get<{ name: string; version?: string }[]>('/manage/v1/plugins'),
  ]);
  const checks = states.checks.slice().sort((a, b) => `${a.plugin}/${a.check}`.localeCompare(`${b.plugin}/${b.check}`));
  const hints = new Map<string, Hint[]>();
  await Promise.all([...new Set(checks.map((c) => c.plugin))].map(async (name) => {
    const p = plugins.find((x) => x.name === name);
    if (!p?.version) return;
    try {
      const v = await api.get<{ manifest?: { graphs?: Hint[] } }>(`/manage/v1/plugins/${encodeURIComponent(name)}/versions/${encodeURIComponent(p.version)}`);
      if (Array.isArray(v.manifest?.graphs)) hints.set(name, v.manifest!.graphs!);
    } catch { /* a plugin made by hand has no published version: default charts */ }
  }));
  const q = api.promString;
  const panels: Panel[] = [];
  for (const c of checks) {
    const sel = `host=${q(host)}, check=${q(c.check ?? '')}`;
    const name = `${c.check ? c.check + '/' : ''}${c.plugin}`;
    const hs = hints.get(c.plugin) ?? [{ metric: 'value', chart: 'line' }, { metric: 'state', chart: 'state' }];
    const metricOf = (h: Hint) => (h.metric === 'value' ? 'prophasis_value' : h.metric === 'state' ? 'prophasis_state' : `prophasis_${c.plugin}_${h.metric}`);
    const pluginOf = (h: Hint) => (h.metric === 'value' || h.metric === 'state' ? `, plugin=${q(c.plugin)}` : '');
    // Stacked hints of several metrics share one chart, stacked in hint order.
    const stackedHints = hs.filter((h) => h.chart === 'stacked');
    let stackedDone = false;
    for (const h of hs) {
      if (h.chart === 'stacked' && stackedHints.length > 1) {
        if (stackedDone) continue;
        stackedDone = true;
        const names = stackedHints.map(metricOf);
        const units = [...new Set(stackedHints.map((x) => x.unit).filter(Boolean))];
        panels.push({
          title: `${name} · ${stackedHints.map((x) => x.metric).join(' + ')}${units.length === 1 ? ` (${units[0]})` : ''} · stacked`,
          type: 'timeseries', stacked: true, unit: units.length === 1 ? units[0] : undefined,
          // One selector over the names ("a or b" would keep only a: set
          // operators match series by their labels without the name).
          query: `{__name__=~${q(names.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'))}, ${sel}${pluginOf(stackedHints[0])}}`,
          help: stackedHints.map((x) => x.help).filter(Boolean).join('; '),
        });
        continue;
      }
      const type = h.chart === 'state' ? 'state' : h.chart === 'gauge' ? 'gauge' : 'timeseries';
      const title = `${name} · ${h.metric === 'value' ? 'value' : h.metric}${h.unit ? ` (${h.unit})` : ''}${h.chart === 'stacked' ? ' · stacked' : ''}`;
      panels.push({ title, type, query: `${metricOf(h)}{${sel}${pluginOf(h)}}`, unit: h.unit, help: h.help, min: h.min, max: h.max, stacked: h.chart === 'stacked' || undefined });
    }
  }
  return { name: `host-${host}`, title: `${host} (automatic)`, variables: [], panels };
}

export function HostDashboard({ name }: { name: string }) {
  const d = useFetch(() => hostDashboard(name), [name]);
  const [saveErr, setSaveErr] = useState<api.ApiError | null>(null);
  if (!d.data) {
    return (
      <div class="page">
        <h1>{name} (automatic)</h1>
        <ErrorBox error={d.error} />
        <Loading show={d.loading} />
      </div>
    );
  }
  const dash = d.data;
  return (
    <>
      {dash.panels.length === 0 && <p class="muted">No check has run on {name} yet.</p>}
      <DashboardView
        d={dash}
        crumb={<><a href="/" class="muted crumb">Overview</a> / <a href={`/hosts/${encodeURIComponent(name)}`} class="muted crumb">{name}</a></>}
        saveError={saveErr}
        onSaveCopy={async () => {
          try {
            // Stored by the server, named after the host (host-dashboard, -2 ...).
            const copy = await createUnique({ ...dash, name: `${name}-dashboard`, title: `${name} dashboard` });
            navigate(`/dashboards/${encodeURIComponent(copy.name)}?edit=1`);
          } catch (e) {
            setSaveErr(e as api.ApiError);
          }
        }}
      />
    </>
  );
}
