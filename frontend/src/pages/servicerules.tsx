// A service's rules (store.ServiceRules, docs/services.md): how each state of
// a host, check or trend member counts — down, impaired (the service shows
// degraded) or up — and whether members in maintenance or acknowledged count
// as up. Members that are services always count by their own state.
type Entity = Record<string, any>;

// The states a rule may name (ok is always up), and the server's defaults.
const STATES = ['minor', 'major', 'critical', 'unknown'];
const DEFAULT_DOWN = ['critical'];
const DEFAULT_IMPAIRED = ['minor', 'major', 'unknown'];

export type Counts = Record<string, 'down' | 'impaired' | 'up'>;

// effective is what the server makes of rules (store.ServiceRules.Effective):
// an empty list means its default, less what the other list names.
function effective(down: string[], impaired: string[]): { down: string[]; impaired: string[] } {
  const d = down.length ? down : DEFAULT_DOWN.filter((s) => !impaired.includes(s));
  const i = impaired.length ? impaired : DEFAULT_IMPAIRED.filter((s) => !d.includes(s));
  return { down: d, impaired: i };
}

export function countsOf(rules: Entity | undefined): Counts {
  const e = effective(rules?.down ?? [], rules?.impaired ?? []);
  const out: Counts = {};
  for (const s of STATES) out[s] = e.down.includes(s) ? 'down' : e.impaired.includes(s) ? 'impaired' : 'up';
  return out;
}

// rulesOf turns the form's choices back into rules: lists equal to the
// defaults are left out (so a service that keeps the defaults stores none),
// and the result is checked against effective, since an empty list cannot
// say "none" (it means the default): the error says so.
export function rulesOf(c: Counts, ignoreMaintenance: boolean, ignoreAcknowledged: boolean): { rules?: Entity; error?: string } {
  const down = STATES.filter((s) => c[s] === 'down');
  const impaired = STATES.filter((s) => c[s] === 'impaired');
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const r: Entity = {};
  if (!same(down, DEFAULT_DOWN)) r.down = down;
  if (!same(impaired, DEFAULT_IMPAIRED)) r.impaired = impaired;
  const e = effective(r.down ?? [], r.impaired ?? []);
  if (!same(e.down, down) || !same(e.impaired, impaired)) {
    return { error: `at least one state must count as ${down.length === 0 ? 'down' : 'impaired'} (an empty list means the default)` };
  }
  if (ignoreMaintenance) r.ignore_maintenance = true;
  if (ignoreAcknowledged) r.ignore_acknowledged = true;
  return { rules: Object.keys(r).length ? r : undefined };
}

export function ServiceRulesFields({ counts, onCounts, ignoreMaintenance, onIgnoreMaintenance, ignoreAcknowledged, onIgnoreAcknowledged, error }: {
  counts: Counts; onCounts: (c: Counts) => void;
  ignoreMaintenance: boolean; onIgnoreMaintenance: (v: boolean) => void;
  ignoreAcknowledged: boolean; onIgnoreAcknowledged: (v: boolean) => void;
  error?: string;
}) {
  return (
    <fieldset class="picker" id="service-rules" aria-describedby="service-rules-err">
      <legend>How members count <span class="muted small">(hosts, checks, trends; a member service counts by its own state)</span></legend>
      <div class="row wrap">
        {STATES.map((s) => (
          <div class="field" key={s}>
            <label for={`service-rule-${s}`}>{s === 'unknown' ? 'An' : 'A'} {s} member is</label>
            <select id={`service-rule-${s}`} value={counts[s]} onChange={(e) => onCounts({ ...counts, [s]: e.currentTarget.value as Counts[string] })}>
              <option value="down">down</option>
              <option value="impaired">impaired (degraded)</option>
              <option value="up">up</option>
            </select>
          </div>
        ))}
      </div>
      <label class="check"><input type="checkbox" id="service-ignore-maintenance" checked={ignoreMaintenance} onChange={(e) => onIgnoreMaintenance(e.currentTarget.checked)} /> Members in maintenance (a silence) count as up</label>
      <label class="check"><input type="checkbox" id="service-ignore-acknowledged" checked={ignoreAcknowledged} onChange={(e) => onIgnoreAcknowledged(e.currentTarget.checked)} /> Members whose problem is acknowledged count as up</label>
      <div id="service-rules-err" role="alert">{error && <div class="field-error">{error}</div>}</div>
    </fieldset>
  );
}
