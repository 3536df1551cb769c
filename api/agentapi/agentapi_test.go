package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

func TestResults(t *testing.T) {
	a := newTestAPI(t, nil)
	ctx := context.Background()
	st, admin, r := a.st, a.admin, a.r
	_, agent, err := st.CreateToken(ctx, store.TokenSpec{Name: "web1", Role: store.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := st.CreateToken(ctx, store.TokenSpec{Name: "ro", Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().UnixMilli()
	good := `{"results":[{"host":"web1","plugin":"load","timestamp":` + jsonInt(now) + `,"value":0.5,"message":"OK"}]}`
	f := func(token, body string, wantCode int, wantBody string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/agent/v1/results", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != wantCode || !strings.Contains(rec.Body.String(), wantBody) {
			t.Fatalf("POST %.60q: %d %s, want %d containing %q", body, rec.Code, rec.Body, wantCode, wantBody)
		}
	}
	f(agent, good, 200, `"accepted":1`)
	f(admin, good, 200, `"duplicates":1`)
	f(viewer, good, 403, `"errorType":"forbidden"`)
	f(agent, `{"results":[{"host":"web1"}]}`, 400, `"errorType":"bad_data","error":"results[0]: plugin: must not be empty"`)
	f(agent, `not json`, 400, "decode JSON batch")
	f(agent, string(bytes.Repeat([]byte(" "), ingest.MaxBodyBytes+1)), 413, `"errorType":"too_large"`)
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestEnrollAndPlan(t *testing.T) {
	a := newTestAPI(t, func(d *Deps) { d.CACert = "PEM" })
	ctx := context.Background()
	st, admin, do := a.st, a.admin, a.do

	enr, err := st.CreateEnrollment(ctx, "web1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if rec := do("POST", "/agent/v1/enroll", "phe_wrong", `{"host":"web1"}`); rec.Code != 401 {
		t.Fatalf("wrong enrolment token: %d %s", rec.Code, rec.Body)
	}
	if rec := do("POST", "/agent/v1/enroll", enr.Token, `{"host":"web1","colour":1}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "colour") {
		t.Fatalf("unknown field: %d %s", rec.Code, rec.Body)
	}
	rec := do("POST", "/agent/v1/enroll", enr.Token, `{"host":"web1","version":"0.1","os":"linux","arch":"amd64"}`)
	var env struct {
		Data wire.EnrollResponse `json:"data"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Data.Host != "web1" || env.Data.CACert != "PEM" {
		t.Fatalf("enrol: %d %s", rec.Code, rec.Body)
	}
	cred := env.Data.Credential
	if rec := do("POST", "/agent/v1/enroll", enr.Token, `{}`); rec.Code != 401 || !strings.Contains(rec.Body.String(), "already used") {
		t.Fatalf("second use of the token: %d %s", rec.Code, rec.Body)
	}

	// The credential pushes results of its own host only.
	now := jsonInt(time.Now().UnixMilli())
	if rec := do("POST", "/agent/v1/results", cred, `{"results":[{"host":"web1","plugin":"load","timestamp":`+now+`}]}`); rec.Code != 200 {
		t.Fatalf("own results: %d %s", rec.Code, rec.Body)
	}
	if rec := do("POST", "/agent/v1/results", cred, `{"results":[{"host":"web1","plugin":"load","timestamp":`+now+`},{"host":"db1","plugin":"load","timestamp":`+now+`}]}`); rec.Code != 403 ||
		!strings.Contains(rec.Body.String(), `results[1]: the agent of \"web1\" may push results of \"web1\" only, not \"db1\"`) {
		t.Fatalf("another host's results: %d %s", rec.Code, rec.Body)
	}

	// The plan: a check on a group that contains the host, through a nested group.
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreatePlugin(ctx, store.Plugin{Name: "load"}))
	must(st.CreatePlugin(ctx, store.Plugin{Name: "disk", Kind: "nagios", Entrypoint: "/usr/lib/nagios/plugins/check_disk", Args: []string{"-w", "10%"}}))
	must(st.CreateSchedule(ctx, store.Schedule{Name: "every-minute", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}))
	must(st.CreateGroup(ctx, store.Group{Name: "web", Hosts: []string{"web1"}}))
	must(st.CreateGroup(ctx, store.Group{Name: "all", Groups: []string{"web"}}))
	must(st.CreateCheck(ctx, store.Check{Name: "resources", Plugins: []string{"load", "disk"}, Groups: []string{"all"}, Schedule: "every-minute"}))

	var plan struct {
		Data wire.Plan `json:"data"`
	}
	rec = do("GET", "/agent/v1/plan", cred, "")
	etag := rec.Header().Get("ETag")
	if rec.Code != 200 || etag == "" || json.Unmarshal(rec.Body.Bytes(), &plan) != nil {
		t.Fatalf("plan: %d %s", rec.Code, rec.Body)
	}
	if len(plan.Data.Runs) != 2 || plan.Data.Runs[0].Plugin != "disk" || plan.Data.Runs[0].Kind != "nagios" ||
		plan.Data.Runs[0].Args[1] != "10%" || plan.Data.Runs[1].Kind != "builtin" || plan.Data.Runs[1].Entrypoint != "load" ||
		plan.Data.Runs[1].Intervals[0].Period.D() != time.Minute || plan.Data.Runs[1].Timeout.D() != 10*time.Second ||
		plan.Data.Runs[1].MaxLateness.D() != 30*time.Second {
		t.Fatalf("plan %+v", plan.Data)
	}
	// Nothing changed: 304 after the wait.
	if rec := do("GET", "/agent/v1/plan?wait=50ms", cred, "", "If-None-Match", etag); rec.Code != 304 {
		t.Fatalf("unchanged plan: %d %s", rec.Code, rec.Body)
	}
	// A change wakes a waiting poll at once, long before its 50 s.
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do("GET", "/agent/v1/plan?wait=50s", cred, "", "If-None-Match", etag) }()
	must(st.CreateCheck(ctx, store.Check{Name: "more", Plugins: []string{"load"}, Hosts: []string{"web1"}, Schedule: "every-minute"}))
	select {
	case rec := <-done:
		if rec.Code != 200 || rec.Header().Get("ETag") == etag || !strings.Contains(rec.Body.String(), `"check":"more"`) {
			t.Fatalf("changed plan: %d %s", rec.Code, rec.Body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a configuration change did not wake the plan long poll")
	}
	// Admins may read any host's plan; bad waits are refused.
	if rec := do("GET", "/agent/v1/plan?host=web1", admin, ""); rec.Code != 200 {
		t.Fatalf("admin plan: %d %s", rec.Code, rec.Body)
	}
	if rec := do("GET", "/agent/v1/plan?wait=soon", cred, ""); rec.Code != 400 {
		t.Fatalf("bad wait: %d %s", rec.Code, rec.Body)
	}
	// Revoking the agent locks it out at once.
	if err := st.RevokeAgent(ctx, "web1"); err != nil {
		t.Fatal(err)
	}
	if rec := do("GET", "/agent/v1/plan", cred, ""); rec.Code != 401 {
		t.Fatalf("revoked agent: %d %s", rec.Code, rec.Body)
	}
}
