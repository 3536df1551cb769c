package mesh

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testKey and otherKey are 32-byte AES keys.
var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
)

// freePort finds a port free on UDP and TCP on every address given.
func freePort(t *testing.T, ips ...string) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Skipf("loopback %s not usable: %v", ips[0], err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := true
		for _, ip := range ips {
			tl, err1 := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
			ul, err2 := net.ListenPacket("udp", fmt.Sprintf("%s:%d", ip, port))
			if tl != nil {
				tl.Close()
			}
			if ul != nil {
				ul.Close()
			}
			if err1 != nil || err2 != nil {
				ok = false
				break
			}
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

type testNode struct {
	m      *Mesh
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
}

func (n *testNode) stop() {
	n.cancel()
	<-n.done
}

func startNode(t *testing.T, opts Options, load *atomic.Int64) *testNode {
	t.Helper()
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	m, err := New(opts, func(context.Context) Status {
		return Status{Load1: float64(load.Load()) / 100, MemUsed: 1 << 30, MemTotal: 4 << 30, Users: 1,
			Processes: []Process{{Name: "<script>alert(1)</script>", CPU: 12.5, RSS: 1 << 20}},
			Errors:    []string{"kernel: <b>oops</b>"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{m: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		if err := m.Run(ctx); err != nil {
			t.Errorf("%s: Run: %v", opts.Name, err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-n.done
	})
	return n
}

var dumpOnFail func()

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < d {
		if err = cond(); err == nil {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if dumpOnFail != nil {
		dumpOnFail()
	}
	t.Fatalf("%s: not within %s: %v", what, d, err)
	return 0
}

// hostsUp checks that n's view lists want (name → up) and nothing else
// of the names in forbid.
func hostsUp(n *testNode, want map[string]bool, forbid ...string) error {
	v := n.m.View()
	got := map[string]HostView{}
	for _, h := range v.Hosts {
		got[h.Name] = h
	}
	for name, up := range want {
		h, ok := got[name]
		if !ok {
			return fmt.Errorf("%s does not list %s", v.Node, name)
		}
		if h.Up != up {
			return fmt.Errorf("%s has %s up=%v, want %v", v.Node, name, h.Up, up)
		}
		if up && len(h.Statuses) == 0 {
			return fmt.Errorf("%s has no status of %s", v.Node, name)
		}
	}
	for _, name := range forbid {
		if _, ok := got[name]; ok {
			return fmt.Errorf("%s lists %s", v.Node, name)
		}
	}
	return nil
}

// TestMeshOnLoopback runs five real meshes (memberlist over UDP and TCP)
// on 127.0.0.2-6, with a wrong-key, a wrong-cluster and an outside node
// beside them.
func TestMeshOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("real network timers: seconds")
	}
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"}
	port := freePort(t, ips...)
	seed := fmt.Sprintf("127.0.0.2:%d", port)
	dir := t.TempDir()
	base := func(i int) Options {
		return Options{
			Name: fmt.Sprintf("n%d", i+1), BindAddr: ips[i], Port: port, Cluster: "test", Keys: [][]byte{testKey},
			Seeds: []string{seed}, AllowJoin: MustParseRanges("127.0.0.2-8"), Interval: 200 * time.Millisecond,
			Down: 3 * time.Second, Remove: time.Hour, StateFile: filepath.Join(dir, fmt.Sprintf("n%d.json", i+1)),
		}
	}
	var load atomic.Int64
	var nodes []*testNode
	for i := range 5 {
		nodes = append(nodes, startNode(t, base(i), &load))
	}
	dumpOnFail = func() {
		for _, n := range nodes {
			var b strings.Builder
			n.m.Metrics().WritePrometheus(&b)
			t.Logf("%s queued %d\n%s", n.m.Name(), n.m.queue.NumQueued(), b.String())
		}
	}
	all := map[string]bool{"n1": true, "n2": true, "n3": true, "n4": true, "n5": true}
	took := eventually(t, 20*time.Second, "converge", func() error {
		for _, n := range nodes {
			if err := hostsUp(n, all); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("5 nodes converged in %s", took)

	// A change of status reaches everyone.
	load.Store(777)
	eventually(t, 10*time.Second, "new status spreads", func() error {
		for _, n := range nodes {
			for _, h := range n.m.View().Hosts {
				if h.Statuses[0].Load1 != 7.77 {
					return fmt.Errorf("%s has load %.2f for %s", n.m.Name(), h.Statuses[0].Load1, h.Name)
				}
			}
		}
		return nil
	})

	// Intruders: the wrong key, the wrong cluster name, an address outside
	// the allow list (with the right key and name).
	wrongKey := base(5)
	wrongKey.Name, wrongKey.Keys = "wrongkey", [][]byte{otherKey}
	wrongCluster := base(6)
	wrongCluster.Name, wrongCluster.Cluster = "wrongcluster", "other"
	outside := base(7)
	outside.Name, outside.AllowJoin = "outside", MustParseRanges("127.")
	var intruders []*testNode
	for _, o := range []Options{wrongKey, wrongCluster, outside} {
		intruders = append(intruders, startNode(t, o, &load))
	}

	// Stop n5: everyone else marks it down within Down (plus SWIM's
	// detection, which Leave makes immediate).
	stopped := time.Now()
	nodes[4].stop()
	down := map[string]bool{"n1": true, "n2": true, "n3": true, "n4": true, "n5": false}
	took = eventually(t, 15*time.Second, "n5 marked down", func() error {
		for _, n := range nodes[:4] {
			if err := hostsUp(n, down, "wrongkey", "wrongcluster", "outside"); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("n5 marked down on all 4 peers %s after it stopped (Down 3s)", took)
	// Down counts from when n5 was last seen alive, at the latest watch
	// tick (every Down/10 = 300 ms) before it stopped.
	if since := time.Since(stopped); since < 3*time.Second-400*time.Millisecond {
		t.Errorf("n5 marked down %s after it stopped, well before Down (3s)", since)
	}
	for _, n := range intruders {
		if v := n.m.View(); len(v.Hosts) != 1 {
			t.Errorf("%s got into the mesh: %d hosts", v.Node, len(v.Hosts))
		}
	}
	if got := nodes[0].m.Metrics().GetOrCreateCounter(`prophasis_mesh_refused_total{node="n1",reason="stream_outside_allow"}`).Get() +
		nodes[0].m.Metrics().GetOrCreateCounter(`prophasis_mesh_refused_total{node="n1",reason="packet_outside_allow"}`).Get(); got == 0 {
		t.Error("the outside node's attempts were not counted on n1")
	}

	// n5's state file remembers n1-n4; the others remember n5 down.
	sf, err := loadState(filepath.Join(dir, "n1.json"))
	if err != nil {
		t.Fatal(err)
	}
	foundDown := false
	for _, e := range sf.Hosts {
		if e.Name == "n5" && e.Down {
			foundDown = true
		}
	}
	if !foundDown {
		t.Errorf("n1's state file does not have n5 down: %+v", sf.Hosts)
	}

	// Restart n5: back up everywhere.
	nodes[4] = startNode(t, base(4), &load)
	took = eventually(t, 20*time.Second, "n5 back", func() error {
		for _, n := range nodes {
			if err := hostsUp(n, all); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("n5 back on all peers %s after restart", took)

	// The page, from an allowed address: every host, escaped.
	h := Handler(nodes[0].m, MustParseRanges("127."))
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("GET / = %d", rec.Code)
	}
	for name := range all {
		if !strings.Contains(string(body), "<h2>"+name+" ") {
			t.Errorf("page does not show %s", name)
		}
	}
	if strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("a process name with <script> is not escaped")
	}
}
