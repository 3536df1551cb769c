package server

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/plugins/std"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/store"
)

// The standard library is published at the first start, every plugin of
// it; a second start publishes nothing. Trusted keys do not stop it.
func TestStandardLibrarySeeded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	st, err := store.Open(ctx, filepath.Join(dir, "p.db"), logger, store.WithCodeChecker(rules.CodeChecker{}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pkgs, err := plugins.NewPackages(filepath.Join(dir, "plugins"), st, logger)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := sign.GenerateKey()
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("# ops\n"+pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := newRegistry(ctx, st, pkgs, keys, logger)
	if err != nil {
		t.Fatal(err)
	}
	if !reg.RequiresSignatures() {
		t.Error("keys file ignored")
	}
	entries, err := fs.ReadDir(std.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) < 10 {
		t.Fatalf("standard library has %d plugins", len(names))
	}
	for _, n := range names {
		p, err := st.Plugin(ctx, n)
		if err != nil {
			t.Errorf("standard plugin %s: %v", n, err)
			continue
		}
		if p.Version == "" || p.Classifier == "" {
			t.Errorf("standard plugin %s: %+v", n, p)
		}
		if p.Kind != "builtin" && p.SHA256 == "" && !filepath.IsAbs(p.Entrypoint) {
			t.Errorf("standard plugin %s has no package", n)
		}
	}
	if !strings.Contains(logs.String(), "published="+strconv.Itoa(len(names))) {
		t.Errorf("first start log: %s", logs.String())
	}
	logs.Reset()
	if _, err := newRegistry(ctx, st, pkgs, "", logger); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "published=0") {
		t.Errorf("second start log: %s", logs.String())
	}
	// A keys file without keys is a mistake worth stopping for.
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("# nothing\n"), 0o600)
	if _, err := newRegistry(ctx, st, pkgs, empty, logger); err == nil || !strings.Contains(err.Error(), "no keys") {
		t.Errorf("empty keys file: %v", err)
	}
}
