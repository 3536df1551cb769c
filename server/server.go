// Package server assembles the Prophasis server from its parts (store, TSDB,
// ingest, rules, API) and runs them as one run group until its context ends.
//
// Only main and the end-to-end tests import it; it holds wiring, not logic.
// Run is the whole server, so a test can start one in-process.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/prophasis/prophasis/api"
	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/frontend"
	"github.com/prophasis/prophasis/ingest"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/plugins/std"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/rules/notify"
	"github.com/prophasis/prophasis/rules/reach"
	"github.com/prophasis/prophasis/rules/stale"
	"github.com/prophasis/prophasis/server/certs"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/tsdb"
	"github.com/prophasis/prophasis/wire"
)

// Options configure the server. main fills them from flags and the YAML
// config file (docs/server.md lists both).
type Options struct {
	// Listen is the HTTP address.
	Listen string
	// DataDir holds the TSDB, the SQLite store, admin.token and plugin
	// packages (plugins/<sha256>.tar.gz).
	DataDir string
	// Store is the store's DSN; empty means SQLite in DataDir.
	Store string
	// Retention is how long samples and messages are kept.
	Retention time.Duration
	// OutOfOrderWindow is how old a replayed result may be.
	OutOfOrderWindow time.Duration
	// QueryTimeout and QueryMaxSamples bound PromQL queries.
	QueryTimeout    time.Duration
	QueryMaxSamples int
	// LoopbackReads lets unauthenticated loopback clients read (Grafana on
	// the same machine).
	LoopbackReads bool
	// TLSAuto serves HTTPS with a CA and certificate generated into
	// DATA/tls (kept across restarts); agents pin the CA at enrolment.
	TLSAuto bool
	// TLSHosts are the names and addresses the generated certificate is
	// for; empty means the listen address, localhost and the hostname.
	TLSHosts []string
	// TLSCert and TLSKey serve HTTPS with given files instead.
	TLSCert, TLSKey string
	// Version is reported by the build-info endpoint.
	Version string
	// ExternalURL is the server's address as people reach it, for links in
	// notifications ("" for none).
	ExternalURL string
	// PluginKeysFile names a file of trusted public keys (package
	// plugins/sign's text form, one per line): with it, the registry
	// accepts only plugin packages signed by one of them. "" accepts
	// unsigned packages.
	PluginKeysFile string
}

// Defaults returns the options `prophasis serve` starts with.
func Defaults() Options {
	return Options{
		Listen:    "127.0.0.1:4048",
		DataDir:   "./data",
		Retention: 30 * 24 * time.Hour,
	}
}

// AdminTokenFile and AdminPasswordFile are the names, in the data
// directory, of the files the first start writes the admin API token and
// the admin user's password to.
const (
	AdminTokenFile    = "admin.token"
	AdminPasswordFile = "admin.password"
)

// Run starts the server and blocks until ctx is done or a part fails, then
// shuts everything down in reverse order: the HTTP server drains in-flight
// requests (so every acknowledged write is in the WAL), then the TSDB and the
// store close.
func Run(ctx context.Context, opts Options, logger *slog.Logger) (err error) {
	// Owner only: the store holds password and token hashes.
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	dsn := opts.Store
	if dsn == "" {
		dsn = filepath.Join(opts.DataDir, "prophasis.db")
	}
	// The store refuses classifiers and trend rules that do not compile.
	st, err := store.Open(ctx, dsn, logger, store.WithCodeChecker(rules.CodeChecker{}), store.WithModuleChecker(notify.Checker{}))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	if err := bootstrap(ctx, st, opts.DataDir, logger); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	db, err := tsdb.Open(filepath.Join(opts.DataDir, "tsdb"), tsdb.Options{
		Retention:        opts.Retention,
		OutOfOrderWindow: opts.OutOfOrderWindow,
		QueryTimeout:     opts.QueryTimeout,
		MaxSamples:       opts.QueryMaxSamples,
	}, logger, reg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	tsdbOpts := db.Options()

	// Every new result goes to the rules engine, which judges it at once,
	// and to the staleness tracker, which tells the engine when a check's
	// results stop.
	// The agents' mesh views say whether a silent host is still alive.
	views := reach.New()
	engine := rules.New(st, db, logger, rules.Options{Reach: views})
	staleness := stale.New(stale.FromStore(st), db, logger, stale.Options{OnOverdue: engine.Overdue, ConfigChanged: st.ConfigChanged})
	hook := ingest.HookFunc(func(ctx context.Context, rs []wire.Result) {
		staleness.Results(ctx, rs)
		engine.Results(ctx, rs)
	})
	in := ingest.New(db, st, hook, logger, ingest.Options{MaxAge: tsdbOpts.OutOfOrderWindow})
	// State changes go to the alert rules, and notices to the alert modules.
	alerting := rules.NewAlerting(st, db, engine, logger, rules.AlertingOptions{URL: opts.ExternalURL})

	tlsConfig, caPEM, err := serverTLS(opts, logger)
	if err != nil {
		return err
	}

	pkgs, err := plugins.NewPackages(filepath.Join(opts.DataDir, "plugins"), st, logger)
	if err != nil {
		return err
	}
	if err := pkgs.Prune(ctx); err != nil {
		return err
	}
	registry, err := newRegistry(ctx, st, pkgs, opts.PluginKeysFile, logger)
	if err != nil {
		return err
	}

	handler := api.New(api.Deps{
		Logger:   logger,
		Store:    st,
		Ingest:   in,
		Gatherer: reg,
		UI:       frontend.FS(),
		Auth:     auth.Options{LoopbackReads: opts.LoopbackReads},
		CACert:   string(caPEM),
		Packages: pkgs,
		Reach:    views,
		Routes:   routes(st, db, pkgs, registry, engine, alerting, views, opts, logger),
	})
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Long enough for a big query_range; the engine's own timeout is
		// the real bound.
		WriteTimeout: tsdbOpts.QueryTimeout + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	var g run.Group
	g.Add(run.ContextHandler(ctx))
	// The engine stops after the HTTP server has drained, so every result
	// acknowledged to an agent is judged before the engine's last events
	// are written.
	httpDrained := make(chan struct{})
	engineCtx, engineCancel := context.WithCancel(context.Background())
	engineDone := make(chan struct{})
	g.Add(func() error {
		defer close(engineDone)
		return engine.Run(engineCtx)
	}, func(error) {
		go func() { <-httpDrained; engineCancel() }()
	})
	// Alerting stops after the engine, so the last events are matched.
	alertCtx, alertCancel := context.WithCancel(context.Background())
	g.Add(func() error { return alerting.Run(alertCtx) }, func(error) {
		go func() { <-engineDone; alertCancel() }()
	})
	g.Add(func() error {
		logger.Info("serving", "addr", ln.Addr().String(), "scheme", scheme, "data_dir", opts.DataDir)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	}, func(error) {
		defer close(httpDrained)
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("http shutdown", "err", err)
		}
	})
	staleCtx, staleCancel := context.WithCancel(context.Background())
	g.Add(func() error { return staleness.Run(staleCtx) }, func(error) { staleCancel() })
	retCtx, retCancel := context.WithCancel(context.Background())
	g.Add(func() error {
		housekeeping(retCtx, st, in, opts.Retention, logger)
		return nil
	}, func(error) { retCancel() })

	err = g.Run()
	var sigErr run.SignalError
	if errors.Is(err, context.Canceled) || errors.As(err, &sigErr) {
		err = nil
	}
	logger.Info("shutting down")
	return err
}

// serverTLS returns the TLS configuration (nil for plain HTTP) and the CA
// certificate agents should pin (nil when unknown: given certificate files
// are trusted through the system's roots).
func serverTLS(opts Options, logger *slog.Logger) (*tls.Config, []byte, error) {
	switch {
	case opts.TLSAuto && opts.TLSCert != "":
		return nil, nil, errors.New("give either --tls-auto or --tls-cert/--tls-key, not both")
	case opts.TLSAuto:
		hosts := opts.TLSHosts
		if len(hosts) == 0 {
			hosts = defaultTLSHosts(opts.Listen)
		}
		auto, err := certs.Ensure(filepath.Join(opts.DataDir, "tls"), hosts, time.Now())
		if err != nil {
			return nil, nil, err
		}
		logger.Info("serving HTTPS with the generated CA", "hosts", strings.Join(hosts, ","), "ca_sha256", auto.CASHA256)
		return auto.Config, auto.CACertPEM, nil
	case opts.TLSCert != "" || opts.TLSKey != "":
		pair, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("tls certificate: %w", err)
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, nil, nil
	}
	return nil, nil, nil
}

// defaultTLSHosts names what an agent may dial: the listen host (unless it
// is a wildcard, then every local address), localhost and the hostname.
func defaultTLSHosts(listen string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
	}
	h, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(h); h != "" && (ip == nil || !ip.IsUnspecified()) {
		return append(hosts, h)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				hosts = append(hosts, n.IP.String())
			}
		}
	}
	return hosts
}

// newRegistry returns the plugin registry, trusting the keys in keysFile
// (none when ""), and publishes the standard library's versions the store
// does not have yet.
func newRegistry(ctx context.Context, st store.Store, pkgs *plugins.Packages, keysFile string, logger *slog.Logger) (*plugins.Registry, error) {
	var keys []string
	if keysFile != "" {
		b, err := os.ReadFile(keysFile)
		if err != nil {
			return nil, fmt.Errorf("plugin keys: %w", err)
		}
		if keys, err = sign.ParsePublicKeys(string(b)); err != nil {
			return nil, fmt.Errorf("plugin keys %s: %w", keysFile, err)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("plugin keys %s: no keys in the file (leave --plugin-keys out to accept unsigned packages)", keysFile)
		}
		logger.Info("plugin packages must be signed", "keys", len(keys), "file", keysFile)
	}
	registry := plugins.NewRegistry(st, pkgs, keys, logger)
	n, err := registry.PublishStandard(ctx, std.FS)
	if err != nil {
		return nil, err
	}
	logger.Info("standard plugin library", "published", n)
	return registry, nil
}

// bootstrap creates the admin user, its API token and a password on the
// first start, and writes the token to DATA/admin.token and the password to
// DATA/admin.password, readable by the owner only: the token for scripts,
// the password to log in to the web UI (change it there).
func bootstrap(ctx context.Context, st store.Store, dataDir string, logger *slog.Logger) error {
	token, created, err := st.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if !created {
		return nil
	}
	path := filepath.Join(dataDir, AdminTokenFile)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	var raw [15]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	password := base64.RawURLEncoding.EncodeToString(raw[:]) // 20 characters
	if _, err := st.UpdateUser(ctx, "admin", store.UserSpec{Password: password}); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	pwPath := filepath.Join(dataDir, AdminPasswordFile)
	if err := os.WriteFile(pwPath, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin password: %w", err)
	}
	// The paths, never the secrets: they stay out of logs.
	logger.Info("first start: created user admin, its API token and password", "token_file", path, "password_file", pwPath)
	return nil
}

// housekeeping runs hourly: retention of messages, events and the system
// log, and forgetting idle series.
func housekeeping(ctx context.Context, st store.Store, in *ingest.Ingester, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		cutoff := time.Now().Add(-retention).UnixMilli()
		for _, r := range []struct {
			what string
			del  func(context.Context, int64) (int64, error)
		}{
			{"messages", st.DeleteMessagesBefore},
			{"events", st.DeleteEventsBefore},
			{"system log", st.DeleteSystemLogBefore},
			{"alert history", st.DeleteAlertHistoryBefore},
		} {
			if n, err := r.del(ctx, cutoff); err != nil && ctx.Err() == nil {
				logger.Warn("retention", "what", r.what, "err", err)
			} else if n > 0 {
				logger.Info("retention", "what", r.what, "deleted", n)
			}
		}
		in.Sweep()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
