package mesh

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The partition test runs each mesh node in a network namespace of its
// own (ip netns, veth pairs to a switch namespace holding two bridges), as
// a separate process: the test binary started again with partitionNodeEnv
// set, under `ip netns exec`. Each node prints its view (host -> up) as a
// JSON line whenever it changes; the test reads them. Moving half of the
// veths to the second bridge partitions the network; moving them back
// heals it.

const partitionNodeEnv = "PROPHASIS_MESH_PARTITION_NODE"

// partitionNode is the child's configuration.
type partitionNode struct {
	Name, Addr, Seed string
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(partitionNodeEnv); cfg != "" {
		runPartitionNode(cfg)
		return
	}
	os.Exit(m.Run())
}

// runPartitionNode runs one mesh node until SIGTERM, printing its view.
func runPartitionNode(cfg string) {
	var pn partitionNode
	if err := json.Unmarshal([]byte(cfg), &pn); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	m, err := New(Options{Name: pn.Name, BindAddr: pn.Addr, Port: DefaultPort, Cluster: "partition", Keys: [][]byte{testKey},
		Seeds: []string{pn.Seed}, AllowJoin: MustParseRanges("10.99.0.0/24"), Interval: 500 * time.Millisecond,
		Down: 3 * time.Second, Remove: time.Hour},
		func(context.Context) Status { return Status{Users: 1, MemTotal: 1 << 30} })
	if err == nil {
		err = m.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		last := ""
		for ctx.Err() == nil {
			up := map[string]bool{}
			for _, h := range m.View().Hosts {
				up[h.Name] = h.Up
			}
			b, _ := json.Marshal(up)
			if string(b) != last {
				last = string(b)
				fmt.Println(last)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// netns runs ip with args, failing the test on error.
func netns(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestMeshPartition: four nodes in four network namespaces converge; the
// network splits into {p1, p2} and {p3, p4}: each half keeps its own view
// (its half up, the other down within Down); the network heals and both
// halves merge back into one view with all four up.
func TestMeshPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("real network timers: seconds")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("iproute2's ip is not installed (.ci/run installs it)")
	}
	// Names unique to this run, so parallel runs do not collide.
	tag := fmt.Sprintf("%d", os.Getpid()%100000)
	sw := "psw" + tag
	netns(t, "netns", "add", sw)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", sw).Run() })
	for _, br := range []string{"br0", "br1"} {
		netns(t, "-n", sw, "link", "add", br, "type", "bridge")
		netns(t, "-n", sw, "link", "set", br, "up")
	}
	names := []string{"p1", "p2", "p3", "p4"}
	nodes := map[string]*partitionChild{}
	for i, name := range names {
		ns := name + "-" + tag
		netns(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		host, port := "h"+name+tag, "s"+name+tag
		netns(t, "link", "add", host, "netns", ns, "type", "veth", "peer", "name", port, "netns", sw)
		netns(t, "-n", ns, "addr", "add", fmt.Sprintf("10.99.0.%d/24", i+1), "dev", host)
		netns(t, "-n", ns, "link", "set", host, "up")
		netns(t, "-n", ns, "link", "set", "lo", "up")
		netns(t, "-n", sw, "link", "set", port, "master", "br0")
		netns(t, "-n", sw, "link", "set", port, "up")
	}
	for i, name := range names {
		cfg, _ := json.Marshal(partitionNode{Name: name, Addr: fmt.Sprintf("10.99.0.%d", i+1), Seed: "10.99.0.1"})
		nodes[name] = startPartitionChild(t, name+"-"+tag, string(cfg))
	}
	all := map[string]bool{"p1": true, "p2": true, "p3": true, "p4": true}
	wait := func(what string, d time.Duration, want map[string]map[string]bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			ok := true
			for name, w := range want {
				if !nodes[name].sees(w) {
					ok = false
				}
			}
			if ok {
				return time.Since(start)
			}
			if time.Since(start) > d {
				var b strings.Builder
				for _, name := range names {
					fmt.Fprintf(&b, "%s sees %v\n", name, nodes[name].view())
				}
				t.Fatalf("%s: not within %s\n%s", what, d, b.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	took := wait("converge", 30*time.Second, map[string]map[string]bool{"p1": all, "p2": all, "p3": all, "p4": all})
	t.Logf("4 namespaces converged in %s", took)

	// Split: p3 and p4 move to the other bridge.
	for _, name := range []string{"p3", "p4"} {
		netns(t, "-n", sw, "link", "set", "s"+name+tag, "master", "br1")
	}
	left := map[string]bool{"p1": true, "p2": true, "p3": false, "p4": false}
	right := map[string]bool{"p1": false, "p2": false, "p3": true, "p4": true}
	took = wait("each half keeps its own view", 30*time.Second,
		map[string]map[string]bool{"p1": left, "p2": left, "p3": right, "p4": right})
	t.Logf("partitioned views settled in %s (Down = 3 s)", took)

	// Heal: back on one bridge, the halves find each other again.
	for _, name := range []string{"p3", "p4"} {
		netns(t, "-n", sw, "link", "set", "s"+name+tag, "master", "br0")
	}
	took = wait("merge back", 60*time.Second, map[string]map[string]bool{"p1": all, "p2": all, "p3": all, "p4": all})
	t.Logf("halves merged back in %s", took)
}

// partitionChild is one node process and the latest view it printed.
type partitionChild struct {
	mu   sync.Mutex
	last map[string]bool
}

func startPartitionChild(t *testing.T, ns, cfg string) *partitionChild {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), partitionNodeEnv+"="+cfg)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &partitionChild{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var v map[string]bool
			if json.Unmarshal(sc.Bytes(), &v) == nil {
				c.mu.Lock()
				c.last = v
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
	})
	return c
}

func (c *partitionChild) view() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// sees reports whether the child's latest view is exactly want.
func (c *partitionChild) sees(want map[string]bool) bool {
	v := c.view()
	if len(v) != len(want) {
		return false
	}
	for k, up := range want {
		if got, ok := v[k]; !ok || got != up {
			return false
		}
	}
	return true
}
