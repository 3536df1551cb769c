// The dashboard document: the JSON the management API stores at
// /manage/v1/dashboards (store.Dashboard), which export writes and import
// posts as it is. The server validates it; the UI checks only what it needs
// to send it. Dashboards of the earlier version (kept in localStorage, with
// an id and a host flag) are converted by fromLegacy.
import * as api from '../api';
import type { Variable } from './dashvars';

export type PanelType = 'timeseries' | 'state' | 'stat' | 'gauge' | 'table' | 'messages';
export const PANEL_TYPES: PanelType[] = ['timeseries', 'state', 'stat', 'gauge', 'table', 'messages'];
export interface Panel {
  title: string; type: PanelType; query: string; min?: number; max?: number; unit?: string; help?: string; stacked?: boolean;
  repeat?: Variable['name'];
}
export interface Dashboard { name: string; title: string; description?: string; variables: Variable[]; panels: Panel[] }

// exportDocument is the document the API takes: the dashboard without the
// server's id and times.
export function exportDocument(d: Dashboard): Dashboard {
  const out: Dashboard = { name: d.name, title: d.title, variables: d.variables ?? [], panels: d.panels ?? [] };
  if (d.description) out.description = d.description;
  return out;
}

// slug makes a dashboard name (store.NamePattern) of a title.
export function slug(title: string): string {
  const s = title.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/-+$/, '').slice(0, 100);
  return s || 'dashboard';
}

// uniqueName returns base, or base-2, base-3 ... if taken has it.
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  return name;
}

const LEGACY_KEY = 'prophasis.dashboards';

// legacyDashboards returns what the earlier version kept in this browser.
export function legacyDashboards(): any[] {
  try {
    const v = JSON.parse(localStorage.getItem(LEGACY_KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((d) => d && typeof d === 'object' && Array.isArray(d.panels)) : [];
  } catch {
    return [];
  }
}
export const setLegacyDashboards = (ds: any[]) => (ds.length ? localStorage.setItem(LEGACY_KEY, JSON.stringify(ds)) : localStorage.removeItem(LEGACY_KEY));

const isLegacy = (d: any) => typeof d.name !== 'string' && (typeof d.id === 'string' || (d.variables && !Array.isArray(d.variables)));

// fromLegacy converts a dashboard of the earlier version: the title names
// it, and its host flag becomes the host variable.
export function fromLegacy(d: any, taken: Set<string>): Dashboard {
  const title = typeof d.title === 'string' ? d.title : '';
  return {
    name: uniqueName(slug(title || String(d.id ?? '')), taken),
    title,
    variables: d.variables?.host ? [{ name: 'host' }] : [],
    panels: (d.panels ?? []).map((p: any) => {
      const out: any = { title: p?.title ?? '', type: p?.type, query: p?.query };
      for (const k of ['min', 'max', 'unit', 'help', 'stacked']) if (p?.[k] !== undefined && p?.[k] !== null && p?.[k] !== '') out[k] = p[k];
      return out as Panel;
    }),
  };
}

// parseDashboard reads a document to import or apply: JSON, an object; a
// dashboard of the earlier version is converted, and one without a name
// is named after its title (or keeps keepName: the JSON editor of a stored
// dashboard). Fields are left for the server to judge, so its reason
// (naming the field) is what the user sees.
export function parseDashboard(text: string, taken: Set<string> = new Set(), keepName?: string): Dashboard | string {
  let d: any;
  try { d = JSON.parse(text); } catch (e) { return `not valid JSON: ${(e as Error).message}`; }
  if (!d || typeof d !== 'object' || Array.isArray(d)) return 'the document must be a JSON object (one dashboard)';
  if (isLegacy(d)) return { ...fromLegacy(d, taken), ...(keepName ? { name: keepName } : {}) };
  if (d.name === undefined || d.name === '') d.name = keepName ?? uniqueName(slug(typeof d.title === 'string' ? d.title : ''), taken);
  // The server's id and times are ignored on write; drop them so a
  // document copied from the API imports as it is.
  delete d.id; delete d.created_at; delete d.updated_at;
  return d as Dashboard;
}

const path = (name: string) => `/manage/v1/dashboards/${encodeURIComponent(name)}`;
export const listDashboards = () => api.get<Dashboard[]>('/manage/v1/dashboards');
export const getDashboard = (name: string) => api.get<Dashboard>(path(name));
// Writes send the document as it is (unknown fields too): the server
// refuses what is wrong, naming the field.
export const createDashboard = (d: Dashboard) => api.post<Dashboard>('/manage/v1/dashboards', d);
export const updateDashboard = (name: string, d: Dashboard) => api.put<Dashboard>(path(name), d);
export const deleteDashboard = (name: string) => api.del<unknown>(path(name));

// createUnique creates d, renaming it (name-2, name-3 ...) while the name
// is taken.
export async function createUnique(d: Dashboard): Promise<Dashboard> {
  const taken = new Set((await listDashboards()).map((x) => x.name));
  return createDashboard({ ...d, name: uniqueName(d.name, taken) });
}
