package plugins

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/store"
)

// tarGz returns a .tar.gz of name -> content (mode 0755), plus extra headers.
func tarGz(t *testing.T, files map[string]string, extra ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	for _, h := range extra {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

func setup(t *testing.T) (*Packages, store.Store, string) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "p.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := filepath.Join(t.TempDir(), "plugins")
	p, err := NewPackages(dir, st, logger)
	if err != nil {
		t.Fatal(err)
	}
	return p, st, dir
}

func TestPackagesPutAndOpen(t *testing.T) {
	p, st, dir := setup(t)
	ctx := context.Background()
	if _, err := st.CreatePlugin(ctx, store.Plugin{Name: "hello", Kind: "exec", Entrypoint: "bin/hello.sh"}); err != nil {
		t.Fatal(err)
	}
	v1 := tarGz(t, map[string]string{"bin/hello.sh": "#!/bin/sh\necho '{\"value\": 1}'\n"})
	pl, err := p.Put(ctx, "hello", v1)
	if err != nil {
		t.Fatal(err)
	}
	sha1 := archive.SHA256(v1)
	if pl.SHA256 != sha1 {
		t.Fatalf("plugin after Put: %+v, want sha256 %s", pl, sha1)
	}
	f, err := p.Open(sha1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, v1) {
		t.Fatal("Open returned other bytes than were put")
	}
	// Putting the same bytes again changes nothing.
	if _, err := p.Put(ctx, "hello", v1); err != nil {
		t.Fatal(err)
	}

	// A new version replaces the old, whose file goes: no plugin uses it.
	v2 := tarGz(t, map[string]string{"bin/hello.sh": "#!/bin/sh\necho '{\"value\": 2}'\n"})
	if _, err := p.Put(ctx, "hello", v2); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Open(sha1); !errors.Is(err, ErrNoPackage) {
		t.Errorf("Open(old) = %v, want ErrNoPackage", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != archive.SHA256(v2)+".tar.gz" {
		t.Errorf("package dir holds %v, want only the new package", entries)
	}
	if pl, _ := st.Plugin(ctx, "hello"); pl.SHA256 != archive.SHA256(v2) {
		t.Errorf("plugin after second Put: %+v", pl)
	}

	// A package two plugins share stays while one of them uses it.
	if _, err := st.CreatePlugin(ctx, store.Plugin{Name: "twin", Kind: "exec", Entrypoint: "bin/hello.sh"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Put(ctx, "twin", v2); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Put(ctx, "hello", v1); err != nil {
		t.Fatal(err)
	}
	if f, err := p.Open(archive.SHA256(v2)); err != nil {
		t.Errorf("a package still used by twin is gone: %v", err)
	} else {
		f.Close()
	}

	for _, bad := range []string{"", "../../prophasis.db", sha1[:63], "ZZ" + sha1[2:]} {
		if _, err := p.Open(bad); !errors.Is(err, ErrNoPackage) {
			t.Errorf("Open(%q) = %v, want ErrNoPackage", bad, err)
		}
	}
}

func TestPackagesPutRefuses(t *testing.T) {
	p, st, dir := setup(t)
	ctx := context.Background()
	for _, pl := range []store.Plugin{
		{Name: "hello", Kind: "exec", Entrypoint: "run.sh"},
		{Name: "load", Kind: "builtin"},
	} {
		if _, err := st.CreatePlugin(ctx, pl); err != nil {
			t.Fatal(err)
		}
	}
	good := tarGz(t, map[string]string{"run.sh": "#!/bin/sh\n"})
	f := func(name string, body []byte, want error) {
		t.Helper()
		_, err := p.Put(ctx, name, body)
		if !errors.Is(err, want) {
			t.Errorf("Put(%s) = %v, want %v", name, err, want)
		}
	}
	f("nope", good, store.ErrNotFound)
	f("load", good, ErrNoPackageForKind)
	f("hello", []byte("not gzip"), archive.ErrInvalid)
	f("hello", tarGz(t, map[string]string{"other.sh": "x"}), archive.ErrInvalid)
	f("hello", tarGz(t, map[string]string{"run.sh": "x"}, &tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}), archive.ErrInvalid)
	f("hello", tarGz(t, map[string]string{"run.sh": "x", "../escape": "x"}), archive.ErrInvalid)
	f("hello", append(good, make([]byte, archive.MaxBytes)...), archive.ErrInvalid)
	// Nothing changed.
	if pl, _ := st.Plugin(ctx, "hello"); pl.SHA256 != "" {
		t.Errorf("a refused package was recorded: %+v", pl)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused packages left files: %v", entries)
	}
}

func TestPackagesPrune(t *testing.T) {
	p, st, dir := setup(t)
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := st.CreatePlugin(ctx, store.Plugin{Name: name, Kind: "exec", Entrypoint: "run.sh"}); err != nil {
			t.Fatal(err)
		}
	}
	va := tarGz(t, map[string]string{"run.sh": "a"})
	vb := tarGz(t, map[string]string{"run.sh": "b"})
	for name, b := range map[string][]byte{"a": va, "b": vb} {
		if _, err := p.Put(ctx, name, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".upload-123"), []byte("cut short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.DeletePlugin(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := p.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != archive.SHA256(va)+".tar.gz" {
		t.Fatalf("after Prune: %v, want only a's package", entries)
	}
}
