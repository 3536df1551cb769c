package agentapi

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

func helloPackage(t *testing.T, value int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte("#!/bin/sh\necho '{\"value\": " + string(rune('0'+value)) + "}'\n")
	tw.WriteHeader(&tar.Header{Name: "hello.sh", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))})
	tw.Write(body)
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestPluginPackageDownloadAndPlan(t *testing.T) {
	var pkgs *plugins.Packages
	a := newTestAPI(t, func(d *Deps) {
		var err error
		if pkgs, err = plugins.NewPackages(filepath.Join(t.TempDir(), "plugins"), d.Store, d.Logger); err != nil {
			t.Fatal(err)
		}
		d.Packages = pkgs
	})
	ctx := context.Background()
	st, admin := a.st, a.admin
	_, viewer, err := st.CreateToken(ctx, store.TokenSpec{Name: "viewer", Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	enr, err := st.CreateEnrollment(ctx, "web1", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, cred, err := st.Enroll(ctx, enr.Token, store.AgentInfo{})
	if err != nil {
		t.Fatal(err)
	}
	do := func(path, token string, hdr ...string) *httptest.ResponseRecorder {
		return a.do("GET", path, token, "", hdr...)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreatePlugin(ctx, store.Plugin{Name: "hello", Kind: "exec", Entrypoint: "hello.sh"}))
	must(st.CreatePlugin(ctx, store.Plugin{Name: "disk", Kind: "nagios", Entrypoint: "/usr/lib/nagios/plugins/check_disk"}))
	must(st.CreateSchedule(ctx, store.Schedule{Name: "minutely", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}))
	must(st.CreateCheck(ctx, store.Check{Name: "c", Plugins: []string{"hello", "disk"}, Hosts: []string{"web1"}, Schedule: "minutely"}))
	plan := func(rec *httptest.ResponseRecorder) wire.Plan {
		t.Helper()
		var env struct {
			Data wire.Plan `json:"data"`
		}
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &env) != nil || len(env.Data.Runs) != 2 {
			t.Fatalf("plan: %d %s", rec.Code, rec.Body)
		}
		return env.Data
	}
	rec := do("/agent/v1/plan", cred)
	etag := rec.Header().Get("ETag")
	if p := plan(rec); p.Runs[1].Plugin != "hello" || p.Runs[1].SHA256 != "" {
		t.Fatalf("plan before upload: %+v", p)
	}

	// An upload wakes the long poll at once with the package's hash.
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do("/agent/v1/plan?wait=50s", cred, "If-None-Match", etag) }()
	time.Sleep(50 * time.Millisecond) // let the poll start waiting; it is correct either way
	v1 := helloPackage(t, 1)
	must(pkgs.Put(ctx, "hello", v1))
	var p wire.Plan
	select {
	case rec := <-done:
		p = plan(rec)
		if rec.Header().Get("ETag") == etag {
			t.Fatal("the plan's ETag did not change with the package")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a package upload did not wake the plan long poll")
	}
	if p.Runs[1].SHA256 != archive.SHA256(v1) || p.Runs[0].SHA256 != "" {
		t.Fatalf("plan after upload: %+v", p.Runs)
	}

	// The agent downloads it by hash; so may an admin; a viewer may not.
	for _, tok := range []string{cred, admin} {
		rec := do("/agent/v1/plugins/"+p.Runs[1].SHA256, tok)
		if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), v1) || rec.Header().Get("Content-Type") != "application/gzip" {
			t.Fatalf("download: %d %q", rec.Code, rec.Header())
		}
	}
	if rec := do("/agent/v1/plugins/"+p.Runs[1].SHA256, viewer); rec.Code != 403 {
		t.Fatalf("viewer download: %d %s", rec.Code, rec.Body)
	}
	if rec := do("/agent/v1/plugins/"+p.Runs[1].SHA256, ""); rec.Code != 401 {
		t.Fatalf("anonymous download: %d %s", rec.Code, rec.Body)
	}
	for _, sha := range []string{strings.Repeat("0", 64), "..", "abc"} {
		if rec := do("/agent/v1/plugins/"+sha, cred); rec.Code != 404 || !strings.Contains(rec.Body.String(), "no plugin package") {
			t.Fatalf("download of %s: %d %s", sha, rec.Code, rec.Body)
		}
	}
	// gin does not route an escaped slash to the handler at all.
	if rec := do("/agent/v1/plugins/..%2F..%2Fprophasis.db", cred); rec.Code != 404 {
		t.Fatalf("download of a path: %d %s", rec.Code, rec.Body)
	}
}
