package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/msglog"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

// testAPI is the management API over a real SQLite store, behind the real
// auth middleware, with an admin, a viewer and an agent token.
type testAPI struct {
	t                     *testing.T
	st                    store.Store
	in                    *ingest.Ingester
	handler               http.Handler
	admin, viewer, agent  string
	lastStatus            int
	lastBody, lastHeaders string
	pkgDir                string // where plugin packages are kept
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, _, err := st.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := st.CreateToken(ctx, store.TokenSpec{Name: "viewer", Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	_, agent, err := st.CreateToken(ctx, store.TokenSpec{Name: "web1", Role: store.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tsdb.Open(filepath.Join(t.TempDir(), "tsdb"), tsdb.Options{}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pkgDir := filepath.Join(t.TempDir(), "plugins")
	pkgs, err := plugins.NewPackages(pkgDir, st, logger)
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	Register(r.Group("/manage/v1", auth.Middleware(st, auth.Options{})), Deps{Store: st, Messages: msglog.NewReader(db, st), Packages: pkgs, Logger: logger})
	in := ingest.New(db, st, nil, logger, ingest.Options{Now: func() time.Time { return time.UnixMilli(1_700_000_100_000) }})
	return &testAPI{t: t, st: st, in: in, handler: r, admin: admin, viewer: viewer, agent: agent, pkgDir: pkgDir}
}

// response is the envelope as tests read it.
type response struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// do sends a request; body is a string (sent as is) or a value (sent as
// JSON). contentType "" means application/json for values and none for
// strings.
func (a *testAPI) do(method, path, token string, body any, contentType string) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req := httptest.NewRequest(method, "/manage/v1"+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	a.lastStatus = rec.Code
	a.lastBody = rec.Body.String()
	a.lastHeaders = rec.Header().Get("Content-Type")
	var r response
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			a.t.Fatalf("%s %s: body is not the JSON envelope: %v\n%s", method, path, err, rec.Body)
		}
	}
	return r
}

// ok sends a request that must succeed and decodes its data into out.
func (a *testAPI) ok(method, path, token string, body any, out any) {
	a.t.Helper()
	r := a.do(method, path, token, body, "")
	if a.lastStatus != http.StatusOK || r.Status != "success" {
		a.t.Fatalf("%s %s: %d %s", method, path, a.lastStatus, a.lastBody)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			a.t.Fatalf("%s %s: decode data: %v\n%s", method, path, err, r.Data)
		}
	}
}

// fails sends a request that must fail with status and errorType, with an
// error text containing every part.
func (a *testAPI) fails(method, path, token string, body any, contentType string, status int, errorType string, parts ...string) {
	a.t.Helper()
	r := a.do(method, path, token, body, contentType)
	if a.lastStatus != status || r.Status != "error" || r.ErrorType != errorType {
		a.t.Fatalf("%s %s: got %d %s, want %d %s", method, path, a.lastStatus, a.lastBody, status, errorType)
	}
	for _, p := range parts {
		if !strings.Contains(r.Error, p) {
			a.t.Fatalf("%s %s: error %q does not mention %q", method, path, r.Error, p)
		}
	}
}

func TestAuthAndRoles(t *testing.T) {
	a := newTestAPI(t)
	host := store.Host{Name: "web1"}
	a.fails("GET", "/hosts", "", nil, "", 401, "unauthorized", "authentication required")
	a.fails("GET", "/hosts", "pht_nonsense", nil, "", 401, "unauthorized", "invalid or revoked token")
	a.fails("GET", "/hosts", a.agent, nil, "", 403, "forbidden", "role agent may not do this")
	a.fails("POST", "/hosts", a.viewer, host, "", 403, "forbidden", "role viewer")
	a.fails("POST", "/apply", a.viewer, "hosts: []\n", "application/yaml", 403, "forbidden")
	a.fails("GET", "/users", a.viewer, nil, "", 403, "forbidden")
	a.fails("GET", "/tokens", a.viewer, nil, "", 403, "forbidden")
	a.fails("DELETE", "/tokens/1", a.viewer, nil, "", 403, "forbidden")
	a.ok("GET", "/hosts", a.viewer, nil, nil)
	a.do("GET", "/export", a.viewer, nil, "")
	if a.lastStatus != 200 {
		t.Fatalf("viewer export: %d %s", a.lastStatus, a.lastBody)
	}
	a.ok("POST", "/hosts", a.admin, host, nil)
	if _, err := a.st.Host(context.Background(), "web1"); err != nil {
		t.Fatalf("admin's create did not land: %v", err)
	}
	// The refused viewer request changed nothing.
	hosts, _ := a.st.Hosts(context.Background())
	if len(hosts) != 1 {
		t.Fatalf("hosts %+v", hosts)
	}
	// The OpenAPI document needs only authentication.
	a.do("GET", "/openapi.yaml", a.agent, nil, "")
	if a.lastStatus != 200 || !strings.HasPrefix(a.lastHeaders, "application/yaml") || !strings.Contains(a.lastBody, "openapi: 3") {
		t.Fatalf("openapi.yaml: %d %s", a.lastStatus, a.lastHeaders)
	}
}

func TestHostsREST(t *testing.T) {
	a := newTestAPI(t)
	var h store.Host
	a.ok("POST", "/hosts", a.admin, map[string]any{"name": "web1", "address": "10.0.0.1", "labels": map[string]string{"env": "prod"}}, &h)
	if h.ID == 0 || h.Address != "10.0.0.1" || h.CreatedAt.IsZero() {
		t.Fatalf("created %+v", h)
	}
	a.fails("POST", "/hosts", a.admin, store.Host{Name: "web1"}, "", 409, "conflict", `host "web1" already exists`)
	a.fails("POST", "/hosts", a.admin, store.Host{Name: "web 1"}, "", 400, "bad_data", `host "web 1": name must match`)
	a.fails("POST", "/hosts", a.admin, `{"name": "x", "adress": "typo"}`, "application/json", 400, "bad_data", `unknown field "adress"`)
	a.fails("POST", "/hosts", a.admin, `{"name": "x"} {}`, "application/json", 400, "bad_data", "unexpected data after the object")
	a.fails("POST", "/hosts", a.admin, `{"name": `, "application/json", 400, "bad_data", "invalid JSON body")
	a.fails("POST", "/hosts", a.admin, ``, "application/json", 400, "bad_data", "the request body is empty")
	a.fails("POST", "/hosts", a.admin, `name: x`, "application/yaml", 400, "bad_data", "send the body as application/json")
	a.fails("POST", "/hosts", a.admin, `{"name": "x", "description": "`+strings.Repeat("a", maxEntityBytes)+`"}`, "application/json",
		413, "too_large", "larger than 1048576 bytes")

	var list []store.Host
	a.ok("GET", "/hosts", a.viewer, nil, &list)
	if len(list) != 1 || list[0].Name != "web1" || list[0].Labels["env"] != "prod" {
		t.Fatalf("list %+v", list)
	}
	a.ok("GET", "/hosts/web1", a.viewer, nil, &h)
	a.fails("GET", "/hosts/web9", a.viewer, nil, "", 404, "not_found", `host "web9" not found`)

	h = store.Host{}
	a.ok("PUT", "/hosts/web1", a.admin, store.Host{Address: "10.0.0.2"}, &h)
	if h.Name != "web1" || h.Address != "10.0.0.2" || len(h.Labels) != 0 {
		t.Fatalf("updated %+v", h)
	}
	a.fails("PUT", "/hosts/web9", a.admin, store.Host{}, "", 404, "not_found")
	a.ok("PUT", "/hosts/web1", a.admin, store.Host{Name: "web2"}, &h)
	if h.Name != "web2" {
		t.Fatalf("rename: %+v", h)
	}
	var del map[string]string
	a.ok("DELETE", "/hosts/web2", a.admin, nil, &del)
	if del["deleted"] != "web2" {
		t.Fatalf("delete answer %v", del)
	}
	a.fails("DELETE", "/hosts/web2", a.admin, nil, "", 404, "not_found")
}

func TestEveryResourceREST(t *testing.T) {
	a := newTestAPI(t)
	addModules(t, a.st, "email")
	// In dependency order; each create refers only to earlier ones.
	steps := []struct {
		path, name string
		create     any
		update     any
	}{
		{"/hosts", "db1", store.Host{Name: "db1"}, store.Host{Address: "db1.example.com"}},
		{"/plugins", "load", store.Plugin{Name: "load", Version: "1.0"}, store.Plugin{Version: "1.1"}},
		{"/groups", "dbs", store.Group{Name: "dbs", Hosts: []string{"db1"}}, store.Group{Description: "databases", Hosts: []string{"db1"}}},
		{"/schedules", "minutely", map[string]any{"name": "minutely", "intervals": []any{map[string]string{"period": "1m"}}},
			map[string]any{"intervals": []any{map[string]string{"period": "30s"}}, "max_lateness": "10s"}},
		{"/checks", "cpu", store.Check{Name: "cpu", Plugins: []string{"load"}, Groups: []string{"dbs"}, Schedule: "minutely"},
			store.Check{Plugins: []string{"load"}, Hosts: []string{"db1"}, Schedule: "minutely"}},
		{"/services", "data", store.Service{Name: "data", Dependencies: []store.Member{{Host: "db1", Check: "cpu", Plugin: "load"}}},
			store.Service{RedundancyGroups: []store.RedundancyGroup{{Name: "dbs", K: 1, Members: []store.Member{{Host: "db1"}}}}}},
		{"/alert-rules", "page", map[string]any{"name": "page", "to": []string{"critical"}, "modules": []string{"email"}, "delay": "5m"},
			map[string]any{"to": []string{"failed"}, "modules": []string{"email"}, "scope": map[string]any{"services": []string{"data"}}}},
	}
	for _, s := range steps {
		var got map[string]any
		a.ok("POST", s.path, a.admin, s.create, &got)
		if got["name"] != s.name {
			t.Fatalf("POST %s answered %v", s.path, got)
		}
		a.ok("GET", s.path+"/"+s.name, a.viewer, nil, &got)
		a.ok("PUT", s.path+"/"+s.name, a.admin, s.update, &got)
		var list []map[string]any
		a.ok("GET", s.path, a.viewer, nil, &list)
		if len(list) != 1 {
			t.Fatalf("GET %s: %v", s.path, list)
		}
	}
	var sched store.Schedule
	a.ok("GET", "/schedules/minutely", a.viewer, nil, &sched)
	if sched.Intervals[0].Period.String() != "30s" || sched.MaxLateness.String() != "10s" {
		t.Fatalf("schedule %+v", sched)
	}
	var hosts []string
	a.ok("GET", "/groups/dbs/hosts", a.viewer, nil, &hosts)
	if len(hosts) != 1 || hosts[0] != "db1" {
		t.Fatalf("group hosts %v", hosts)
	}
	a.fails("GET", "/groups/nope/hosts", a.viewer, nil, "", 404, "not_found")
	// In use: refused with who uses it; cycles refused.
	a.fails("DELETE", "/hosts/db1", a.admin, nil, "", 409, "conflict", "group dbs", "check cpu", "service data")
	a.fails("PUT", "/services/data", a.admin, store.Service{Dependencies: []store.Member{{Service: "data"}}}, "", 409, "conflict", "cycle: data -> data")
	a.fails("POST", "/checks", a.admin, store.Check{Name: "x", Plugins: []string{"nope"}, Schedule: "minutely"}, "", 400, "bad_data", `unknown plugin "nope"`)
	a.fails("POST", "/schedules", a.admin, `{"name": "s", "intervals": [{"period": 60}]}`, "application/json", 400, "bad_data", "a duration must be a string")
	// Reverse order deletes everything.
	for i := len(steps) - 1; i >= 0; i-- {
		a.ok("DELETE", steps[i].path+"/"+steps[i].name, a.admin, nil, nil)
	}
}

func TestUsersAndTokensREST(t *testing.T) {
	a := newTestAPI(t)
	var u store.User
	a.ok("POST", "/users", a.admin, store.UserSpec{Name: "ann", Role: store.RoleViewer, Password: "long enough"}, &u)
	if u.Name != "ann" || !u.HasPassword {
		t.Fatalf("user %+v", u)
	}
	if strings.Contains(a.lastBody, "long enough") || strings.Contains(a.lastBody, "$2a$") {
		t.Fatalf("the answer leaks the password: %s", a.lastBody)
	}
	a.fails("POST", "/users", a.admin, store.UserSpec{Name: "bob", Role: "root"}, "", 400, "bad_data", "role must be admin or viewer")
	a.fails("DELETE", "/users/admin", a.admin, nil, "", 409, "conflict", "last admin")
	a.ok("PUT", "/users/ann", a.admin, store.UserSpec{Role: store.RoleAdmin}, &u)
	var users []store.User
	a.ok("GET", "/users", a.admin, nil, &users)
	if len(users) != 2 {
		t.Fatalf("users %+v", users)
	}
	a.ok("GET", "/users/ann", a.admin, nil, &u)

	// A token made by the bootstrap admin token belongs to user admin.
	var created struct {
		Token  store.Token `json:"token"`
		Secret string      `json:"secret"`
	}
	a.ok("POST", "/tokens", a.admin, store.TokenSpec{Name: "ci", Role: store.RoleAdmin}, &created)
	if created.Token.Owner != "admin" || !strings.HasPrefix(created.Secret, store.TokenPrefix) {
		t.Fatalf("created %+v", created)
	}
	// It works at once; listing never shows secrets.
	a.ok("GET", "/hosts", created.Secret, nil, nil)
	a.ok("GET", "/tokens", created.Secret, nil, nil)
	if strings.Contains(a.lastBody, created.Secret) || strings.Contains(a.lastBody, "secret") {
		t.Fatalf("token list leaks secrets: %s", a.lastBody)
	}
	var tok store.Token
	a.ok("GET", "/tokens/"+itoa(created.Token.ID), a.admin, nil, &tok)
	if tok.Name != "ci" {
		t.Fatalf("token %+v", tok)
	}
	a.fails("GET", "/tokens/abc", a.admin, nil, "", 400, "bad_data", `token id "abc" is not a positive integer`)
	a.fails("GET", "/tokens/999", a.admin, nil, "", 404, "not_found")
	a.fails("POST", "/tokens", a.admin, store.TokenSpec{Name: "x", Role: store.RoleAdmin, Owner: "nobody"}, "", 400, "bad_data", `unknown owner "nobody"`)
	// Revoke: the token stops working.
	a.ok("DELETE", "/tokens/"+itoa(created.Token.ID), a.admin, nil, nil)
	a.fails("GET", "/hosts", created.Secret, nil, "", 401, "unauthorized")
	a.ok("DELETE", "/users/ann", a.admin, nil, nil)
}

func TestMessagesREST(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	if _, err := a.in.WriteBatch(ctx, wire.Batch{Results: []wire.Result{
		{Host: "web1", Plugin: "http", Check: "home", Timestamp: 1_700_000_000_000, Message: "200 OK"},
		{Host: "web1", Plugin: "http", Check: "home", Timestamp: 1_700_000_060_000, ExitStatus: 2, Message: "503"},
		{Host: "web1", Plugin: "load", Timestamp: 1_700_000_030_000, Message: "0.5"},
		{Host: "web2", Plugin: "load", Timestamp: 1_700_000_030_000, Message: "other host"},
	}}); err != nil {
		t.Fatal(err)
	}
	var msgs []message
	a.ok("GET", "/messages?host=web1", a.viewer, nil, &msgs)
	if len(msgs) != 3 || msgs[0].Text != "503" || msgs[0].ExitStatus != 2 || msgs[0].Time.Unix() != 1_700_000_060 {
		t.Fatalf("messages %+v", msgs)
	}
	a.ok("GET", "/messages?host=web1&plugin=http&check=home&limit=1", a.viewer, nil, &msgs)
	if len(msgs) != 1 || msgs[0].Text != "503" {
		t.Fatalf("limited %+v", msgs)
	}
	a.ok("GET", "/messages?host=web1&from=1700000000&to=2023-11-14T22:13:50Z", a.viewer, nil, &msgs)
	if len(msgs) != 2 || msgs[0].Text != "0.5" {
		t.Fatalf("time range %+v", msgs)
	}
	a.fails("GET", "/messages", a.viewer, nil, "", 400, "bad_data", "the host parameter is required")
	a.fails("GET", "/messages?host=web1&limit=0", a.viewer, nil, "", 400, "bad_data", "limit")
	a.fails("GET", "/messages?host=web1&from=yesterday", a.viewer, nil, "", 400, "bad_data", `from: "yesterday" is neither`)
	a.fails("GET", "/messages?host=web1&to=NaN", a.viewer, nil, "", 400, "bad_data", "to:")
	a.fails("GET", "/messages?host=web1&from=20&to=10", a.viewer, nil, "", 400, "bad_data", "after")
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
