// Helpers the configuration forms share: which field a server error names
// (so the reason shows beside that field), and the form's Save/Cancel row.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import * as api from '../api';

type Entity = Record<string, any>;

// A field's matcher: its name in the form, and a pattern that finds it in
// the server's message (default: the name as a whole word, optionally
// indexed, "to[0]").
export type FieldRule = string | [string, RegExp];

const escapeRE = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// errorField returns the field a server error names, or '' when it names
// none of them. The server's messages start with what they are about
// (`alert module "ops": config: webhook: url must be ...`); that prefix,
// with the entity's own quoted name, is dropped first, so a module called
// "url" does not point at the URL field. The word right after the prefix
// wins; otherwise the rule that matches earliest in the message.
export function errorField(err: api.ApiError | null, rules: FieldRule[]): string {
  if (!err) return '';
  const compiled = rules.map((r): [string, RegExp] =>
    typeof r === 'string' ? [r, new RegExp(`(^|[^\\w.-])(config\\.)?${escapeRE(r)}(\\[\\d+\\])?(?![\\w-])`, 'i')] : r);
  const names = compiled.map(([f]) => f.toLowerCase());
  // Drop the prefixes that say what, not which field: `alert module "x": `,
  // `config: `, `webhook: `.
  let msg = err.message;
  for (;;) {
    const m = msg.match(/^([a-z_ -]+?)(\s+"[^"]*")?:\s+/i);
    if (!m) break;
    // An entity and its name (`group "web": `) is never a field; a bare
    // word is, when a rule knows it (`expression: `).
    if (!m[2] && (names.includes(m[1].toLowerCase()) || compiled.some(([, re]) => re.test(m[1])))) break;
    msg = msg.slice(m[0].length);
  }
  msg = msg.replace(/^config\./, '');
  const first = msg.match(/^([a-z_]+)(\[\d+\])?\b/i)?.[1]?.toLowerCase();
  for (const [f] of compiled) if (first === f.toLowerCase()) return f;
  let best = '';
  let at = Infinity;
  for (const [f, re] of compiled) {
    const m = re.exec(msg);
    if (m && m.index < at) { best = f; at = m.index; }
  }
  return best;
}

// FieldErrors ties a server error to a form's fields: at(f) is the reason
// beside field f (when the error names it), invalid(f) is aria-invalid for
// its control, and rest is the reason when it names no field.
export interface FieldErrors {
  field: string;
  at: (f: string) => ComponentChildren;
  invalid: (f: string) => true | undefined;
  rest: ComponentChildren;
}

export function fieldErrors(err: api.ApiError | null, rules: FieldRule[]): FieldErrors {
  const field = errorField(err, rules);
  return {
    field,
    at: (f) => (err && field === f ? <div class="field-error" role="alert">{err.message}</div> : null),
    invalid: (f) => (err && field === f ? true : undefined),
    rest: err && !field ? <div class="error" role="alert">{err.message}</div> : null,
  };
}

// saveEntity creates (name null) or replaces the entity at /manage/v1/{path}.
export async function saveEntity<T = Entity>(path: string, name: string | null, body: Entity): Promise<T> {
  if (name === null) return api.post<T>(`/manage/v1/${path}`, body);
  return api.put<T>(`/manage/v1/${path}/${encodeURIComponent(name)}`, body);
}

// useSubmit is a form's saving: submit(body) creates or replaces the entity
// at /manage/v1/{path}, then calls onSaved; err is the server's refusal (for
// fieldErrors) and busy is set while it runs.
export function useSubmit(path: string, name: string | null, onSaved: () => void) {
  const [err, setErr] = useState<api.ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (body: Entity) => {
    setErr(null); setBusy(true);
    try { await saveEntity(path, name, body); onSaved(); } catch (x) { setErr(x as api.ApiError); } finally { setBusy(false); }
  };
  return { err, busy, submit };
}

export function FormButtons({ busy, onCancel, children }: { busy: boolean; onCancel: () => void; children?: ComponentChildren }) {
  return (
    <div class="row wrap">
      <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      <button type="button" class="btn" onClick={onCancel}>Cancel</button>
      {children}
    </div>
  );
}

// lines and unlines convert between a list and a textarea's one-per-line text.
export const lines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);
export const unlines = (xs: unknown) => (Array.isArray(xs) ? xs.join('\n') : '');
