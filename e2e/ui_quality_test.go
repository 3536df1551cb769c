package e2e

// Quality checks of every page of the web UI in real Chromium (issue 7:
// responsive, accessible, both themes): no page is wider than the screen at
// 375 px or at 1920 px; every form control, button and link has an
// accessible name; the keyboard reaches the navigation and a primary
// button, Enter works them, and the focus shows; light and dark themes give
// text enough contrast.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/prophasis/prophasis/wire"
)

// qualityServer starts a server with something on every page: a host with
// results, a service, a check, a schedule, an alert module and rule (and so
// an alert), a trend rule, a silence, a group.
func qualityServer(t *testing.T) *uiServer {
	t.Helper()
	srv := startUIServer(t)
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/manage/v1/plugins", map[string]any{"name": "uidisk", "kind": "exec", "entrypoint": "x", "classifier": `if values[1] > 90 then return "critical" end return "ok"`}},
		{"/manage/v1/hosts", map[string]any{"name": "web1", "description": "front web server"}},
		{"/manage/v1/hosts", map[string]any{"name": "db1"}}, // no results: unknown
		{"/manage/v1/groups", map[string]any{"name": "webservers", "hosts": []string{"web1"}}},
		{"/manage/v1/schedules", map[string]any{"name": "1m", "intervals": []map[string]string{{"period": "1m"}}}},
		{"/manage/v1/checks", map[string]any{"name": "res", "plugins": []string{"uidisk"}, "hosts": []string{"web1"}, "schedule": "1m"}},
		{"/manage/v1/services", map[string]any{"name": "website", "dependencies": []map[string]string{{"host": "web1"}}}},
		{"/manage/v1/alert-modules", map[string]any{"name": "hook", "kind": "webhook", "config": map[string]any{"url": "http://127.0.0.1:9/hook", "secret": "s3cret-value"}}},
		{"/manage/v1/alert-rules", map[string]any{"name": "disk-critical", "to": []string{"critical"}, "modules": []string{"hook"}}},
		{"/manage/v1/trend-rules", map[string]any{"name": "disk-fill", "selector": `prophasis_value{plugin="uidisk"}`, "window": "10m", "interval": "1m", "expr": `last(window) > 90 ? "critical" : "ok"`}},
		{"/manage/v1/silences", map[string]any{"name": "patch-night", "weekly": map[string]any{"days": []string{"tue"}, "at": "02:00", "duration": "2h", "timezone": "UTC"}}},
	} {
		srv.mustJSON("POST", c.path, c.body)
	}
	for i, v := range []float64{50, 60, 95} {
		r := wire.Result{Host: "web1", Plugin: "uidisk", Check: "res", Value: val(v), Duration: 0.01,
			Timestamp: time.Now().Add(time.Duration(i-3) * time.Minute).UnixMilli(), Message: fmt.Sprintf("disk %g%% full", v)}
		if code, body := srv.do("POST", "/agent/v1/results", "application/json", resultsBody(t, r)); code != 200 {
			t.Fatalf("push: %d %s", code, body)
		}
	}
	return srv
}

// qualityPages are the pages checked: every page of the navigation and
// every configuration tab.
var qualityPages = []string{
	"/", "/hosts/web1", "/hosts/web1?check=res&plugin=uidisk", "/hosts/web1/dashboard", "/services/website", "/alerts", "/dashboards", "/explore?q=prophasis_value",
	"/config/hosts", "/config/groups", "/config/checks", "/config/schedules", "/config/plugins", "/config/services",
	"/config/alert-rules", "/config/trend-rules", "/config/alert-modules", "/config/silences", "/config/mesh", "/config/users", "/config/tokens",
	"/system-log",
}

// a11yProblemsJS lists what is wrong on the page: form controls without a
// label, aria-label or aria-labelledby; buttons and links without a name
// that says something (a letter or digit: "×" or "☰" alone is no name);
// images and charts without a name; a page wider than the window or than W, the
// screen's width (under a phone's emulation Chromium widens the window to
// fit a page that is too wide, so innerWidth alone would hide it).
const a11yProblemsJS = `((W) => {
  const out = [];
  const text = (e) => (e.textContent || '').trim();
  const byIds = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean).map(text).join(' ').trim();
  const label = (e) => {
    const al = (e.getAttribute('aria-label') || '').trim();
    if (al) return al;
    const lb = e.getAttribute('aria-labelledby');
    if (lb && byIds(lb)) return byIds(lb);
    if (e.labels) for (const l of e.labels) if (text(l)) return text(l);
    return '';
  };
  const desc = (e) => e.outerHTML.slice(0, 140);
  for (const e of document.querySelectorAll('input, select, textarea')) {
    if (e.type === 'hidden') continue;
    if (!label(e)) out.push('form control without a name: ' + desc(e));
  }
  const says = (s) => /[\p{L}\p{N}]/u.test(s);
  for (const e of document.querySelectorAll('button, [role=button], a[href]')) {
    const alt = [...e.querySelectorAll('img[alt]')].map((i) => i.alt).join(' ');
    const n = label(e) || text(e) || alt;
    if (!says(n)) out.push((e.tagName === 'A' ? 'link' : 'button') + ' without a name: ' + desc(e));
  }
  for (const e of document.querySelectorAll('img:not([alt])')) out.push('image without alt: ' + desc(e));
  for (const e of document.querySelectorAll('[role=img]')) {
    if (e.closest('[aria-hidden=true]')) continue;
    if (!says(label(e)) && !e.querySelector('title')) out.push('image (a chart, an icon) without a name: ' + desc(e));
  }
  const w = Math.min(window.innerWidth, W);
  if (document.documentElement.scrollWidth > w) {
    const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)
      .filter((e) => !e.closest('.table-wrap, .picker-options, pre, .messages')).slice(-3).map(desc);
    out.push('the page is ' + document.documentElement.scrollWidth + ' px wide on a ' + w + ' px screen; too wide: ' + wide.join(' | '));
  }
  return out;
})`

// checkPageQuality fails the test with the page's problems (a11yProblemsJS)
// on a screen width px wide.
func checkPageQuality(ctx context.Context, what string, width int) {
	t := browserT(ctx)
	t.Helper()
	for _, p := range evalJS[[]string](ctx, fmt.Sprintf("%s(%d)", a11yProblemsJS, width)) {
		t.Errorf("%s: %s", what, p)
	}
}

// waitPage waits for a page's heading and for its data to load.
func waitPage(ctx context.Context, path string) {
	browserT(ctx).Helper()
	waitJS(ctx, "the page "+path, `document.querySelector('#main h1') && ![...document.querySelectorAll('[aria-live=polite]')].some(e => e.textContent.includes('loading'))`, 15*time.Second)
	time.Sleep(400 * time.Millisecond) // charts size themselves after the data
}

// TestUIQualityEveryPage visits every page at 375 px and at 1920 px wide,
// with each configuration tab's form opened too: nothing wider than the
// window, every control, button and link named.
func TestUIQualityEveryPage(t *testing.T) {
	srv := qualityServer(t)
	for _, size := range []struct {
		name string
		w, h int
	}{{"phone", phoneWidth, phoneHeight}, {"desktop", desktopWidth, desktopHeight}} {
		t.Run(size.name, func(t *testing.T) {
			ctx := newBrowser(t, size.w, size.h)
			navigate(ctx, srv.URL+"/")
			waitVisible(ctx, loginUserSel)
			checkPageQuality(ctx, "login", size.w)
			uiLogin(ctx, srv.URL+"/", srv.Admin)
			for _, path := range qualityPages {
				navigate(ctx, srv.URL+path)
				waitPage(ctx, path)
				checkPageQuality(ctx, path, size.w)
				name := strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-", "&", "-").Replace(path), "-")
				if name == "" {
					name = "overview"
				}
				screenshot(ctx, name)
				// A configuration tab's form (New, Add host); the tokens and
				// mesh tabs are forms already.
				if !strings.HasPrefix(path, "/config/") || path == "/config/tokens" || path == "/config/mesh" {
					continue
				}
				opened := evalJS[bool](ctx, `(() => { const b = [...document.querySelectorAll('#main .page-head button.primary')].find(b => ['New', 'Add host'].includes(b.textContent.trim())); if (!b) return false; b.click(); return true })()`)
				if !opened {
					t.Errorf("%s: no New button", path)
					continue
				}
				waitJS(ctx, "the form of "+path, `document.querySelector('#main form')`, 10*time.Second)
				time.Sleep(300 * time.Millisecond)
				checkPageQuality(ctx, path+" (form)", size.w)
				screenshot(ctx, name+"-form")
			}
			// The phone's menu, opened.
			if size.w < 700 {
				clickText(ctx, "button", "☰ Menu")
				checkPageQuality(ctx, "menu", size.w)
			}
			noPageErrors(ctx)
		})
	}
}

// focusInfo is what the page says of the focused element.
type focusInfo struct {
	Desc, Text, Href string
	Nav, Primary     bool
	Visible          bool // :focus-visible with an outline of some width
}

const focusInfoJS = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {desc: 'body'};
  const s = getComputedStyle(e);
  return {desc: e.outerHTML.slice(0, 100), text: (e.textContent || '').trim(), href: e.getAttribute('href') || '',
    nav: !!e.closest('nav#nav'), primary: e.matches('.btn.primary'),
    visible: e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1};
})()`

// tabTo presses Tab until the focused element satisfies ok (at most max
// times) and returns it; every element focused on the way must show its
// focus.
func tabTo(ctx context.Context, what string, max int, ok func(focusInfo) bool) focusInfo {
	t := browserT(ctx)
	t.Helper()
	for range max {
		do(ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		f := evalJS[focusInfo](ctx, focusInfoJS)
		if f.Desc != "body" && !f.Visible {
			t.Errorf("the keyboard focus does not show on %s", f.Desc)
		}
		if ok(f) {
			return f
		}
	}
	t.Fatalf("%d presses of Tab did not reach %s", max, what)
	return focusInfo{}
}

// TestUIQualityKeyboard: from a page's top, Tab reaches the skip link, the
// main navigation (Enter follows a link) and then the page's primary
// button (Enter presses it), and the focus shows all along.
func TestUIQualityKeyboard(t *testing.T) {
	srv := qualityServer(t)
	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/", srv.Admin)
	navigate(ctx, srv.URL+"/")
	waitPage(ctx, "/")

	skip := tabTo(ctx, "the skip link", 1, func(f focusInfo) bool { return f.Text == "Skip to content" })
	if !evalJS[bool](ctx, `document.activeElement.getBoundingClientRect().left >= 0`) {
		t.Errorf("the focused skip link is off screen: %+v", skip)
	}
	tabTo(ctx, "the main navigation", 10, func(f focusInfo) bool { return f.Nav })
	tabTo(ctx, "Configuration in the navigation", 10, func(f focusInfo) bool { return f.Nav && f.Text == "Configuration" })
	screenshot(ctx, "focus-nav")
	do(ctx, "press Enter", chromedp.KeyEvent(kb.Enter))
	waitJS(ctx, "the configuration page", `location.pathname === '/config/hosts' && document.querySelector('#main h1')?.textContent === 'Hosts'`, 10*time.Second)
	waitJS(ctx, "the focus on the new page", `document.activeElement === document.querySelector('#main')`, 5*time.Second)
	f := tabTo(ctx, "the primary button", 40, func(f focusInfo) bool { return f.Primary })
	if f.Text != "Add host" {
		t.Errorf("the first primary button is %q, want Add host", f.Text)
	}
	screenshot(ctx, "focus-primary")
	do(ctx, "press Enter", chromedp.KeyEvent(kb.Enter))
	waitJS(ctx, "the host form", `document.querySelector('#host-name')`, 10*time.Second)
	noPageErrors(ctx)
}

// contrastJS returns, for each kind of text on the page, its colour, the
// colour behind it (the nearest opaque background) and their contrast ratio
// (WCAG 2: (L1 + 0.05) / (L2 + 0.05) of relative luminances).
const contrastJS = `(() => {
  const rgb = (s) => { const m = s.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?/); return m ? {r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4]} : null; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const out = [];
  const kinds = {'body text': 'body', 'text on a card': '#main .card p:not(.muted), #main .card td, #main .card strong', 'muted text': '#main .muted',
    'a link': '#main a[href]:not(.btn)', 'the navigation': '#nav a', 'a primary button': '.btn.primary:not(:disabled)', 'a field': '#main input:not([type=checkbox])',
    'an error': '.field-error, .error'};
  for (const [what, sel] of Object.entries(kinds)) {
    const e = [...document.querySelectorAll(sel)].find((x) => x.getBoundingClientRect().width > 0);
    if (!e) continue;
    const fg = rgb(getComputedStyle(e).color), b = bg(e);
    const l1 = lum(fg), l2 = lum(b);
    out.push({what, fg: getComputedStyle(e).color, bg: 'rgb(' + b.r + ', ' + b.g + ', ' + b.b + ')', ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05), bgLum: lum(bg(document.body))});
  }
  // Every kind of state badge and count on the page.
  const seen = new Set();
  for (const e of document.querySelectorAll('.badge, .count, .tabs a[aria-current=page]')) {
    const key = e.className + ' ' + (e.getAttribute('aria-current') || '');
    if (seen.has(key) || e.getBoundingClientRect().width === 0) continue;
    seen.add(key);
    const fg = rgb(getComputedStyle(e).color), b = bg(e);
    const l1 = lum(fg), l2 = lum(b);
    out.push({what: 'a ' + e.tagName.toLowerCase() + '.' + e.className.split(' ').join('.') + ' (' + e.textContent.trim().slice(0, 20) + ')', fg: getComputedStyle(e).color, bg: 'rgb(' + b.r + ', ' + b.g + ', ' + b.b + ')', ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05), bgLum: lum(bg(document.body))});
  }
  return out;
})()`

type contrastPair struct {
	What, Fg, Bg string
	Ratio, BgLum float64
}

// TestUIQualityThemes switches the theme with the top bar's toggle (system
// → light → dark) and checks, in each, the pages' text contrast (at least
// 4.5:1) and that the theme is what it says.
func TestUIQualityThemes(t *testing.T) {
	srv := qualityServer(t)
	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/", srv.Admin)
	for _, theme := range []string{"light", "dark"} {
		click(ctx, "button.theme-toggle")
		waitJS(ctx, "the "+theme+" theme", `document.documentElement.dataset.theme === `+jsString(theme)+` && localStorage.getItem('prophasis.theme') === `+jsString(theme), 5*time.Second)
		for _, path := range []string{"/", "/hosts/web1", "/alerts", "/config/checks", "/config/alert-modules", "/system-log"} {
			navigate(ctx, srv.URL+path)
			waitPage(ctx, path)
			if path == "/config/alert-modules" {
				clickText(ctx, "button", "New")
				typeText(ctx, "#module-name", "x")
				typeText(ctx, "#module-url", "bad")
				clickText(ctx, "button[type=submit]", "Save")
				waitJS(ctx, "a field error", `document.querySelector('.field-error')`, 10*time.Second)
			}
			pairs := evalJS[[]contrastPair](ctx, contrastJS)
			if len(pairs) == 0 || pairs[0].What != "body text" {
				t.Fatalf("%s %s: no body text measured: %+v", theme, path, pairs)
			}
			if dark := pairs[0].BgLum < 0.2; dark != (theme == "dark") {
				t.Errorf("%s %s: the page's background (luminance %.2f) does not look %s", theme, path, pairs[0].BgLum, theme)
			}
			for _, p := range pairs {
				if p.Ratio < 4.5 {
					t.Errorf("%s %s: %s: %s on %s, contrast %.2f:1 (want 4.5:1)", theme, path, p.What, p.Fg, p.Bg, p.Ratio)
				}
			}
			if path == "/" {
				t.Logf("%s: %+v", theme, pairs)
			}
		}
		screenshot(ctx, theme)
	}
	noPageErrors(ctx)
}
