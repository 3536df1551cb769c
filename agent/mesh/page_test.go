package mesh

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func pageMesh(t *testing.T) *Mesh {
	t.Helper()
	m, err := New(testOptions(), func(context.Context) Status { return Status{} })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := sampleStatus()
	s.Host, s.Time = "web<b>1</b>", now
	m.table.offer(s.normalize(), "web<b>1</b>", now)
	m.table.seen("web<b>1</b>", "127.0.0.2:7946", now)
	m.table.seen("db1", "127.0.0.3:7946", now.Add(-time.Hour))
	m.table.sweep(now)
	return m
}

func TestPage(t *testing.T) {
	h := Handler(pageMesh(t), MustParseRanges("192.168. 127.0.0.1"))
	f := func(method, path, remote string, code int, want ...string) string {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != code {
			t.Errorf("%s %s from %s = %d, want %d", method, path, remote, rec.Code, code)
		}
		body := rec.Body.String()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: body lacks %q", method, path, w)
			}
		}
		return body
	}
	body := f("GET", "/", "192.168.7.7:1234", 200, "web&lt;b&gt;1&lt;/b&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;",
		"db1 — down since", "1 up, 1 down", `name="viewport"`, "web/http critical", "Nov 21 kernel: oom")
	if strings.Contains(body, "<script") || strings.Contains(body, "<b>1") {
		t.Error("page not escaped")
	}
	body = f("GET", "/status.json", "127.0.0.1:1", 200)
	var v ClusterView
	if err := json.Unmarshal([]byte(body), &v); err != nil || len(v.Hosts) != 2 || v.Hosts[1].Statuses[0].Processes[1].Name != "<script>alert(1)</script>" {
		t.Errorf("status.json: %v %+v", err, v)
	}
	f("GET", "/", "10.0.0.1:1", 403)
	f("GET", "/", "[::1]:1", 403)
	f("POST", "/", "127.0.0.1:1", 405)
	f("DELETE", "/status.json", "127.0.0.1:1", 405)
	f("GET", "/admin", "127.0.0.1:1", 404)
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
