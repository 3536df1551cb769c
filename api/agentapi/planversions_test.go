package agentapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// publish stores version ver of plugin name with a manifest declaring
// platforms and a parameter mount (default "/"); its hash is made of c.
func publish(t *testing.T, st store.Store, name, ver string, c byte, platforms string, current bool) {
	t.Helper()
	m := `{"name":"` + name + `","version":"` + ver + `","description":"d","kind":"exec","entrypoint":"bin/x.sh",
		"args":["-p","${mount}","$$HOME"],"platforms":` + platforms + `,
		"parameters":[{"name":"mount","type":"string","default":"/"},{"name":"warn","type":"int","default":80}]}`
	_, err := st.PublishPluginVersion(context.Background(), store.PluginVersion{
		Plugin: name, Version: ver, SHA256: strings.Repeat(string(c), 64), Kind: "exec", Entrypoint: "bin/x.sh",
		Args: []string{"-p", "${mount}", "$$HOME"}, Manifest: json.RawMessage(m), Signature: "sig-" + ver,
	}, current)
	if err != nil {
		t.Fatal(err)
	}
}

func TestPlanVersionsAndParams(t *testing.T) {
	a := newTestAPI(t, nil)
	st := a.st
	ctx := context.Background()
	enr, err := st.CreateEnrollment(ctx, "web1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Enroll(ctx, enr.Token, store.AgentInfo{OS: "linux", Arch: "amd64"}); err != nil {
		t.Fatal(err)
	}
	publish(t, st, "disk", "1.0.0", 'a', `["linux/amd64"]`, true)
	publish(t, st, "disk", "2.0.0", 'b', `[]`, true)
	publish(t, st, "raid", "1.0.0", 'c', `["linux/arm64"]`, true)
	mustDo := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(st.CreateSchedule(ctx, store.Schedule{Name: "m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}))
	mustDo(st.CreateCheck(ctx, store.Check{Name: "a-pinned", Plugins: []string{"disk"}, Hosts: []string{"web1"}, Schedule: "m",
		Versions: map[string]string{"disk": "1.0.0"}, Params: map[string]map[string]string{"disk": {"mount": "/var"}}}))
	mustDo(st.CreateCheck(ctx, store.Check{Name: "b-latest", Plugins: []string{"disk", "raid"}, Hosts: []string{"web1"}, Schedule: "m"}))

	plan := func() wire.Plan {
		t.Helper()
		rec := a.do("GET", "/agent/v1/plan?host=web1", a.admin, "")
		var env struct {
			Data wire.Plan `json:"data"`
		}
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &env) != nil {
			t.Fatalf("plan: %d %s", rec.Code, rec.Body)
		}
		return env.Data
	}
	p := plan()
	if len(p.Runs) != 2 {
		t.Fatalf("want the two disk runs (raid is for arm64 only), got %+v", p.Runs)
	}
	pinned, latest := p.Runs[0], p.Runs[1]
	if pinned.Version != "1.0.0" || pinned.SHA256 != strings.Repeat("a", 64) || pinned.Signature != "sig-1.0.0" ||
		strings.Join(pinned.Args, " ") != "-p /var $HOME" || pinned.Params["mount"] != "/var" || pinned.Params["warn"] != "80" {
		t.Errorf("pinned run: %+v", pinned)
	}
	if latest.Version != "2.0.0" || latest.SHA256 != strings.Repeat("b", 64) || strings.Join(latest.Args, " ") != "-p / $HOME" ||
		latest.Params["mount"] != "/" {
		t.Errorf("latest run: %+v", latest)
	}
	logs, err := st.SystemLog(ctx, store.LogQuery{Component: "plan"})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Plugin != "raid" || logs[0].Check != "b-latest" ||
		!strings.Contains(logs[0].Message, "runs on linux/arm64, not on this host's linux/amd64") {
		t.Fatalf("system log: %+v", logs)
	}
	plan() // logged once only
	if logs, _ := st.SystemLog(ctx, store.LogQuery{Component: "plan"}); len(logs) != 1 {
		t.Errorf("the skipped run was logged %d times", len(logs))
	}

	// Rolling disk back moves the run that follows latest, not the pinned one.
	mustDo(st.SetPluginVersion(ctx, "disk", "1.0.0"))
	p = plan()
	if p.Runs[1].Version != "1.0.0" || p.Runs[1].SHA256 != strings.Repeat("a", 64) || p.Runs[0].Version != "1.0.0" {
		t.Errorf("after rollback: %+v", p.Runs)
	}
}
