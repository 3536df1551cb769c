package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/server"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prophasis.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	p := writeConfig(t, "listen: 0.0.0.0:9999\ndata_dir: /var/lib/p\nretention: 90d\nout_of_order_window: 2d\nloopback_reads: true\nlog_format: json\n")
	opts := server.Defaults()
	level, format := "info", "text"
	// --listen was given on the command line: it wins over the file.
	opts.Listen = "127.0.0.1:1"
	if err := loadConfig(p, map[string]bool{"listen": true}, &opts, &level, &format); err != nil {
		t.Fatal(err)
	}
	if opts.Listen != "127.0.0.1:1" || opts.DataDir != "/var/lib/p" || opts.Retention != 90*24*time.Hour ||
		opts.OutOfOrderWindow != 48*time.Hour || !opts.LoopbackReads || format != "json" || level != "info" {
		t.Fatalf("options %+v level %s format %s", opts, level, format)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	f := func(body, want string) {
		t.Helper()
		opts := server.Defaults()
		l, fm := "info", "text"
		err := loadConfig(writeConfig(t, body), nil, &opts, &l, &fm)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("config %q: err = %v, want %q", body, err, want)
		}
		if !reflect.DeepEqual(opts, server.Defaults()) {
			t.Fatalf("config %q: a refused file changed options to %+v", body, opts)
		}
	}
	f("listen: a\nlisten_addr: b\n", "field listen_addr not found")
	f("retention: forever\n", "not a valid duration")
	f("listen: [\n", "yaml")
	opts := server.Defaults()
	l, fm := "info", "text"
	if err := loadConfig(writeConfig(t, ""), nil, &opts, &l, &fm); err != nil {
		t.Fatalf("empty config: %v", err)
	}
	if err := loadConfig(filepath.Join(t.TempDir(), "missing.yml"), nil, &opts, &l, &fm); err == nil {
		t.Fatal("missing config file: no error")
	}
}

func TestNewLogger(t *testing.T) {
	if _, err := newLogger("loud", "text"); err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
		t.Fatalf("bad level: %v", err)
	}
	if _, err := newLogger("info", "xml"); err == nil || !strings.Contains(err.Error(), "want text or json") {
		t.Fatalf("bad format: %v", err)
	}
	if _, err := newLogger("debug", "json"); err != nil {
		t.Fatal(err)
	}
}
