import { useState } from 'preact/hooks';
import * as api from '../api';
import { ErrorBox, Loading, Section, useFetch } from '../components';
import { fmtTime } from '../util';

interface LogEntry { id: number; time: number; level: string; component?: string; host?: string; plugin?: string; check?: string; message: string }

// The server's log for users: classifier errors, failing trend rules,
// enrolments, skipped runs, notification failures (GET /manage/v1/system-log).
export function SystemLog() {
  const [level, setLevel] = useState('info');
  const [host, setHost] = useState('');
  const log = useFetch(() => api.get<LogEntry[]>('/manage/v1/system-log', { level, host: host.trim() || undefined, limit: 300 }), [level, host], 30000);
  return (
    <div class="page">
      <div class="page-head"><h1>System log</h1></div>
      <div class="toolbar">
        <div class="field">
          <label for="sl-level">Level</label>
          <select id="sl-level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            <option value="info">info and worse</option>
            <option value="warn">warn and error</option>
            <option value="error">error</option>
          </select>
        </div>
        <div class="field">
          <label for="sl-host">Host</label>
          <input id="sl-host" type="search" value={host} onChange={(e) => setHost(e.currentTarget.value)} placeholder="any" />
        </div>
      </div>
      <Section title="Entries" id="sl-entries">
        <ErrorBox error={log.error} />
        <Loading show={log.loading && !log.data} />
        {log.data && log.data.length === 0 && <p class="muted">Nothing logged.</p>}
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Time</th><th>Level</th><th class="hide-narrow">Component</th><th>Where</th><th>Message</th></tr></thead>
            <tbody>
              {(log.data ?? []).map((e) => (
                <tr key={e.id}>
                  <td class="small nowrap">{fmtTime(e.time)}</td>
                  <td><span class={`badge lvl-${e.level}`}>{e.level}</span></td>
                  <td class="hide-narrow small">{e.component ?? ''}</td>
                  <td class="small">{e.host ? <a href={`/hosts/${encodeURIComponent(e.host)}`}>{e.host}</a> : null}{[e.check, e.plugin].filter(Boolean).length ? ` ${[e.check, e.plugin].filter(Boolean).join('/')}` : ''}</td>
                  <td class="msg pre">{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </div>
  );
}
