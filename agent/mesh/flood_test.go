package mesh

import (
	"crypto/rand"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestMeshSurvivesFlood: two real nodes on loopback, and an attacker inside
// the join allow list but without the key: thousands of UDP packets
// (random bytes, random bytes behind the right cluster label, oversized
// ones) and hundreds of TCP connections (garbage, or held open saying
// nothing). Everything is dropped and counted by reason, and the mesh goes
// on: a new status still crosses within seconds and nobody is marked down.
func TestMeshSurvivesFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("real network timers: seconds")
	}
	ips := []string{"127.0.0.20", "127.0.0.21"}
	port := freePort(t, ips...)
	base := func(i int) Options {
		return Options{Name: fmt.Sprintf("f%d", i+1), BindAddr: ips[i], Port: port, Cluster: "flood", Keys: [][]byte{testKey},
			Seeds: []string{fmt.Sprintf("%s:%d", ips[0], port)}, AllowJoin: MustParseRanges("127.0.0.20-29"),
			Interval: 200 * time.Millisecond, Down: 3 * time.Second, Remove: time.Hour}
	}
	var load atomic.Int64
	a := startNode(t, base(0), &load)
	b := startNode(t, base(1), &load)
	both := map[string]bool{"f1": true, "f2": true}
	eventually(t, 20*time.Second, "converge", func() error {
		if err := hostsUp(a, both); err != nil {
			return err
		}
		return hostsUp(b, both)
	})

	target := net.JoinHostPort(ips[0], strconv.Itoa(port))
	from := &net.UDPAddr{IP: net.ParseIP("127.0.0.22")}
	udp, err := net.DialUDP("udp", from, must(net.ResolveUDPAddr("udp", target)))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// UDP: random, labelled random, oversized; as fast as the socket goes.
	wg.Go(func() {
		junk := make([]byte, 1200)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			rand.Read(junk)
			pkt := junk[:1+i%len(junk)]
			switch i % 3 {
			case 1:
				pkt, _ = memberlist.AddLabelHeaderToPacket(pkt, "flood")
			case 2:
				pkt = make([]byte, 60000)
			}
			udp.Write(pkt)
			if i%200 == 0 {
				time.Sleep(time.Millisecond) // let the kernel buffer drain now and then
			}
		}
	})
	// TCP: garbage and silent connections, 300 of each.
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.22")}, Timeout: 2 * time.Second}
	var held []net.Conn
	var heldMu sync.Mutex
	for i := range 600 {
		wg.Go(func() {
			c, err := dialer.Dial("tcp", target)
			if err != nil {
				return
			}
			if i%2 == 0 {
				junk := make([]byte, 4096)
				rand.Read(junk)
				if i%4 == 0 {
					junk, _ = memberlist.AddLabelHeaderToPacket(junk, "flood")
				}
				c.Write(junk)
				c.Close()
				return
			}
			heldMu.Lock()
			held = append(held, c)
			heldMu.Unlock()
		})
	}
	// Meanwhile the mesh works: f2's new status reaches f1.
	time.Sleep(500 * time.Millisecond)
	load.Store(4242)
	took := eventually(t, 10*time.Second, "a status crosses during the flood", func() error {
		for _, h := range a.m.View().Hosts {
			if h.Name == "f2" && (!h.Up || len(h.Statuses) == 0 || h.Statuses[0].Load1 != 42.42) {
				return fmt.Errorf("f1 has f2 up=%v statuses=%d", h.Up, len(h.Statuses))
			}
		}
		return nil
	})
	t.Logf("a status crossed in %s during the flood", took)
	time.Sleep(4 * time.Second) // longer than Down: nobody may be marked down
	close(stop)
	wg.Wait()
	heldMu.Lock()
	for _, c := range held {
		c.Close()
	}
	heldMu.Unlock()
	if err := hostsUp(a, both); err != nil {
		t.Error(err)
	}
	if err := hostsUp(b, both); err != nil {
		t.Error(err)
	}
	var counts strings.Builder
	a.m.Metrics().WritePrometheus(&counts)
	for _, reason := range []string{"wrong_cluster", "undecryptable", "malformed"} {
		c := a.m.Metrics().GetOrCreateCounter(fmt.Sprintf(`prophasis_mesh_refused_total{node="f1",reason=%q}`, reason)).Get()
		if c == 0 {
			t.Errorf("no %s drops counted on f1:\n%s", reason, counts.String())
		}
	}
	t.Logf("f1's counters after the flood:\n%s", grepLines(counts.String(), "refused"))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
