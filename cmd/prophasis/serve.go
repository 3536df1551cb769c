package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/prophasis/prophasis/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func runVersion(context.Context, []string) error {
	fmt.Println("prophasis", version)
	return nil
}

// durationFlag parses Prometheus-style durations ("30d", "1h30m").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return model.Duration(*f.d).String()
}

func (f durationFlag) Set(s string) error {
	d, err := model.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = time.Duration(d)
	return nil
}

// fileConfig is the YAML config file: the same settings as the flags.
type fileConfig struct {
	Listen           string         `yaml:"listen"`
	DataDir          string         `yaml:"data_dir"`
	Store            string         `yaml:"store"`
	Retention        model.Duration `yaml:"retention"`
	OutOfOrderWindow model.Duration `yaml:"out_of_order_window"`
	QueryTimeout     model.Duration `yaml:"query_timeout"`
	QueryMaxSamples  int            `yaml:"query_max_samples"`
	LoopbackReads    bool           `yaml:"loopback_reads"`
	TLSAuto          bool           `yaml:"tls_auto"`
	TLSHosts         []string       `yaml:"tls_hosts"`
	TLSCert          string         `yaml:"tls_cert"`
	TLSKey           string         `yaml:"tls_key"`
	ExternalURL      string         `yaml:"external_url"`
	PluginKeys       string         `yaml:"plugin_keys"`
	LogLevel         string         `yaml:"log_level"`
	LogFormat        string         `yaml:"log_format"`
}

func runServe(ctx context.Context, args []string) error {
	opts := server.Defaults()
	logLevel, logFormat := "info", "text"
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFile := fs.String("config", "", "YAML config file with the same settings as the flags (flags win)")
	fs.StringVar(&opts.Listen, "listen", opts.Listen, "HTTP listen address")
	fs.StringVar(&opts.DataDir, "data-dir", opts.DataDir, "directory for the TSDB, the store and admin.token")
	fs.StringVar(&opts.Store, "store", opts.Store, "store DSN (default: SQLite in the data dir)")
	fs.Var(durationFlag{&opts.Retention}, "retention", "how long samples and messages are kept")
	fs.Var(durationFlag{&opts.OutOfOrderWindow}, "out-of-order-window", "how old a replayed agent result may be (default 7d)")
	fs.Var(durationFlag{&opts.QueryTimeout}, "query-timeout", "PromQL query timeout (default 2m)")
	fs.IntVar(&opts.QueryMaxSamples, "query-max-samples", opts.QueryMaxSamples, "most samples one query may load (default 50000000)")
	fs.BoolVar(&opts.TLSAuto, "tls-auto", opts.TLSAuto, "serve HTTPS with a CA and certificate generated into DATA/tls")
	tlsHosts := fs.String("tls-hosts", "", "comma-separated names and addresses for the generated certificate (default: the listen address, localhost, the hostname)")
	fs.StringVar(&opts.TLSCert, "tls-cert", opts.TLSCert, "serve HTTPS with this certificate file (PEM)")
	fs.StringVar(&opts.TLSKey, "tls-key", opts.TLSKey, "the key of --tls-cert (PEM)")
	fs.BoolVar(&opts.LoopbackReads, "loopback-reads", opts.LoopbackReads, "let unauthenticated clients on loopback read (for a local Grafana)")
	fs.StringVar(&opts.ExternalURL, "external-url", opts.ExternalURL, "the server's URL as people reach it, for links in notifications")
	fs.StringVar(&opts.PluginKeysFile, "plugin-keys", opts.PluginKeysFile, "file of trusted public keys (one per line): accept only plugin packages signed by one of them")
	fs.StringVar(&logLevel, "log-level", logLevel, "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", logFormat, "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *tlsHosts != "" {
		opts.TLSHosts = strings.Split(*tlsHosts, ",")
	}
	if *configFile != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if err := loadConfig(*configFile, set, &opts, &logLevel, &logFormat); err != nil {
			return err
		}
	}
	logger, err := newLogger(logLevel, logFormat)
	if err != nil {
		return err
	}
	opts.Version = version
	return server.Run(ctx, opts, logger)
}

// loadConfig applies the config file's settings that no flag overrode.
func loadConfig(path string, set map[string]bool, opts *server.Options, logLevel, logFormat *string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) /* an empty file */ {
		return fmt.Errorf("config %s: %w", path, err)
	}
	apply := func(flagName string, isSet bool, f func()) {
		if isSet && !set[flagName] {
			f()
		}
	}
	apply("listen", fc.Listen != "", func() { opts.Listen = fc.Listen })
	apply("data-dir", fc.DataDir != "", func() { opts.DataDir = fc.DataDir })
	apply("store", fc.Store != "", func() { opts.Store = fc.Store })
	apply("retention", fc.Retention != 0, func() { opts.Retention = time.Duration(fc.Retention) })
	apply("out-of-order-window", fc.OutOfOrderWindow != 0, func() { opts.OutOfOrderWindow = time.Duration(fc.OutOfOrderWindow) })
	apply("query-timeout", fc.QueryTimeout != 0, func() { opts.QueryTimeout = time.Duration(fc.QueryTimeout) })
	apply("query-max-samples", fc.QueryMaxSamples != 0, func() { opts.QueryMaxSamples = fc.QueryMaxSamples })
	apply("loopback-reads", fc.LoopbackReads, func() { opts.LoopbackReads = true })
	apply("tls-auto", fc.TLSAuto, func() { opts.TLSAuto = true })
	apply("tls-hosts", len(fc.TLSHosts) > 0, func() { opts.TLSHosts = fc.TLSHosts })
	apply("tls-cert", fc.TLSCert != "", func() { opts.TLSCert = fc.TLSCert })
	apply("tls-key", fc.TLSKey != "", func() { opts.TLSKey = fc.TLSKey })
	apply("external-url", fc.ExternalURL != "", func() { opts.ExternalURL = fc.ExternalURL })
	apply("plugin-keys", fc.PluginKeys != "", func() { opts.PluginKeysFile = fc.PluginKeys })
	apply("log-level", fc.LogLevel != "", func() { *logLevel = fc.LogLevel })
	apply("log-format", fc.LogFormat != "", func() { *logFormat = fc.LogFormat })
	return nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	hopts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, hopts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
