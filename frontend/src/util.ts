import type { StateName } from './api';

export const STATE_ORDER: StateName[] = ['critical', 'major', 'minor', 'unknown', 'ok'];
const rank: Record<string, number> = { critical: 0, failed: 0, major: 1, degraded: 1, minor: 2, unknown: 3, ok: 4 };
export const stateRank = (s: string) => rank[s] ?? 5;
export const byWorst = <T>(state: (x: T) => string, name: (x: T) => string) => (a: T, b: T) =>
  stateRank(state(a)) - stateRank(state(b)) || name(a).localeCompare(name(b));

// State numbers of events and prophasis_state: -1 unknown, 0 ok, 1 minor, 2 major, 3 critical.
export function stateFromNumber(n: number, service = false): string {
  if (service) return (['ok', 'degraded', 'failed'] as const)[n] ?? 'unknown';
  return (['ok', 'minor', 'major', 'critical'] as const)[n] ?? 'unknown';
}

export function toDate(t: string | number | null | undefined): Date | null {
  if (t === null || t === undefined || t === '' || t === 0) return null;
  const d = typeof t === 'number' ? new Date(t) : new Date(t);
  return isNaN(d.getTime()) || d.getFullYear() < 1971 ? null : d;
}

export function fmtTime(t: string | number | null | undefined): string {
  const d = toDate(t);
  if (!d) return '—';
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function fmtAgo(t: string | number | null | undefined): string {
  const d = toDate(t);
  if (!d) return '—';
  let s = Math.round((Date.now() - d.getTime()) / 1000);
  const future = s < 0;
  s = Math.abs(s);
  let out: string;
  if (s < 60) out = `${s}s`;
  else if (s < 3600) out = `${Math.floor(s / 60)}m`;
  else if (s < 86400) out = `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  else out = `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  return future ? `in ${out}` : `${out} ago`;
}

export function fmtValue(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return String(Math.round(v * 1000) / 1000);
}

export function subjectText(s: { kind?: string; host?: string; plugin?: string; check?: string; rule?: string; service?: string; labels?: Record<string, string> }): string {
  switch (s.kind) {
    case 'check': return `${s.host ?? ''} · ${s.check ? s.check + '/' : ''}${s.plugin ?? ''}`;
    case 'host': return `host ${s.host ?? ''}`;
    case 'service': return `service ${s.service ?? ''}`;
    case 'trend': {
      const l = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(', ') : '';
      return `trend ${s.rule ?? ''}${l ? ' {' + l + '}' : ''}`;
    }
    default: return [s.host, s.plugin, s.check, s.service, s.rule].filter(Boolean).join(' · ');
  }
}

export const RANGES: Record<string, number> = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400 };

// A query_range step giving about `points` points over [start, end], at least 1 s.
export function stepFor(start: number, end: number, points = 250): number {
  return Math.max(1, Math.ceil((end - start) / points));
}
