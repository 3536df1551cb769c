package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is one running server process under test, with its own data
// directory, on a free loopback port.
type server struct {
	name    string // "prophasis" or "prometheus"
	url     string
	token   string // bearer token (Prophasis); Prometheus ignores it
	dataDir string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
	logger  *slog.Logger
}

// startupTimeout bounds how long a server may take to become ready.
const startupTimeout = 90 * time.Second

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startProphasis starts `prophasis serve` on a fresh data directory under
// workDir and waits until it serves and has written its admin token.
func startProphasis(ctx context.Context, bin, workDir string, logger *slog.Logger) (*server, error) {
	dir, err := os.MkdirTemp(workDir, "prophasis-")
	if err != nil {
		return nil, fmt.Errorf("prophasis data dir: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &server{name: "prophasis", url: "http://" + addr, dataDir: dir, logger: logger}
	err = s.start(bin, "serve", "--listen", addr, "--data-dir", dir, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "admin.token")
	if err := s.waitReady(ctx, func() bool {
		data, err := os.ReadFile(tokenFile)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			return false
		}
		s.token = string(bytes.TrimSpace(data))
		return true
	}); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// startPrometheus starts Prometheus with the remote-write receiver, no
// scrape targets and Prophasis's lookback delta, so both servers do the same
// work for the same query.
func startPrometheus(ctx context.Context, bin, workDir string, logger *slog.Logger) (*server, error) {
	dir, err := os.MkdirTemp(workDir, "prometheus-")
	if err != nil {
		return nil, fmt.Errorf("prometheus data dir: %w", err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	// No scrape configs: Prometheus only receives what the sender writes.
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs: []\n"), 0o600); err != nil {
		return nil, fmt.Errorf("prometheus config: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &server{name: "prometheus", url: "http://" + addr, dataDir: dir, logger: logger}
	err = s.start(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.enable-remote-write-receiver",
		"--query.lookback-delta=15m",
		"--log.level=warn",
	)
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, nil); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) start(bin string, args ...string) error {
	s.logPath = filepath.Join(s.dataDir, "server.log")
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return fmt.Errorf("%s log: %w", s.name, err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Its own process group, so a Ctrl-C on the harness reaches the harness
	// first and the server is stopped cleanly by stop.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s (%s): %w", s.name, bin, err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	s.logger.Info("started", "server", s.name, "pid", s.cmd.Process.Pid, "url", s.url, "data_dir", s.dataDir)
	return nil
}

// waitReady polls /-/ready (both servers have it) until it answers 200 and
// extra (if set) is true.
func (s *server) waitReady(ctx context.Context, extra func() bool) error {
	deadline := time.Now().Add(startupTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited during startup (%v); its log:\n%s", s.name, s.waitErr, s.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s; its log:\n%s", s.name, startupTimeout, s.logTail())
		}
		if extra != nil && !extra() {
			continue
		}
		resp, err := client.Get(s.url + "/-/ready")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// logTail returns the last lines of the server's log.
func (s *server) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM, waits for a clean exit (both servers flush on
// SIGTERM), and kills the process after a minute.
func (s *server) stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.logger.Warn("server did not stop in a minute: killing it", "server", s.name)
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	var exitErr *exec.ExitError
	if s.waitErr != nil && !errors.As(s.waitErr, &exitErr) {
		s.logger.Warn("server exit", "server", s.name, "err", s.waitErr)
	}
}

// alive reports an error if the server has exited.
func (s *server) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("%s exited (%v); its log:\n%s", s.name, s.waitErr, s.logTail())
	default:
		return nil
	}
}
