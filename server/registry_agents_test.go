package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent"
	"github.com/prophasis/prophasis/plugins/pkg"
)

// The "done when", in one process: a plugin made with `plugin new`,
// packed and pushed, attached to a check on a group of two agents, runs on
// both within seconds and is judged by its own classifier; a new version
// rolls out to both and a rollback rolls back.
func TestRegistryRolloutToAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and two agents")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	base := t.TempDir()
	// As root, agents run plugins as nobody, who must reach their data dirs.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	opts := Defaults()
	opts.Listen, opts.DataDir = addr, filepath.Join(base, "server")
	served := make(chan error, 1)
	go func() { served <- Run(ctx, opts, logger) }()
	url := "http://" + addr
	var token string
	waitFor(t, 20*time.Second, "the server", func() bool {
		b, err := os.ReadFile(filepath.Join(opts.DataDir, AdminTokenFile))
		token = strings.TrimSpace(string(b))
		if err != nil {
			return false
		}
		resp, err := http.Get(url + "/manage/v1/openapi.yaml")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	call := func(method, path, ctype string, body []byte) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	manage := func(method, path string, v any) []byte {
		t.Helper()
		b, _ := json.Marshal(v)
		code, resp := call(method, "/manage/v1"+path, "application/json", b)
		if code != 200 {
			t.Fatalf("%s %s: %d %s", method, path, code, resp)
		}
		return resp
	}

	// Two agents, enrolled.
	agentsDone := make(chan struct{}, 2)
	for _, host := range []string{"web1", "web2"} {
		manage("POST", "/hosts", map[string]any{"name": host})
		var enr struct {
			Data struct{ Token string }
		}
		if err := json.Unmarshal(manage("POST", "/enrollments", map[string]any{"host": host}), &enr); err != nil {
			t.Fatal(err)
		}
		o := agent.Options{DataDir: filepath.Join(base, host), Server: url, EnrollToken: enr.Data.Token, AllowHTTP: true, Host: host}
		go func() {
			if err := agent.Run(ctx, o, logger); err != nil && ctx.Err() == nil {
				t.Errorf("agent %s: %v", host, err)
			}
			agentsDone <- struct{}{}
		}()
	}
	defer func() {
		cancel()
		<-agentsDone
		<-agentsDone
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	}()

	// hello 1.0.0 judges every result major, 1.1.0 minor.
	push := func(version, state string) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "hello")
		if _, err := pkg.Skeleton(dir, "hello", "exec"); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(filepath.Join(dir, pkg.TestsDir)) // its fixture expects the skeleton's classifier
		mf := filepath.Join(dir, "manifest.json")
		b, _ := os.ReadFile(mf)
		b = bytes.Replace(b, []byte(`"version": "0.1.0"`), []byte(`"version": "`+version+`"`), 1)
		os.WriteFile(mf, b, 0o644)
		os.WriteFile(filepath.Join(dir, "classifier.lua"), []byte(`if n == 0 then return "unknown" end return "`+state+`"`), 0o644)
		var buf bytes.Buffer
		if err := pkg.Pack(dir, &buf); err != nil {
			t.Fatal(err)
		}
		code, resp := call("POST", "/manage/v1/plugin-packages", "application/gzip", buf.Bytes())
		var v struct {
			Data struct{ Version, SHA256 string }
		}
		if code != 201 || json.Unmarshal(resp, &v) != nil || v.Data.Version != version {
			t.Fatalf("push %s: %d %s", version, code, resp)
		}
		return v.Data.SHA256
	}
	push("1.0.0", "major")
	manage("POST", "/groups", map[string]any{"name": "web", "hosts": []string{"web1", "web2"}})
	manage("POST", "/schedules", map[string]any{"name": "fast", "intervals": []map[string]any{{"period": "1s"}}})
	manage("POST", "/checks", map[string]any{"name": "space", "plugins": []string{"hello"}, "groups": []string{"web"},
		"schedule": "fast", "params": map[string]any{"hello": map[string]string{"path": "/"}}})

	// waitStates waits until both hosts' hello results are judged want.
	waitStates := func(want string) {
		t.Helper()
		var last []byte
		ok := func() bool {
			last = manage("GET", "/states?check=space&plugin=hello", nil)
			var st struct {
				Data struct {
					Checks []struct{ Host, State, Message string }
				}
			}
			json.Unmarshal(last, &st)
			got := map[string]string{}
			for _, c := range st.Data.Checks {
				got[c.Host] = c.State
			}
			return got["web1"] == want && got["web2"] == want
		}
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("not %s on both hosts after 30 s: %s", want, last)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	start := time.Now()
	waitStates("major")
	t.Logf("1.0.0 judged on both agents %s after the check was made", time.Since(start).Round(time.Millisecond))

	sha2 := push("1.1.0", "minor")
	waitStates("minor")
	var vs struct {
		Data []struct {
			Version string
			Current bool
			Hosts   []string
		}
	}
	json.Unmarshal(manage("GET", "/plugins/hello/versions", nil), &vs)
	if len(vs.Data) != 2 || vs.Data[0].Version != "1.1.0" || !vs.Data[0].Current || strings.Join(vs.Data[0].Hosts, ",") != "web1,web2" {
		t.Fatalf("versions: %+v", vs.Data)
	}
	for _, h := range []string{"web1", "web2"} {
		waitFor(t, 10*time.Second, h+"'s package of 1.1.0", func() bool {
			_, err := os.Stat(filepath.Join(base, h, "plugins", sha2))
			return err == nil
		})
	}

	manage("POST", "/plugins/hello/rollback", map[string]any{})
	waitStates("major")
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not ready after %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
