import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from './api';
import { SessionContext } from './components';
import { navigate, useRoute } from './router';
import { setThemeChoice, themeChoice, type ThemeChoice } from './theme';
import { Overview } from './pages/overview';
import { HostPage } from './pages/host';
import { Explore } from './pages/explore';
import { Alerts } from './pages/alerts';
import { Config } from './pages/config';
import { SystemLog } from './pages/syslog';
import { Dashboards } from './pages/dashboards';
import { ServicePage } from './pages/service';
import { HostDashboard } from './pages/hostdash';

type Phase = { kind: 'checking' } | { kind: 'login'; expired?: boolean } | { kind: 'in'; session: api.Session };

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'checking' });

  useEffect(() => {
    api.setUnauthorizedHandler(() => setPhase((p) => (p.kind === 'in' ? { kind: 'login', expired: true } : p)));
    api.whoAmI().then(
      (s) => { api.setSessionToken(s.csrf_token); setPhase({ kind: 'in', session: s }); },
      () => setPhase({ kind: 'login' }),
    );
  }, []);

  if (phase.kind === 'checking') return <div class="center muted">Loading…</div>;
  if (phase.kind === 'login')
    return (
      <Login
        expired={phase.expired}
        onIn={(s) => { api.setSessionToken(s.csrf_token); setPhase({ kind: 'in', session: s }); }}
      />
    );
  return (
    <SessionContext.Provider value={phase.session}>
      <Shell
        session={phase.session}
        onLogout={async () => {
          try { await api.logout(); } catch { /* the session is gone either way */ }
          api.setSessionToken('');
          setPhase({ kind: 'login' });
        }}
      />
    </SessionContext.Provider>
  );
}

function Login({ onIn, expired }: { onIn: (s: api.Session) => void; expired?: boolean }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onIn(await api.login(user, password));
    } catch (err) {
      const ae = err as api.ApiError;
      setError(ae.status === 401 || ae.status === 400 ? 'Wrong user name or password.' : ae.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Prophasis</h1>
        {expired && <p class="muted">Your session ended; please sign in again.</p>}
        <label for="login-user">User name</label>
        <input id="login-user" name="user" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} autoFocus />
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        {error && <div class="error" role="alert">{error}</div>}
        <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <ThemeToggle />
    </main>
  );
}

function ThemeToggle() {
  const [c, setC] = useState<ThemeChoice>(themeChoice());
  const next: Record<ThemeChoice, ThemeChoice> = { auto: 'light', light: 'dark', dark: 'auto' };
  const label = { auto: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' }[c];
  return (
    <button type="button" class="btn ghost theme-toggle" title="Switch theme" aria-label={`${label}; switch`}
      onClick={() => { const n = next[c]; setThemeChoice(n); setC(n); }}>
      {c === 'auto' ? '◐' : c === 'light' ? '☀' : '☾'}<span class="hide-narrow"> {label.slice(7)}</span>
    </button>
  );
}

const NAV = [
  { href: '/', label: 'Overview', match: (p: string) => p === '/' || p.startsWith('/hosts/') || p.startsWith('/services/') },
  { href: '/dashboards', label: 'Dashboards', match: (p: string) => p.startsWith('/dashboards') },
  { href: '/explore', label: 'Explore', match: (p: string) => p.startsWith('/explore') },
  { href: '/alerts', label: 'Alerts', match: (p: string) => p.startsWith('/alerts') },
  { href: '/config/hosts', label: 'Configuration', match: (p: string) => p.startsWith('/config') },
  { href: '/system-log', label: 'System log', match: (p: string) => p.startsWith('/system-log') },
];

function Shell({ session, onLogout }: { session: api.Session; onLogout: () => void }) {
  const route = useRoute();
  const [menu, setMenu] = useState(false);
  const first = useRef(true);
  useEffect(() => {
    setMenu(false);
    // After a client-side navigation, move focus to the page (as a page load
    // would), so keyboard and screen-reader users start at the new content.
    if (first.current) { first.current = false; return; }
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [route.path]);
  const page = pageFor(route.path);
  useEffect(() => {
    document.title = page.title ? `${page.title} · Prophasis` : 'Prophasis';
  }, [page.title]);
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="topbar">
        <a href="/" class="brand">Prophasis</a>
        <button type="button" class="btn ghost menu-btn" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>☰ Menu</button>
        <nav id="nav" class={menu ? 'open' : ''} aria-label="main">
          {NAV.map((n) => (
            <a key={n.href} href={n.href} aria-current={n.match(route.path) ? 'page' : undefined}>{n.label}</a>
          ))}
        </nav>
        <div class="topbar-right">
          <ThemeToggle />
          <span class="who" title={`signed in as ${session.user} (${session.role})`}>
            {session.user} <span class="role">{session.role}</span>
          </span>
          <button type="button" class="btn ghost" onClick={onLogout}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>{page.node}</main>
    </div>
  );
}

function pageFor(path: string): { title: string; node: JSX.Element } {
  if (path === '/' || path === '/overview') return { title: 'Overview', node: <Overview /> };
  const hd = path.match(/^\/hosts\/([^/]+)\/dashboard\/?$/);
  if (hd) {
    const name = decodeURIComponent(hd[1]);
    return { title: `${name} dashboard`, node: <HostDashboard key={name} name={name} /> };
  }
  const m = path.match(/^\/hosts\/([^/]+)\/?$/);
  if (m) {
    const name = decodeURIComponent(m[1]);
    return { title: name, node: <HostPage key={name} name={name} /> };
  }
  if (path === '/dashboards' || path.startsWith('/dashboards/')) return { title: 'Dashboards', node: <Dashboards /> };
  const sv = path.match(/^\/services\/([^/]+)\/?$/);
  if (sv) {
    const name = decodeURIComponent(sv[1]);
    return { title: `service ${name}`, node: <ServicePage key={name} name={name} /> };
  }
  if (path === '/explore') return { title: 'Explore', node: <Explore /> };
  if (path === '/alerts') return { title: 'Alerts', node: <Alerts /> };
  if (path === '/config' || path === '/config/') return { title: 'Configuration', node: <Config kind="hosts" /> };
  const c = path.match(/^\/config\/([a-z-]+)\/?$/);
  if (c) return { title: `Configuration · ${c[1]}`, node: <Config kind={c[1]} /> };
  if (path === '/system-log') return { title: 'System log', node: <SystemLog /> };
  return {
    title: 'Not found',
    node: (
      <div class="card">
        <h1>Not found</h1>
        <p>No page at this address. <a href="/" onClick={(e) => { e.preventDefault(); navigate('/'); }}>Go to the overview</a>.</p>
      </div>
    ),
  };
}
