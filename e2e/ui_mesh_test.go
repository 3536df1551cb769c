package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestUIMeshSettings: an admin turns the mesh on from Configuration → Mesh
// (a key is made), then rotates the key without downtime in three saves —
// a new key second, made first, the old one removed — and each step is what
// the agents' plans carry (an admin reads a plan's keys as fingerprints); a privileged port is refused beside its field
// and changes nothing; a viewer reads the settings but cannot change them.
func TestUIMeshSettings(t *testing.T) {
	srv := startUIServer(t)
	srv.mustJSON("POST", "/manage/v1/hosts", map[string]any{"name": "web1"})
	planKeys := func() []string {
		t.Helper()
		code, body := srv.do("GET", "/agent/v1/plan?host=web1", "", nil)
		if code != 200 {
			t.Fatalf("plan: %d %s", code, body)
		}
		plan := uiJSON[struct {
			Mesh *struct {
				Cluster string   `json:"cluster"`
				Keys    []string `json:"keys"`
			} `json:"mesh"`
		}](t, body)
		if plan.Mesh == nil {
			return nil
		}
		return plan.Mesh.Keys
	}
	if k := planKeys(); k != nil {
		t.Fatalf("the mesh is on before anyone turned it on: %v", k)
	}

	ctx := newBrowser(t, desktopWidth, desktopHeight)
	uiLogin(ctx, srv.URL+"/config/mesh", srv.Admin)
	waitJS(ctx, "the mesh form", `document.querySelector('#mesh-cluster')`, 15*time.Second)
	setField(ctx, "#mesh-cluster", "office")
	setField(ctx, "#mesh-allow", "127.0.0.0/8")
	evalJS[bool](ctx, `(document.querySelector('#mesh-enabled').click(), true)`)
	saveMesh := func() {
		t.Helper()
		clickText(ctx, "button[type=submit]", "Save")
		waitJS(ctx, "saved", `document.querySelector('[role=status]')?.textContent.includes('Saved')`, 10*time.Second)
	}
	saveMesh()
	first := planKeys()
	if len(first) != 1 || !strings.HasPrefix(first[0], "sha256:") {
		t.Fatalf("keys in the plan after turning the mesh on: %v", first)
	}
	waitJS(ctx, "one stored key", `document.querySelectorAll('[data-testid=mesh-key]').length === 1`, 5*time.Second)
	// A 32-byte key is 44 base64 characters; none is on the page.
	if k := regexp.MustCompile(`[A-Za-z0-9+/]{43}=`).FindString(pageText(ctx)); k != "" {
		t.Fatalf("the page shows a key: %s", k)
	}
	screenshot(ctx, "mesh-on")

	// Rotate: a new key goes second, so every agent accepts it first.
	clickText(ctx, "button", "Add a new key")
	saveMesh()
	second := planKeys()
	if len(second) != 2 || second[0] != first[0] || second[1] == first[0] {
		t.Fatalf("after adding a key: %v (was %v)", second, first)
	}
	// Then it sends.
	waitJS(ctx, "two stored keys", `document.querySelectorAll('[data-testid=mesh-key]').length === 2`, 5*time.Second)
	clickText(ctx, "[data-testid=mesh-key] button", "Make first")
	saveMesh()
	if got := planKeys(); !slices.Equal(got, []string{second[1], first[0]}) {
		t.Fatalf("after making the new key first: %v, want %v", got, []string{second[1], first[0]})
	}
	// Then the old one goes.
	evalJS[bool](ctx, `([...document.querySelectorAll('[data-testid=mesh-key]')][1].querySelector('button:last-of-type').click(), true)`)
	saveMesh()
	if got := planKeys(); !slices.Equal(got, []string{second[1]}) {
		t.Fatalf("after removing the old key: %v, want %v", got, []string{second[1]})
	}

	// A privileged port is refused beside its field; nothing changes.
	setField(ctx, "#mesh-port", "80")
	clickText(ctx, "button[type=submit]", "Save")
	waitJS(ctx, "the port's error beside it", `document.querySelector('#mesh-port')?.getAttribute('aria-invalid') === 'true' && document.querySelector('#mesh-port').parentElement.querySelector('.field-error')`, 10*time.Second)
	code, body := srv.do("GET", "/manage/v1/mesh", "", nil)
	if code != 200 || !strings.Contains(string(body), `"port":7946`) {
		t.Fatalf("after a refused port: %d %s", code, body)
	}
	noPageErrors(ctx)

	// A viewer reads, but cannot change.
	vctx := newBrowser(t, phoneWidth, phoneHeight)
	uiLogin(vctx, srv.URL+"/config/mesh", srv.Viewer)
	waitJS(vctx, "the settings, read-only", `document.querySelector('#mesh-cluster')?.value === 'office' && document.querySelector('#mesh-cluster').disabled`, 15*time.Second)
	if evalJS[bool](vctx, `!!document.querySelector('button[type=submit]') || !!`+uiFind("button", "Add a new key")) {
		t.Error("a viewer is offered to change the mesh")
	}
	screenshot(vctx, "mesh-viewer-phone")
}
