package e2e

// The browser harness: tests of the web UI drive a real Chromium (Debian's
// chromium package) with chromedp, so they stay Go tests under `go test`,
// beside the rest of the end-to-end suite, and need no Node at test time.
//
// A test starts a server with users (startUIServer), opens a browser at a
// size (newBrowser), and uses the helpers below; each helper fails the test
// itself, so a test reads as a list of steps:
//
//	srv := startUIServer(t)
//	ctx := newBrowser(t, 375, 812)
//	navigate(ctx, srv.URL+"/")
//	login(ctx, srv.Admin.User, srv.Admin.Password)
//	screenshot(ctx, "overview")

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser;
// $PROPHASIS_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one browser's whole life in a test.
const browserTimeout = 3 * time.Minute

// Screen sizes the UI must work at (issue 7: every page usable at 375 px and
// at 1920 px).
const (
	desktopWidth, desktopHeight = 1920, 1080
	phoneWidth, phoneHeight     = 375, 812
)

// credentials are a user's name and password.
type credentials struct{ User, Password string }

// uiServer is a running server with two users who can log in: an admin and
// a viewer (the bootstrap admin has no password, only the API token).
type uiServer struct {
	*serverProc
	Admin, Viewer credentials
}

// startUIServer starts the server (as startServer does, extra flags passed
// on) and creates the users "alice" (admin) and "victor" (viewer).
func startUIServer(t *testing.T, extra ...string) *uiServer {
	t.Helper()
	requireChromium(t) // fail before the slow part when there is no browser
	s := &uiServer{
		serverProc: startServer(t, "", extra...),
		Admin:      credentials{"alice", "alice-password-1"},
		Viewer:     credentials{"victor", "victor-password-1"},
	}
	for _, u := range []struct {
		c    credentials
		role string
	}{{s.Admin, "admin"}, {s.Viewer, "viewer"}} {
		s.mustJSON("POST", "/manage/v1/users", map[string]string{"name": u.c.User, "role": u.role, "password": u.c.Password})
	}
	return s
}

// mustJSON sends a JSON body with the admin token and fails the test on
// any status but 200.
func (s *uiServer) mustJSON(method, path string, body any) []byte {
	s.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	code, out := s.do(method, path, "application/json", bytes.NewReader(b))
	if code != 200 {
		s.t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
	return out
}

// requireChromium returns the browser's path, failing the test with the
// install hint when it is missing: browser tests are never skipped, and
// .ci/run installs the package.
func requireChromium(t *testing.T) string {
	t.Helper()
	p := chromiumPath
	if env := os.Getenv("PROPHASIS_CHROMIUM"); env != "" {
		p = env
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no Chromium at %s (%v): the browser tests need Debian's chromium: "+
			"apt-get install --no-install-recommends chromium (.ci/run does), or set PROPHASIS_CHROMIUM", p, err)
	}
	return p
}

type browserKey struct{}

// browserT is the test a browser context belongs to.
func browserT(ctx context.Context) *testing.T {
	t, ok := ctx.Value(browserKey{}).(*testing.T)
	if !ok {
		panic("BUG: not a context from newBrowser")
	}
	return t
}

// newBrowser starts a headless Chromium with a fresh profile and a
// width x height viewport (below 768 px wide it emulates a touch phone at
// device pixel ratio 3: as on a real phone, a page without
// <meta name="viewport" content="width=device-width"> lays out 980 px wide)
// and returns its tab's context. The browser stops
// when the test ends. Pass the context to chromedp.Do/Run or to the
// helpers here.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	return startBrowser(t, width, height)
}

// startBrowser is newBrowser with further command-line options for Chromium.
func startBrowser(t *testing.T, width, height int, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(requireChromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	opts = append(opts, extra...)
	if os.Geteuid() == 0 {
		// Chromium refuses to run its sandbox as root (CI runs as root).
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithErrorf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	var vp []chromedp.EmulateViewportOption
	if width < 768 {
		vp = append(vp, chromedp.EmulateScale(3), chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height), vp...)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	pe := &pageErrorLog{}
	if err := chromedp.Listen(ctx, pe.record); err != nil {
		t.Fatalf("listen to the page: %v", err)
	}
	ctx = context.WithValue(ctx, pageErrorsKey{}, pe)
	return context.WithValue(ctx, browserKey{}, t)
}

type pageErrorsKey struct{}

// pageErrorLog collects the page's uncaught exceptions and console.error
// calls, so a test can insist on a clean console (noPageErrors).
type pageErrorLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *pageErrorLog) record(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg = "uncaught: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		msg = "console.error:"
		for _, a := range e.Args {
			if a.Description != "" {
				msg += " " + a.Description
			} else {
				msg += " " + string(a.Value)
			}
		}
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, msg)
}

// pageErrors returns the uncaught exceptions and console.error calls of the
// browser's pages so far.
func pageErrors(ctx context.Context) []string {
	l, ok := ctx.Value(pageErrorsKey{}).(*pageErrorLog)
	if !ok {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// noPageErrors fails the test when a page threw an uncaught exception or
// called console.error.
func noPageErrors(ctx context.Context) {
	t := browserT(ctx)
	t.Helper()
	if errs := pageErrors(ctx); len(errs) > 0 {
		t.Fatalf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// do runs chromedp actions in the browser and fails the test on an error.
func do(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t := browserT(ctx)
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// waitVisible waits until an element matching the CSS selector is visible.
func waitVisible(ctx context.Context, sel string) {
	browserT(ctx).Helper()
	do(ctx, "wait for "+sel, chromedp.WaitVisible(sel))
}

// click clicks the first visible element matching the CSS selector.
func click(ctx context.Context, sel string) {
	browserT(ctx).Helper()
	do(ctx, "click "+sel, chromedp.Click(sel, chromedp.NodeVisible))
}

// typeText types text into the first visible element matching the selector.
func typeText(ctx context.Context, sel, text string) {
	browserT(ctx).Helper()
	do(ctx, "type into "+sel, chromedp.SendKeys(sel, text, chromedp.NodeVisible))
}

// textOf returns the visible text of the first element matching the selector.
func textOf(ctx context.Context, sel string) string {
	t := browserT(ctx)
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel, chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// navigate loads url and waits for the page's load event.
func navigate(ctx context.Context, url string) {
	browserT(ctx).Helper()
	do(ctx, "navigate to "+url, chromedp.Navigate(url))
}

// evalJS evaluates a JavaScript expression in the page (awaiting it when it
// is a promise) and decodes its JSON-able result into T.
func evalJS[T any](ctx context.Context, expr string) T {
	t := browserT(ctx)
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// fetchResult is what pageFetch returns.
type fetchResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// pageFetch runs fetch(path) from the page, as the UI's own code would:
// with the browser's cookies (credentials: same-origin) and the headers
// given as name/value pairs. body, when not nil, is sent as JSON.
func pageFetch(ctx context.Context, method, path string, body any, headers ...string) fetchResult {
	t := browserT(ctx)
	t.Helper()
	hdr := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		hdr[headers[i]] = headers[i+1]
	}
	init := map[string]any{"method": method, "credentials": "same-origin", "headers": hdr}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		hdr["Content-Type"] = "application/json"
		init["body"] = string(b)
	}
	initJSON, _ := json.Marshal(init)
	pathJSON, _ := json.Marshal(path)
	return evalJS[fetchResult](ctx, fmt.Sprintf(
		`fetch(%s, %s).then(async r => ({status: r.status, body: await r.text()}))`, pathJSON, initJSON))
}

// Selectors of the UI's login form; the UI keeps exactly these.
const (
	loginUserSel     = `input[name=user]`
	loginPasswordSel = `input[name=password]`
	loginSubmitSel   = `button[type=submit]`
)

// loginFormWait is how long login waits for the UI's login form to show.
const loginFormWait = 10 * time.Second

// login logs in on the page the browser shows (navigate to the server
// first): through the UI's login form when the page has one, else (a UI
// without a login form yet) by POSTing to /manage/v1/session from the page,
// logged. Either way it then checks, from the page, that the session is
// the user's.
func login(ctx context.Context, user, password string) {
	t := browserT(ctx)
	t.Helper()
	if hasLoginForm(ctx) {
		do(ctx, "fill in the login form",
			chromedp.SendKeys(loginUserSel, user, chromedp.NodeVisible),
			chromedp.SendKeys(loginPasswordSel, password, chromedp.NodeVisible),
			chromedp.Click(loginSubmitSel, chromedp.NodeVisible),
		)
		// The form posts by fetch; wait until the session exists.
		deadline := time.Now().Add(loginFormWait)
		for {
			r := pageFetch(ctx, "GET", "/manage/v1/session", nil)
			if r.Status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("login form as %s: no session after %v (last answer %d %s)", user, loginFormWait, r.Status, r.Body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	} else {
		t.Logf("the page has no login form (%s); logging in as %s through the API", loginUserSel, user)
		if r := pageFetch(ctx, "POST", "/manage/v1/session", map[string]string{"user": user, "password": password}); r.Status != 200 {
			t.Fatalf("log in as %s: %d %s", user, r.Status, r.Body)
		}
	}
	if s := currentSession(ctx); s.User != user {
		t.Fatalf("logged in as %q, want %q", s.User, user)
	}
}

// hasLoginForm waits up to loginFormWait for the login form's user field.
func hasLoginForm(ctx context.Context) bool {
	deadline := time.Now().Add(loginFormWait)
	for {
		if evalJS[bool](ctx, `document.querySelector(`+jsString(loginUserSel)+`) !== null`) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sessionData is the data of GET /manage/v1/session.
type sessionData struct {
	User      string `json:"user"`
	Role      string `json:"role"`
	CSRFToken string `json:"csrf_token"`
}

// currentSession asks the server, from the page, who is logged in; it fails
// the test when no one is.
func currentSession(ctx context.Context) sessionData {
	t := browserT(ctx)
	t.Helper()
	r := pageFetch(ctx, "GET", "/manage/v1/session", nil)
	var env struct {
		Status string
		Data   sessionData
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &env) != nil || env.Status != "success" {
		t.Fatalf("GET /manage/v1/session from the page: %d %s", r.Status, r.Body)
	}
	return env.Data
}

// artifactDir is where screenshots go: $PROPHASIS_ARTIFACTS (kept after the
// run, for CI to collect) or else the test's temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PROPHASIS_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshot saves a PNG of the whole page as <test>-<name>.png in the
// artifact directory, logs its path and returns it.
func screenshot(ctx context.Context, name string) string {
	t := browserT(ctx)
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	file := unsafeFileChars.ReplaceAllString(t.Name()+"-"+name, "_") + ".png"
	p := filepath.Join(artifactDir(t), file)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	return p
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// isPNG reports whether b starts like a PNG file.
func isPNG(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }
