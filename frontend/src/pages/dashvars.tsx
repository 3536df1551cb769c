// Dashboard variables: $host, $group and $check. Their values come from the
// Prometheus API (label values of host and check) and the management API
// (groups, and each group's hosts); the selection lives in the URL
// (var-host=web1,web2), so a dashboard's view can be shared.
//
// Expansion in queries: a single-select host or check is its value (inside a
// PromQL string: host="$host"); a multi-select one is a regular expression
// of its values (host=~"$host"); a group is always the regular expression of
// its member hosts (host=~"$group"). A matcher written with = (or !=) for a
// variable that expands to a regular expression becomes =~ (or !~), so
// host="$host" keeps working when $host becomes multi-select. In a panel
// repeated by a variable, the variable is the one value of that panel. In
// titles a variable is its values, comma-separated.
import { useMemo } from 'preact/hooks';
import * as api from '../api';
import { useFetch } from '../components';
import { setQuery, useRoute } from '../router';

export type VarName = 'host' | 'group' | 'check';
export const VAR_NAMES: VarName[] = ['host', 'group', 'check'];
export interface Variable { name: VarName; multi?: boolean }

// Expanded is what a variable stands for: in queries (already escaped for a
// PromQL string) and in titles.
// regex tells that query is a regular expression.
export interface Expanded { query: string; title: string; regex: boolean }
export type Vars = Record<string, Expanded>;

const LABEL: Record<VarName, string> = { host: 'Host', group: 'Group', check: 'Check' };
// A host name never starts with '_' (store.NamePattern): this matches no host.
const NO_HOST = '__none__';

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const promEscape = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const regexOf = (values: string[]) => (values.length ? values.map(reEscape).join('|') : NO_HOST);

// expand replaces $host, $group and $check (the names vars has) in text.
export function expand(text: string, vars: Vars, as: 'query' | 'title'): string {
  if (as === 'query') {
    text = text.replace(/(!?=)(\s*)"\$(\w+)"/g, (all, op: string, sp: string, name: string) =>
      (vars[name]?.regex ? `${op === '=' ? '=~' : '!~'}${sp}"$${name}"` : all));
  }
  return text.replace(/\$(\w+)/g, (all, name: string) => (name in vars ? vars[name][as] : all));
}

// VarState is a dashboard's variables with their values and selection.
export interface VarState {
  vars: Variable[];
  options: Record<string, string[]>;
  selected: Record<string, string[]>;
  // expanded gives the expansion of every variable; with only, one
  // variable is narrowed to one of its values (a repeated panel).
  expanded: (only?: { name: string; value: string }) => Vars;
  loading: boolean;
  error: api.ApiError | null;
}

// useVariables loads the values of a dashboard's variables and reads the
// selection from the URL (the first value when the URL has none).
export function useVariables(vars: Variable[]): VarState {
  const route = useRoute();
  // The names and multi flags: a change of either recomputes the expansion.
  const names = vars.map((v) => v.name + (v.multi ? '*' : '')).join(',');
  const opts = useFetch(async () => {
    const out: Record<string, string[]> = {};
    await Promise.all(vars.map(async (v) => {
      if (v.name === 'group') out.group = (await api.get<{ name: string }[]>('/manage/v1/groups')).map((g) => g.name);
      else out[v.name] = (await api.get<string[]>(`/api/v1/label/${v.name}/values`)) ?? [];
    }));
    return out;
  }, [vars.map((v) => v.name).join(',')]);
  const options = opts.data ?? {};
  const selected: Record<string, string[]> = {};
  for (const v of vars) {
    const fromURL = route.query.get(`var-${v.name}`);
    const all = options[v.name] ?? [];
    let sel = fromURL !== null ? fromURL.split(',').filter(Boolean) : all.slice(0, 1);
    if (!v.multi) sel = sel.slice(0, 1);
    selected[v.name] = sel;
  }
  const groups = selected.group ?? [];
  const groupKey = groups.join(',');
  const members = useFetch(async () => {
    const out: Record<string, string[]> = {};
    await Promise.all(groups.map(async (g) => { out[g] = await api.get<string[]>(`/manage/v1/groups/${encodeURIComponent(g)}/hosts`); }));
    return out;
  }, [groupKey]);
  const selKey = JSON.stringify(selected);
  const memberKey = JSON.stringify(members.data ?? null);
  const expanded = useMemo(() => (only?: { name: string; value: string }) => {
    const out: Vars = {};
    for (const v of vars) {
      const one = only && only.name === v.name;
      const sel = one ? [only.value] : selected[v.name] ?? [];
      if (v.name === 'group') {
        const hosts = [...new Set(sel.flatMap((g) => members.data?.[g] ?? []))].sort();
        out[v.name] = { query: promEscape(regexOf(hosts)), title: sel.join(', '), regex: true };
      } else if (v.multi && !one) {
        out[v.name] = { query: promEscape(regexOf(sel)), title: sel.join(', '), regex: true };
      } else {
        out[v.name] = { query: promEscape(sel[0] ?? ''), title: sel[0] ?? '', regex: false };
      }
    }
    return out;
  }, [names, selKey, memberKey]);
  // Group hosts still loading: panels would query with no host yet.
  const loading = (opts.loading && !opts.data) || (groups.length > 0 && !members.data);
  return { vars, options, selected, expanded, loading, error: opts.error ?? members.error };
}

// VariablePickers are the toolbar's controls: a select for a single-select
// variable, a list of checkboxes (folded) for a multi-select one.
export function VariablePickers({ state }: { state: VarState }) {
  return (
    <>
      {state.vars.map((v) => {
        const opts = state.options[v.name] ?? [];
        const sel = state.selected[v.name] ?? [];
        const id = `var-${v.name}`;
        if (!v.multi) {
          return (
            <div class="field" key={v.name}>
              <label for={id}>{LABEL[v.name]}</label>
              <select id={id} value={sel[0] ?? ''} onChange={(e) => setQuery({ [id]: e.currentTarget.value })}>
                {opts.map((o) => <option key={o} value={o}>{o}</option>)}
              </select>
            </div>
          );
        }
        const toggle = (o: string, on: boolean) => {
          const next = on ? [...sel.filter((x) => x !== o), o] : sel.filter((x) => x !== o);
          // Keep the options' order, so the URL does not depend on click order.
          setQuery({ [id]: opts.filter((x) => next.includes(x)).join(',') || ',' });
        };
        return (
          <details class="field var-multi" key={v.name} id={id}>
            <summary><span class="small"><b>{LABEL[v.name]}</b>: {sel.length ? sel.join(', ') : 'none'}</span></summary>
            <div class="picker">
              <div class="row wrap">
                <button type="button" class="btn small" onClick={() => setQuery({ [id]: opts.join(',') || undefined })}>All</button>
                <button type="button" class="btn small" onClick={() => setQuery({ [id]: ',' })}>None</button>
              </div>
              <div class="picker-options">
                {opts.map((o) => (
                  <label class="check" key={o}>
                    <input type="checkbox" name={id} value={o} checked={sel.includes(o)} onChange={(e) => toggle(o, e.currentTarget.checked)} /> {o}
                  </label>
                ))}
              </div>
            </div>
          </details>
        );
      })}
    </>
  );
}
