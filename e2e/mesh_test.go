package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tcpProxy forwards connections to a server until Cut: then it stops
// listening and closes every connection, as a network that no longer
// reaches the server does for one host.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.cut {
				c.Close()
				s.Close()
			} else {
				p.conns = append(p.conns, c, s)
			}
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(p.Cut)
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

// Cut stops forwarding for good.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// meshPort finds a port free on TCP and UDP on every address given.
func meshPort(t *testing.T, ips ...string) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatalf("loopback %s not usable: %v", ips[0], err)
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
			ok = ok && err1 == nil && err2 == nil
		}
		if ok {
			return port
		}
	}
	t.Fatal("no port free on every address")
	return 0
}

// reachabilityAnswer is GET /manage/v1/hosts/{name}/reachability's data.
type reachabilityAnswer struct {
	ResultsStopped bool `json:"results_stopped"`
	Reachability   struct {
		Verdict string `json:"verdict"`
		Alive   int    `json:"alive"`
		Peers   int    `json:"peers"`
		Text    string `json:"text"`
	} `json:"reachability"`
}

// TestMeshReachability: a server and three agents on 127.0.0.2-4. An admin
// turns the mesh on through the management API (no mesh flags on the
// agents, only --mesh-bind because the three share one machine); the
// agents join each other through the seeds in the server's plan and
// report their views. When web3's network to the server is cut, its
// checks go stale and the host says "web3 unreachable from the server, but
// alive according to 2 of 2 peers", and so does the alert's webhook; when
// web3 stops, "web3 down according to all 2 peers" within the mesh's down
// period.
func TestMeshReachability(t *testing.T) {
	requireChromium(t) // the host page is checked in a browser
	s := startServer(t, "", "--tls-auto", "--tls-hosts", "127.0.0.1")
	serverAddr := strings.TrimPrefix(s.URL, "https://")
	hosts := []string{"web1", "web2", "web3"}
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	port := meshPort(t, ips...)
	hook := startHook(t, "mesh-hook-secret")

	api := s.manage
	api("POST", "/schedules", map[string]any{"name": "fast", "intervals": []map[string]any{{"period": "2s"}}})
	api("POST", "/alert-modules", map[string]any{"name": "hook", "kind": "webhook",
		"config": map[string]any{"url": hook.URL, "secret": "mesh-hook-secret"}})

	agents := map[string]*agentProc{}
	proxies := map[string]*tcpProxy{}
	for i, h := range hosts {
		token, caSHA := enrolmentToken(t, s, h)
		proxies[h] = startProxy(t, serverAddr)
		dir := filepath.Join(t.TempDir(), h)
		agents[h] = startAgent(t, "--server", "https://"+proxies[h].Addr(), "--enroll-token", token, "--ca-sha256", caSHA,
			"--data-dir", dir, "--host", h, "--mesh-bind", ips[i])
		if _, err := waitFile(filepath.Join(dir, "agent.json"), 30*time.Second); err != nil {
			t.Fatalf("agent %s did not enrol: %v\n%s", h, err, agents[h].Log())
		}
	}
	waitFor := func(what string, d time.Duration, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > d {
				for h, a := range agents {
					t.Logf("agent %s log:\n%s", h, a.Log())
				}
				t.Fatalf("%s: not within %s\nserver log:\n%s", what, d, s.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
		return time.Since(start)
	}
	api("POST", "/checks", map[string]any{"name": "alive", "plugins": []string{"load"}, "hosts": hosts, "schedule": "fast"})
	waitFor("results of every agent", 60*time.Second, func() bool {
		n, _ := s.query(`prophasis_value{plugin="load",check="alive"}`)
		return n == 3
	})
	api("POST", "/alert-rules", map[string]any{"name": "host-unknown", "to": []string{"unknown"},
		"scope": map[string]any{"hosts": []string{"web3"}}, "modules": []string{"hook"}})

	// The admin turns the mesh on: the server makes the key.
	const down = 3 * time.Second
	b, _ := json.Marshal(map[string]any{"enabled": true, "cluster": "e2e", "port": port, "allow": "127.0.0.2-4",
		"interval": "1s", "down": "3s", "remove": "1h"})
	code, body := s.do("PUT", "/manage/v1/mesh", "application/json", strings.NewReader(string(b)))
	if code != 200 || !redactedKeys(body) {
		t.Fatalf("enable the mesh: %d %s", code, body)
	}
	// Bad input changes nothing.
	code, body = s.do("PUT", "/manage/v1/mesh", "application/json", strings.NewReader(`{"allow":"everyone"}`))
	if code != 400 || !strings.Contains(string(body), `\"everyone\" is not an address`) {
		t.Fatalf("bad allow list: %d %s", code, body)
	}

	reach := func(h string) reachabilityAnswer {
		t.Helper()
		code, body := s.do("GET", "/manage/v1/hosts/"+h+"/reachability", "", nil)
		var env struct {
			Data reachabilityAnswer `json:"data"`
		}
		if code != 200 || json.Unmarshal(body, &env) != nil {
			t.Fatalf("reachability of %s: %d %s", h, code, body)
		}
		return env.Data
	}
	// The agents join through the seeds the server hands out, and each
	// sees the two others alive.
	took := waitFor("every agent seen alive by both peers", 60*time.Second, func() bool {
		for _, h := range hosts {
			if r := reach(h); r.Reachability.Alive != 2 || r.Reachability.Peers != 2 || r.ResultsStopped {
				return false
			}
		}
		return true
	})
	t.Logf("mesh converged %s after it was enabled", took.Round(100*time.Millisecond))
	for h, a := range agents {
		if !strings.Contains(a.Log(), "mesh on, as the server's plan says") {
			t.Fatalf("agent %s did not start the mesh from the plan:\n%s", h, a.Log())
		}
	}

	// web3's network to the server is cut; its mesh still runs.
	proxies["web3"].Cut()
	const alive = "web3 unreachable from the server, but alive according to 2 of 2 peers"
	hostSays := func(want string) func() bool {
		return func() bool {
			code, body := s.do("GET", "/manage/v1/states?host=web3", "", nil)
			var env struct {
				Data struct {
					Hosts []struct {
						State        string `json:"state"`
						Reason       string `json:"reason"`
						Reachability *struct {
							Text string `json:"text"`
						} `json:"reachability"`
					} `json:"hosts"`
				} `json:"data"`
			}
			if code != 200 || json.Unmarshal(body, &env) != nil {
				t.Fatalf("states: %d %s", code, body)
			}
			hs := env.Data.Hosts
			return len(hs) == 1 && hs[0].Reachability != nil && hs[0].Reachability.Text == want
		}
	}
	took = waitFor("web3 stale and alive according to its peers", 90*time.Second, hostSays(alive))
	t.Logf("web3 shown as %q %s after its network was cut", alive, took.Round(100*time.Millisecond))
	if r := reach("web3"); !r.ResultsStopped || r.Reachability.Verdict != "alive" {
		t.Fatalf("web3 reachability %+v", r)
	}
	// The host page shows it.
	user := credentials{"alice", "alice-password-1"}
	api("POST", "/users", map[string]string{"name": user.User, "role": "viewer", "password": user.Password})
	ctx := startBrowser(t, desktopWidth, desktopHeight, chromedp.IgnoreCertErrors) // --tls-auto is self-signed
	uiLogin(ctx, s.URL+"/hosts/web3", user)
	waitJS(ctx, "the host page's mesh line", `(document.querySelector('[data-testid=reachability]')||{}).textContent === 'Mesh: `+alive+`' ||
		((document.querySelector('[data-testid=reachability]')||{}).textContent||'').startsWith('Mesh: `+alive+` ·')`, 30*time.Second)
	screenshot(ctx, "host-unreachable")
	waitFor("the alert carries the sentence", 30*time.Second, func() bool {
		alerts, _, _ := hook.received()
		for _, a := range alerts {
			if a.State == "unknown" && strings.Contains(a.Reason, alive) {
				return true
			}
		}
		return false
	})

	// web3 stops entirely: its peers mark it down after the down period.
	if err := agents["web3"].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-agents["web3"].done
	const gone = "web3 down according to all 2 peers"
	took = waitFor("web3 down according to its peers", 4*down, hostSays(gone))
	t.Logf("web3 shown as %q %s after it stopped (down period %s)", gone, took.Round(100*time.Millisecond), down)
	// The peers mark it down once it is silent for the down period (their
	// liveness ticks every down/10), report within a second (the interval),
	// and the test polls every 200 ms.
	if limit := down + 3*time.Second; took > limit {
		t.Errorf("web3 shown down %s after it stopped; want within %s (the down period %s, a report interval, slack)", took, limit, down)
	}

	// Still unknown, so no second alert; the system log notes the change
	// at the next staleness tick (every 10 s).
	waitFor("the system log notes the mesh's new verdict", 30*time.Second, func() bool {
		code, body := s.do("GET", "/manage/v1/system-log?component=mesh&host=web3", "", nil)
		return code == 200 && strings.Contains(string(body), "the agent mesh's view changed: "+gone)
	})

	// The mesh's key is a secret: never in an answer or a log.
	code, body = s.do("GET", "/manage/v1/mesh", "", nil)
	if code != 200 || !redactedKeys(body) {
		t.Fatalf("mesh settings: %d %s", code, body)
	}
	key := meshKey(t, s, "web1")
	for name, log := range map[string]string{"server": s.Log(), "web1": agents["web1"].Log(), "web3": agents["web3"].Log()} {
		if strings.Contains(log, key) {
			t.Errorf("the mesh key is in the %s log", name)
		}
	}
	_, bodies, _ := hook.received()
	if strings.Contains(strings.Join(bodies, ""), key) {
		t.Error("the mesh key is in a notification")
	}
}

// meshKey reads the mesh key from host's plan, as its agent gets it.
func meshKey(t *testing.T, s *serverProc, host string) string {
	t.Helper()
	code, body := s.do("GET", "/agent/v1/plan?host="+host+"&wait=0s", "", nil)
	var env struct {
		Data struct {
			Mesh struct {
				Keys []string `json:"keys"`
			} `json:"mesh"`
		} `json:"data"`
	}
	if code != 200 || json.Unmarshal(body, &env) != nil || len(env.Data.Mesh.Keys) != 1 || len(env.Data.Mesh.Keys[0]) < 20 {
		t.Fatalf("plan of %s: %d %s", host, code, body)
	}
	return env.Data.Mesh.Keys[0]
}

// redactedKeys tells whether a mesh settings answer shows one key, as
// <secret>.
func redactedKeys(body []byte) bool {
	var env struct {
		Data struct {
			Keys []string `json:"keys"`
		} `json:"data"`
	}
	return json.Unmarshal(body, &env) == nil && len(env.Data.Keys) == 1 && env.Data.Keys[0] == "<secret>"
}
