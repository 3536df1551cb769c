package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/client"
	"github.com/prophasis/prophasis/agent/schedule"
	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/wire"
)

// TestSyncPlanFetchesPackages drives syncPlan against a fake server: a
// package that arrives tampered is retried after the next (unchanged) poll
// and installed once the server sends the right bytes; a new plan with a
// new version installs it before the scheduler sees the plan and removes
// the old one.
func TestSyncPlanFetchesPackages(t *testing.T) {
	v1, v2 := pkg(t, "1"), pkg(t, "2")
	sha1, sha2 := archive.SHA256(v1), archive.SHA256(v2)
	var mu sync.Mutex
	current, version := sha1, 1
	blobs := map[string][]byte{sha1: pkg(t, "666"), sha2: v2} // v1 tampered at first
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/agent/v1/plan":
			etag := `"` + current + `"`
			if r.Header.Get("If-None-Match") == etag {
				time.Sleep(20 * time.Millisecond) // a short long poll
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
			run := run(current)
			run.Version = string(rune('0' + version))
			run.Intervals = []wire.Interval{{Period: wire.Millis(time.Hour)}}
			run.Timeout = wire.Millis(time.Second)
			b, _ := json.Marshal(wire.Plan{Host: "web1", Runs: []wire.PlanRun{run}})
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"success","data":` + string(b) + `}`))
		case strings.HasPrefix(r.URL.Path, "/agent/v1/plugins/"):
			w.Write(blobs[strings.TrimPrefix(r.URL.Path, "/agent/v1/plugins/")])
		}
	}))
	defer srv.Close()
	cl, err := client.New(client.Options{Server: srv.URL, AllowHTTP: true}, "pha_1_x")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	p, err := newPackages(data, cl.Plugin, logger)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{logger: logger, cl: cl, pkgs: p, sched: schedule.New(logger, func(schedule.Event) {})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.syncPlan(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	exists := func(sha string) bool {
		_, err := os.Stat(filepath.Join(data, "plugins", sha))
		return err == nil
	}
	waitFor("the mismatch to be noted", func() bool {
		_, problem := p.program(run(sha1))
		return strings.Contains(problem, errHashMismatch)
	})
	if exists(sha1) {
		t.Fatal("a tampered package was installed")
	}
	mu.Lock()
	blobs[sha1] = v1 // the server is repaired; the plan stays the same
	mu.Unlock()
	waitFor("the retry to install v1", func() bool { return exists(sha1) })

	mu.Lock()
	current, version = sha2, 2
	mu.Unlock()
	waitFor("v2 installed and v1 removed", func() bool { return exists(sha2) && !exists(sha1) })
	if path, problem := p.program(run(sha2)); problem != "" || !strings.HasPrefix(path, filepath.Join(data, "plugins", sha2)) {
		t.Fatalf("program %q, %q", path, problem)
	}
}
