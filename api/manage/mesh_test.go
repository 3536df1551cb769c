package manage

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// withReach remounts the API with mesh views.
func (a *testAPI) withReach(views *reach.Views) {
	r := gin.New()
	Register(r.Group("/manage/v1", auth.Middleware(a.st, auth.Options{})), Deps{Store: a.st, Reach: views,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	a.handler = r
}

func TestMeshSettingsAPI(t *testing.T) {
	a := newTestAPI(t)
	var m store.MeshSettings
	a.ok("GET", "/mesh", a.viewer, nil, &m)
	if m.Enabled || m.Port != 7946 {
		t.Fatalf("default %+v", m)
	}
	// Viewers read, only admins write.
	a.do("PUT", "/mesh", a.viewer, map[string]any{"enabled": true}, "")
	if a.lastStatus != http.StatusForbidden {
		t.Fatalf("viewer PUT: %d %s", a.lastStatus, a.lastBody)
	}
	// Bad input: the reason, nothing changed.
	for body, want := range map[string]string{
		`{"enabled":true,"allow":"10.0.0.0/8"}`:                      "cluster is required",
		`{"enabled":true,"cluster":"lab"}`:                           "allow is required",
		`{"cluster":"lab","allow":"10.0.0.0/8","down":"soon"}`:       `duration "soon"`,
		`{"cluster":"lab","allow":"10.0.0.0/8","colour":"blue"}`:     "unknown field",
		`{"cluster":"lab","allow":"10.0.0.0/8","keys":["<secret>"]}`: "no stored key 0",
	} {
		r := a.do("PUT", "/mesh", a.admin, body, "application/json")
		if a.lastStatus != http.StatusBadRequest || !strings.Contains(r.Error, want) {
			t.Fatalf("%s: %d %s, want 400 with %q", body, a.lastStatus, a.lastBody, want)
		}
	}
	a.ok("GET", "/mesh", a.viewer, nil, &m)
	if m.Enabled || m.Cluster != "" || m.UpdatedAt != 0 {
		t.Fatalf("a refused PUT changed the settings: %+v", m)
	}

	// Enabling makes a key; answers show it as <secret> only.
	a.ok("PUT", "/mesh", a.admin, map[string]any{"enabled": true, "cluster": "lab", "allow": "10.0.0.0/8", "down": "10s"}, &m)
	if !m.Enabled || m.Cluster != "lab" || len(m.Keys) != 1 || m.Keys[0] != store.SecretPlaceholder || m.Down != store.Duration(10*time.Second) {
		t.Fatalf("enabled: %+v", m)
	}
	stored, err := a.st.MeshSettings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Keys) != 1 || strings.Contains(a.lastBody, stored.Keys[0]) {
		t.Fatalf("stored keys %d; answer %s", len(stored.Keys), a.lastBody)
	}
	// A partial PUT keeps the rest, keys included.
	a.ok("PUT", "/mesh", a.admin, map[string]any{"port": 7947}, &m)
	again, _ := a.st.MeshSettings(t.Context())
	if m.Port != 7947 || !m.Enabled || again.Keys[0] != stored.Keys[0] {
		t.Fatalf("partial PUT: %+v, keys kept %v", m, again.Keys[0] == stored.Keys[0])
	}
}

func TestHostReachabilityAPI(t *testing.T) {
	a := newTestAPI(t)
	a.do("GET", "/hosts/web3/reachability", a.viewer, nil, "")
	if a.lastStatus != http.StatusNotFound {
		t.Fatalf("unknown host: %d %s", a.lastStatus, a.lastBody)
	}
	a.ok("POST", "/hosts", a.admin, map[string]any{"name": "web3"}, nil)
	a.do("GET", "/hosts/web3/reachability", a.viewer, nil, "")
	if a.lastStatus != http.StatusServiceUnavailable {
		t.Fatalf("no mesh views: %d %s", a.lastStatus, a.lastBody)
	}
	views := reach.New()
	a.withReach(views)
	for _, h := range []string{"web1", "web2"} {
		views.Report(wire.MeshView{Host: h, Interval: 1000, Peers: []wire.MeshPeer{{Host: "web3", Alive: h == "web1"}}}, "", time.Now())
	}
	var out hostReachability
	a.ok("GET", "/hosts/web3/reachability", a.viewer, nil, &out)
	if out.Host != "web3" || out.ResultsStopped || out.Reachability.Verdict != reach.Alive ||
		out.Reachability.Text != "web3 unreachable from the server, but alive according to 1 of 2 peers" {
		t.Fatalf("reachability %+v", out)
	}
}
