// The UI talks to the server through the same public APIs a script uses:
// the management API (/manage/v1) and the Prometheus-compatible API (/api/v1).
// Both answer in the envelope {"status","data"} or {"status":"error","errorType","error"}.

export type Role = 'admin' | 'viewer';
export interface Session { user: string; role: Role; csrf_token: string }

export class ApiError extends Error {
  constructor(public status: number, public errorType: string, message: string) {
    super(message);
  }
}

let csrf = '';
let onUnauthorized: () => void = () => {};

export function setSessionToken(token: string) { csrf = token; }
export function setUnauthorizedHandler(f: () => void) { onUnauthorized = f; }

async function request<T>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  let json: any = null;
  const text = await res.text();
  if (text) {
    try { json = JSON.parse(text); } catch { /* not JSON */ }
  }
  if (res.status === 401 && !opts.quiet401) onUnauthorized();
  if (!res.ok || (json && json.status === 'error')) {
    const msg = json && typeof json.error === 'string' ? json.error : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, (json && json.errorType) || 'http', msg);
  }
  return (json && 'data' in json ? json.data : json) as T;
}

// upload POSTs raw bytes (a plugin package) with extra headers.
export async function upload<T>(path: string, body: Blob, contentType: string, extra: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': contentType, ...extra };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers, body, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  let json: any = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (res.status === 401) onUnauthorized();
  if (!res.ok || (json && json.status === 'error')) {
    throw new ApiError(res.status, (json && json.errorType) || 'http', (json && json.error) || `${res.status} ${res.statusText}`);
  }
  return (json && 'data' in json ? json.data : json) as T;
}

export const get = <T>(path: string, params?: Record<string, string | number | undefined>) =>
  request<T>('GET', withParams(path, params));
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

export function withParams(path: string, params?: Record<string, string | number | undefined>): string {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// ---- session ----
export const whoAmI = () => request<Session>('GET', '/manage/v1/session', undefined, { quiet401: true });
export const login = (user: string, password: string) =>
  request<Session>('POST', '/manage/v1/session', { user, password }, { quiet401: true });
export const logout = () => request<unknown>('DELETE', '/manage/v1/session', undefined, { quiet401: true });

// ---- management types (the fields the UI uses) ----
export type StateName = 'ok' | 'minor' | 'major' | 'critical' | 'unknown';
export type ServiceState = 'ok' | 'degraded' | 'failed';

export interface CheckState {
  host: string; plugin: string; check: string; state: StateName; since: number;
  flapping?: boolean; pending?: string; pending_count?: number; time?: number;
  value?: number | null; message?: string;
}
/** What the agent mesh sees of a host whose results stopped (docs/mesh.md). */
export interface Reachability { verdict: 'alive' | 'down' | 'no_mesh_data' | 'no_mesh'; alive: number; peers: number; last_seen?: number; text?: string }
export interface HostState { host: string; state: StateName; since: number; reason?: string; reachability?: Reachability }
export interface TrendState { rule: string; labels?: Record<string, string>; state: StateName; since: number; explain?: string; error?: string }
export interface ServiceStateRow { service: string; state: ServiceState; reason?: string }
export interface States { checks: CheckState[]; hosts: HostState[]; trends: TrendState[]; services: ServiceStateRow[] }

export interface Subject {
  kind: string; host?: string; plugin?: string; check?: string; rule?: string; service?: string;
  labels?: Record<string, string>;
}
export interface Alert {
  id: string; rule: string; subject: Subject; status: string; state: string; from?: string;
  reason?: string; active_at?: string | number; fired_at?: string | number; notified?: string[] | null;
  repeats?: number; ack?: Partial<Ack> | null; silenced?: string | null;
}
export interface Ack { subject_key: string; subject: Subject; by: string; comment: string; at: string | number; expires?: string | number | null }
export interface AlertStep {
  id: number; time: string | number; alert_id: string; rule: string; subject: Subject; status: string;
  state: string; from?: string; reason?: string; active_at?: string | number; fired_at?: string | number; resolved_at?: string | number | null; notified?: string[] | null; ack?: Partial<Ack> | null;
}
export interface Event { id: number; time: number; kind: string; subject: Subject; from: number; to: number; reason?: string }
export interface Message { host?: string; plugin?: string; check?: string; timestamp?: number; time?: string; exit_status?: number; text?: string }
export interface Host { id?: number; name: string; address?: string; description?: string; labels?: Record<string, string>; created_at?: string; updated_at?: string }
export interface Agent { id: number; host: string; version?: string; os?: string; arch?: string; enrolled_at?: string; last_seen_at?: string; revoked_at?: string }
export interface Enrollment { host: string; token: string; expires_at: string }

// ---- Prometheus API ----
export interface PromSeries { metric: Record<string, string>; values?: [number, string][]; value?: [number, string] }
export interface PromResult { resultType: 'matrix' | 'vector' | 'scalar' | 'string'; result: PromSeries[] | [number, string] }

export function queryRange(query: string, start: number, end: number, step: number) {
  return get<PromResult>('/api/v1/query_range', { query, start, end, step });
}
export function queryInstant(query: string, time?: number) {
  return get<PromResult>('/api/v1/query', { query, time });
}

// A PromQL string literal: "..." with backslashes and quotes escaped.
export function promString(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}
