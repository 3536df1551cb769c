package agentapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// enrolled enrols host and returns its agent credential.
func (a *testAPI) enrolled(t *testing.T, host string) string {
	t.Helper()
	enr, err := a.st.CreateEnrollment(context.Background(), host, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := a.do("POST", "/agent/v1/enroll", enr.Token, `{"host":"`+host+`"}`)
	var out struct {
		Data wire.EnrollResponse `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.Credential == "" {
		t.Fatalf("enrol %s: %d %s", host, rec.Code, rec.Body)
	}
	return out.Data.Credential
}

func TestMeshView(t *testing.T) {
	views := reach.New()
	a := newTestAPI(t, func(d *Deps) { d.Reach = views })
	web1, web2 := a.enrolled(t, "web1"), a.enrolled(t, "web2")

	f := func(token, body string, code int, want string) {
		t.Helper()
		rec := a.do("POST", "/agent/v1/mesh-view", token, body)
		if rec.Code != code || !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("%s: %d %s, want %d with %q", body, rec.Code, rec.Body, code, want)
		}
	}
	f(web1, `{"host":"web1","addr":"127.0.0.2:7946","interval":1000,"peers":[{"host":"web3","alive":true,"last_seen":1}]}`, 200, `"peers":1`)
	f(web2, `{"host":"web2","interval":1000,"peers":[{"host":"web3","alive":false}]}`, 200, `"peers":1`)
	if got := views.Seeds("x"); !slices.Equal(got, []string{"127.0.0.2:7946"}) {
		t.Fatalf("seeds %v: a view without addr and the mesh off gives no seed", got)
	}
	m := store.DefaultMeshSettings()
	m.Enabled, m.Cluster, m.Allow, m.Port = true, "lab", "192.0.2.0/24", 7950
	if _, err := a.st.SetMeshSettings(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	f(web2, `{"host":"web2","interval":1000,"peers":[{"host":"web3","alive":false}]}`, 200, `"peers":1`)
	if got := views.Seeds("x"); !slices.Equal(got, []string{"127.0.0.2:7946", "192.0.2.1:7950"}) {
		t.Fatalf("seeds %v: want the remote address at the mesh port for a view without addr", got)
	}
	if r := views.Of("web3", time.Now()); r.Text != "web3 unreachable from the server, but alive according to 1 of 2 peers" {
		t.Fatalf("reachability %+v", r)
	}
	// Bad input: refused with the reason, nothing kept.
	f(web1, `{"host":"web2","interval":1000,"peers":[{"host":"web3","alive":true}]}`, 403, `may report its own mesh view only`)
	f(web1, `{"host":"web1","interval":1000,"peers":[],"x":1}`, 400, `unknown field`)
	f(web1, `{"host":"web1","interval":1000,"peers":[{"host":"web1"}]}`, 400, `not its own peer`)
	f(web1, strings.Repeat(" ", wire.MaxMeshViewBytes+1), 400, `over 1048576 bytes`)
	f("", `{"host":"web1","interval":1000,"peers":[]}`, 401, ``)
	if r := views.Of("web3", time.Now()); r.Alive != 1 || r.Peers != 2 {
		t.Fatalf("a refused view changed the reachability: %+v", r)
	}
}

func TestPlanCarriesMesh(t *testing.T) {
	ctx := context.Background()
	views := reach.New()
	a := newTestAPI(t, func(d *Deps) { d.Reach = views })
	web1 := a.enrolled(t, "web1")
	plan := func(etag string) (wire.Plan, string, int) {
		t.Helper()
		rec := a.do("GET", "/agent/v1/plan?wait=2s", web1, "", "If-None-Match", etag)
		var out struct {
			Data wire.Plan `json:"data"`
		}
		if rec.Code == 200 {
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
		}
		return out.Data, rec.Header().Get("ETag"), rec.Code
	}
	p, etag, code := plan("")
	if code != 200 || p.Mesh != nil {
		t.Fatalf("mesh off: %d %+v", code, p.Mesh)
	}
	m := store.DefaultMeshSettings()
	m.Enabled, m.Cluster, m.Allow = true, "lab", "127.0.0.0/8"
	saved, err := a.st.SetMeshSettings(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	p, etag2, code := plan(etag)
	if code != 200 || p.Mesh == nil || p.Mesh.Cluster != "lab" || !slices.Equal(p.Mesh.Keys, saved.Keys) || p.Mesh.Port != 7946 ||
		p.Mesh.Down.D() != 30*time.Minute || len(p.Mesh.Seeds) != 0 {
		t.Fatalf("mesh on: %d %+v", code, p.Mesh)
	}
	if etag2 == etag {
		t.Fatal("the ETag did not change with the mesh settings")
	}
	// An admin reading web1's plan sees the keys' fingerprints, not the keys.
	rec := a.do("GET", "/agent/v1/plan?host=web1", a.admin, "")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), saved.Keys[0]) {
		t.Fatalf("an admin's view of the plan: %d %s", rec.Code, rec.Body)
	}
	var adm struct {
		Data wire.Plan `json:"data"`
	}
	sum := sha256.Sum256([]byte(saved.Keys[0]))
	if err := json.Unmarshal(rec.Body.Bytes(), &adm); err != nil || adm.Data.Mesh == nil ||
		!slices.Equal(adm.Data.Mesh.Keys, []string{"sha256:" + hex.EncodeToString(sum[:8])}) {
		t.Fatalf("an admin's view of the plan's keys: %+v %v", adm.Data.Mesh, err)
	}
	// A waiting poll wakes when another agent reports its mesh address,
	// and the plan has it as a seed; the agent's own address is none.
	go func() {
		time.Sleep(200 * time.Millisecond)
		views.Report(wire.MeshView{Host: "web1", Addr: "127.0.0.2:7946", Interval: 1000}, "127.0.0.2:7946", time.Now())
		views.Report(wire.MeshView{Host: "web2", Addr: "127.0.0.3:7946", Interval: 1000}, "127.0.0.3:7946", time.Now())
	}()
	start := time.Now()
	p, _, code = plan(etag2)
	if code != 200 || !slices.Equal(p.Mesh.Seeds, []string{"127.0.0.3:7946"}) || time.Since(start) > 200*time.Millisecond+reach.SeedsSettle+time.Second {
		t.Fatalf("after a report: %d seeds %v after %s", code, p.Mesh.Seeds, time.Since(start))
	}
}
