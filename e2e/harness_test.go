// Package e2e holds the end-to-end tests: they build the real binaries, start
// them as processes on loopback and talk to them over HTTP, as users and
// clients (Grafana, promtool, the Prometheus Go client) do.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the binaries TestMain builds.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "prophasis-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", dir+"/", "../cmd/prophasis", "../cmd/prophasis-agent")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverProc is a running `prophasis serve`.
type serverProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	URL     string
	DataDir string
	Token   string
	logMu   sync.Mutex
	log     bytes.Buffer
	done    chan error
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer starts the server on dataDir (a new temp dir when "") and
// waits until it is ready.
func startServer(t *testing.T, dataDir string, extra ...string) *serverProc {
	t.Helper()
	return startServerAt(t, freeAddr(t), dataDir, extra...)
}

// startServerAt is startServer on a given address (a restart where agents
// expect it).
func startServerAt(t *testing.T, addr, dataDir string, extra ...string) *serverProc {
	t.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), "data") // the server creates it
	}
	args := append([]string{"serve", "--listen", addr, "--data-dir", dataDir}, extra...)
	scheme := "http"
	for _, a := range extra {
		if a == "--tls-auto" {
			scheme = "https"
		}
	}
	s := &serverProc{t: t, URL: scheme + "://" + addr, DataDir: dataDir, done: make(chan error, 1)}
	s.cmd = exec.Command(filepath.Join(binDir, "prophasis"), args...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logMu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.logMu.Unlock()
		}
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.Log())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := insecureClient.Get(s.URL + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited before it was ready: %v\n%s", err, s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 60s:\n%s", s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	s.Token = strings.TrimSpace(string(tok))
	return s
}

// Log returns what the server logged so far.
func (s *serverProc) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *serverProc) Stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("server exited with %v after SIGTERM:\n%s", err, s.Log())
		}
	case <-time.After(60 * time.Second):
		s.t.Fatalf("server did not stop within 60s of SIGTERM")
	}
}

// do sends a request with the admin token and returns status and body.
func (s *serverProc) do(method, path, contentType string, body io.Reader, hdr ...string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := insecureClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return res.StatusCode, b
}

// insecureClient talks to test servers, whose --tls-auto CA the test
// does not pin (the agent under test does).
var insecureClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// bearer is an http.RoundTripper adding a token, for the Prometheus client.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}
