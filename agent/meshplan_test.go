package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/mesh"
	"github.com/prophasis/prophasis/wire"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeMeshPort is a port free on TCP and UDP at ip.
func freeMeshPort(t *testing.T, ip string) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatalf("loopback %s: %v", ip, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", ip, port)); err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestMeshFollowsThePlan: the mesh starts when the plan turns it on,
// reports its view to the server, keeps the settings for the next start
// (0600), restarts when they change, survives settings it cannot use, and
// stops when the plan turns it off.
func TestMeshFollowsThePlan(t *testing.T) {
	var mu sync.Mutex
	var views []wire.MeshView
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/agent/v1/mesh-view" || r.Header.Get("Authorization") != "Bearer pha_1_x" {
			http.Error(w, `{"status":"error","error":"unexpected"}`, http.StatusBadRequest)
			return
		}
		v, err := wire.DecodeMeshView(r.Body)
		if err != nil {
			http.Error(w, `{"status":"error","error":"bad view"}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		views = append(views, v)
		mu.Unlock()
		w.Write([]byte(`{"status":"success","data":{}}`))
	}))
	defer srv.Close()
	data := t.TempDir()
	if err := (state{Server: srv.URL, Host: "web1", Credential: "pha_1_x", AllowHTTP: true}).save(data); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctl := &meshControl{dataDir: data, logger: slog.New(slog.NewTextHandler(&logs, nil)), checks: &mesh.CheckStates{},
		bind: "127.0.0.2", updates: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ctl.follow(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\nlog:\n%s", what, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	port := freeMeshPort(t, "127.0.0.2")
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	pm := &wire.PlanMesh{Cluster: "lab", Port: port, Keys: []string{key}, Allow: "127.0.0.0/8",
		Interval: wire.Millis(200 * time.Millisecond), Down: wire.Millis(5 * time.Second), Remove: wire.Millis(time.Hour)}
	ctl.plan(wire.Plan{Host: "web1", Mesh: pm})
	want := fmt.Sprintf("127.0.0.2:%d", port)
	waitFor("a mesh view report", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(views) > 0 && views[len(views)-1].Host == "web1" && views[len(views)-1].Addr == want
	})
	fi, err := os.Stat(filepath.Join(data, meshPlanFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved settings: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(data, meshPlanFile)); !strings.Contains(string(b), `"cluster":"lab"`) {
		t.Fatalf("saved settings: %s", b)
	}

	// Settings it cannot use: logged, the agent goes on.
	bad := *pm
	bad.Keys = []string{"not base64!"}
	ctl.plan(wire.Plan{Host: "web1", Mesh: &bad})
	waitFor("the refusal", func() bool { return strings.Contains(logs.String(), "mesh key 1 is not base64") })
	if strings.Contains(logs.String(), key) {
		t.Fatal("the key is in the log")
	}

	// Good settings again, then off: the port is free again.
	changed := *pm
	changed.Cluster = "lab2"
	ctl.plan(wire.Plan{Host: "web1", Mesh: &changed})
	waitFor("a restart with the new settings", func() bool { return strings.Count(logs.String(), "mesh on, as the server's plan says") == 2 })
	ctl.plan(wire.Plan{Host: "web1"})
	waitFor("the mesh off and its port free", func() bool {
		if !strings.Contains(logs.String(), "mesh off, as the server's plan says") {
			return false
		}
		u, err := net.ListenPacket("udp", want)
		if err != nil {
			return false
		}
		u.Close()
		return true
	})
	if _, err := os.Stat(filepath.Join(data, meshPlanFile)); !os.IsNotExist(err) {
		t.Fatalf("settings file after the mesh was turned off: %v", err)
	}
	var v wire.MeshView
	mu.Lock()
	v = views[len(views)-1]
	mu.Unlock()
	if b, _ := json.Marshal(v); strings.Contains(string(b), key) {
		t.Fatal("the key is in a report")
	}
}

// TestMeshViewWire: the wire form leaves out the agent itself (its address
// becomes Addr) and peers the server would refuse.
func TestMeshViewWire(t *testing.T) {
	now := time.Now()
	v := meshView(mesh.ClusterView{Node: "web1", Time: now, Hosts: []mesh.HostView{
		{Name: "web1", Addr: "10.0.0.1:7946", Up: true, LastSeen: now},
		{Name: "web2", Up: true, LastSeen: now},
		{Name: "bad name", Up: true},
		{Name: "web3", Up: false},
	}}, time.Minute)
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	if v.Addr != "10.0.0.1:7946" || v.Time != now.UnixMilli() || len(v.Peers) != 2 || v.Peers[0].Host != "web2" || !v.Peers[0].Alive || v.Peers[0].LastSeen != now.UnixMilli() ||
		v.Peers[1].Host != "web3" || v.Peers[1].Alive || v.Peers[1].LastSeen != 0 {
		t.Fatalf("view %+v", v)
	}
	if v := meshView(mesh.ClusterView{Node: "web1", Hosts: []mesh.HostView{{Name: "web1", Addr: "0.0.0.0:7946"}}}, time.Minute); v.Addr != "" {
		t.Fatalf("unspecified address kept: %q", v.Addr)
	}
}
