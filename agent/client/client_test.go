package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/server/certs"
	"github.com/prophasis/prophasis/wire"
)

// tlsServer serves h over HTTPS with a certificate from a generated CA, the
// way `prophasis serve --tls-auto` does. The server end of the protocol is
// tested against the real server in e2e; here the client's own logic is.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, *certs.Auto) {
	t.Helper()
	auto, err := certs.Ensure(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = auto.Config
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, auto
}

func ok(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
}

func TestPinning(t *testing.T) {
	srv, auto := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok(w, wire.EnrollResponse{Host: "web1", Credential: "pha_1_x", CACert: "pem"})
	}))
	ctx := context.Background()
	enroll := func(o Options) error {
		c, err := New(o, "")
		if err != nil {
			return err
		}
		_, err = c.Enroll(ctx, "phe_t", wire.EnrollRequest{Host: "web1"})
		return err
	}
	// Unknown CA, no fingerprint: refused by the system roots.
	if err := enroll(Options{Server: srv.URL}); err == nil {
		t.Fatal("enrolled with a server whose CA nobody vouched for")
	}
	// The fingerprint `prophasis token create` prints: accepted.
	if err := enroll(Options{Server: srv.URL, CASHA256: "sha256:" + auto.CASHA256}); err != nil {
		t.Fatal(err)
	}
	// Another fingerprint: refused, and the message says why.
	err := enroll(Options{Server: srv.URL, CASHA256: strings.Repeat("ab", 32)})
	if err == nil || !strings.Contains(err.Error(), "not the expected") {
		t.Fatalf("wrong fingerprint: %v", err)
	}
	// The pinned CA: accepted; another CA pinned: refused.
	if err := enroll(Options{Server: srv.URL, CACert: auto.CACertPEM}); err != nil {
		t.Fatal(err)
	}
	other, err := certs.Ensure(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := enroll(Options{Server: srv.URL, CACert: other.CACertPEM}); err == nil {
		t.Fatal("accepted a server not signed by the pinned CA")
	}
	// Plain HTTP only when asked for.
	if _, err := New(Options{Server: "http://127.0.0.1:1"}, ""); err == nil || !strings.Contains(err.Error(), "plain HTTP") {
		t.Fatalf("plain HTTP: %v", err)
	}
	if _, err := New(Options{Server: "http://127.0.0.1:1", AllowHTTP: true}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Server: "ftp://x"}, ""); err == nil {
		t.Fatal("ftp accepted")
	}
}

func TestPlanAndPush(t *testing.T) {
	var pushed wire.Batch
	status := http.StatusOK
	srv, auto := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer pha_1_x" {
			w.WriteHeader(401)
			return
		}
		switch r.URL.Path {
		case "/agent/v1/plan":
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v1"`)
			ok(w, wire.Plan{Host: "web1", Runs: []wire.PlanRun{{Check: "c", Plugin: "load", Kind: "builtin"}}})
		case "/agent/v1/results":
			if status != http.StatusOK {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				io.WriteString(w, `{"status":"error","errorType":"x","error":"nope"}`)
				return
			}
			zr, err := gzip.NewReader(r.Body)
			if err != nil || r.Header.Get("Content-Encoding") != "gzip" {
				w.WriteHeader(400)
				return
			}
			json.NewDecoder(zr).Decode(&pushed)
			ok(w, wire.BatchResponse{Accepted: len(pushed.Results)})
		}
	}))
	c, err := New(Options{Server: srv.URL, CACert: auto.CACertPEM}, "pha_1_x")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan, etag, changed, err := c.Plan(ctx, "", time.Second)
	if err != nil || !changed || etag != `"v1"` || len(plan.Runs) != 1 {
		t.Fatalf("plan %+v %q %v %v", plan, etag, changed, err)
	}
	if _, etag2, changed, err := c.Plan(ctx, etag, time.Second); err != nil || changed || etag2 != etag {
		t.Fatalf("unchanged plan: %q %v %v", etag2, changed, err)
	}
	resp, err := c.Push(ctx, []wire.Result{{Host: "web1", Plugin: "load", Timestamp: 1}})
	if err != nil || resp.Accepted != 1 || len(pushed.Results) != 1 {
		t.Fatalf("push %+v %v", resp, err)
	}
	status = http.StatusBadRequest
	if _, err := c.Push(ctx, nil); !errors.Is(err, ErrPermanent) {
		t.Fatalf("400: %v, want ErrPermanent", err)
	}
	status = http.StatusServiceUnavailable
	if _, err := c.Push(ctx, nil); err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("503: %v, want a retryable error", err)
	}
}

func TestPluginDownload(t *testing.T) {
	pkg := bytes.Repeat([]byte("tar.gz bytes "), 1000)
	srv, auto := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer pha_1_x":
			w.WriteHeader(401)
		case r.URL.Path == "/agent/v1/plugins/abc":
			w.Header().Set("Content-Type", "application/gzip")
			w.Write(pkg)
		case r.URL.Path == "/agent/v1/plugins/huge":
			for range maxPackage/len(pkg) + 2 {
				w.Write(pkg)
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			io.WriteString(w, `{"status":"error","errorType":"not_found","error":"no plugin package with that hash"}`)
		}
	}))
	c, err := New(Options{Server: srv.URL, CACert: auto.CACertPEM}, "pha_1_x")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := c.Plugin(ctx, "abc")
	if err != nil || !bytes.Equal(got, pkg) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	if _, err := c.Plugin(ctx, "def"); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "no plugin package with that hash") {
		t.Fatalf("404: %v", err)
	}
	if _, err := c.Plugin(ctx, "huge"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized package: %v", err)
	}
}
