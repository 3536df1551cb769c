package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/prophasis/prophasis/agent/collect"
	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/agent/runner"
	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/wire"
)

// pkg returns a .tar.gz with an exec plugin printing value, plus extra
// headers (written without a body).
func pkg(t *testing.T, value string, extra ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := "#!/bin/sh\necho '{\"value\": " + value + ", \"message\": \"hello\"}'\n"
	for _, h := range append([]tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o700},
		{Name: "bin/hello", Typeflag: tar.TypeReg, Mode: 0o700, Size: int64(len(body))},
	}, extra...) {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// fakeServer serves packages by hash and counts downloads.
type fakeServer struct {
	mu    sync.Mutex
	blobs map[string][]byte // what the server answers for a hash
	gets  map[string]int
}

func (f *fakeServer) fetch(_ context.Context, sha string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets[sha]++
	b, ok := f.blobs[sha]
	if !ok {
		return nil, errors.New("404 Not Found: no plugin package with that hash")
	}
	return b, nil
}

func newFake(blobs ...[]byte) *fakeServer {
	f := &fakeServer{blobs: map[string][]byte{}, gets: map[string]int{}}
	for _, b := range blobs {
		f.blobs[archive.SHA256(b)] = b
	}
	return f
}

func run(sha string) wire.PlanRun {
	return wire.PlanRun{Check: "c", Plugin: "hello", Kind: "exec", SHA256: sha, Entrypoint: "bin/hello"}
}

func newTestPackages(t *testing.T, f *fakeServer) (*packages, string) {
	t.Helper()
	data := t.TempDir()
	// As root, plugins run as nobody, who must pass through the test's
	// directories as through /var/lib; newPackages opens data itself.
	if err := os.Chmod(filepath.Dir(data), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	p, err := newPackages(data, f.fetch, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return p, data
}

func TestPackagesFetchRunAndRemove(t *testing.T) {
	v1, v2 := pkg(t, "42"), pkg(t, "43")
	sha1, sha2 := archive.SHA256(v1), archive.SHA256(v2)
	f := newFake(v1, v2)
	p, data := newTestPackages(t, f)
	ctx := context.Background()
	a := &agent{pkgs: p, collectors: collect.Default()}

	runs := []wire.PlanRun{run(sha1), run(sha1), {Plugin: "disk", Kind: "nagios", Entrypoint: "/usr/lib/nagios/plugins/check_disk"}, {Plugin: "load", Kind: "builtin", Entrypoint: "load"}}
	if n := p.fetchMissing(ctx, runs); n != 0 {
		t.Fatalf("missing %d", n)
	}
	// Downloaded once; again only when missing.
	p.fetchMissing(ctx, runs)
	if f.gets[sha1] != 1 || len(f.gets) != 1 {
		t.Fatalf("downloads %v, want one of %s", f.gets, sha1)
	}
	// Modes let another user read and run, not change.
	for name, want := range map[string]os.FileMode{"": os.ModeDir | 0o755, "bin": os.ModeDir | 0o755, "bin/hello": 0o755} {
		fi, err := os.Stat(filepath.Join(data, "plugins", sha1, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want %v", name, fi.Mode(), err, want)
		}
	}

	// Owned by the agent's user, so the plugin user cannot change them;
	// as root, the data dir lets the plugin user through (not list it).
	if fi, err := os.Stat(filepath.Join(data, "plugins", sha1, "bin/hello")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		t.Errorf("entrypoint owner: %v", err)
	}
	if fi, err := os.Stat(data); err != nil || (os.Geteuid() == 0 && fi.Mode().Perm() != 0o711) {
		t.Errorf("data dir mode %v %v, want 0711 as root", fi.Mode(), err)
	}

	x, err := runner.NewExecutor("", 64<<10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res := a.task(run(sha1)).Do(ctx, x)
	if res.Value == nil || *res.Value != 42 || res.Message != "hello" || res.ExitStatus != pluginout.StatusOK {
		t.Fatalf("run of the packaged plugin: %+v", res)
	}

	// A new version: fetched, the old directory removed once unused.
	p.fetchMissing(ctx, []wire.PlanRun{run(sha2)})
	p.removeUnused([]wire.PlanRun{run(sha2)})
	if _, err := os.Stat(filepath.Join(data, "plugins", sha1)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old package still there: %v", err)
	}
	if res := a.task(run(sha2)).Do(ctx, x); res.Value == nil || *res.Value != 43 {
		t.Fatalf("run of the new version: %+v", res)
	}
	entries, _ := os.ReadDir(filepath.Join(data, "plugins"))
	if len(entries) != 1 || entries[0].Name() != sha2 {
		t.Errorf("plugins dir holds %v", entries)
	}
	// An entrypoint the package lacks is reported, not run.
	r := run(sha2)
	r.Entrypoint = "bin/other"
	if res := a.task(r).Do(ctx, x); res.ExitStatus != pluginout.StatusUnknown || !strings.Contains(res.Message, `entrypoint "bin/other" is not a file of its package`) {
		t.Fatalf("missing entrypoint: %+v", res)
	}
}

func TestPackagesHashMismatch(t *testing.T) {
	good := pkg(t, "42")
	sha := archive.SHA256(good)
	f := newFake()
	f.blobs[sha] = pkg(t, "666") // tampered: other bytes under the hash
	p, data := newTestPackages(t, f)
	ctx := context.Background()
	a := &agent{pkgs: p, collectors: collect.Default()}

	if n := p.fetchMissing(ctx, []wire.PlanRun{run(sha)}); n != 1 {
		t.Fatalf("missing %d, want 1", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "plugins")); len(entries) != 0 {
		t.Fatalf("a package with the wrong hash left %v", entries)
	}
	res := a.task(run(sha)).Do(ctx, nil)
	if res.ExitStatus != pluginout.StatusUnknown || !strings.Contains(res.Message, "plugin package hash mismatch") {
		t.Fatalf("run with a tampered package: %+v", res)
	}
	// Retried later: once the server has the right bytes, it works.
	f.blobs[sha] = good
	if n := p.fetchMissing(ctx, []wire.PlanRun{run(sha)}); n != 0 || f.gets[sha] != 2 {
		t.Fatalf("retry: missing %d, downloads %d", n, f.gets[sha])
	}
	if _, problem := p.program(run(sha)); problem != "" {
		t.Fatal(problem)
	}
}

func TestPackagesDistrustTheServer(t *testing.T) {
	// The hash matches, but the archive breaks the rules: refused all the same.
	evil := pkg(t, "1", tar.Header{Name: "bin/../../../escape", Typeflag: tar.TypeReg, Mode: 0o755})
	links := pkg(t, "1", tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"})
	f := newFake(evil, links)
	p, data := newTestPackages(t, f)
	ctx := context.Background()
	a := &agent{pkgs: p, collectors: collect.Default()}
	for _, b := range [][]byte{evil, links} {
		sha := archive.SHA256(b)
		if n := p.fetchMissing(ctx, []wire.PlanRun{run(sha)}); n != 1 {
			t.Fatalf("missing %d", n)
		}
		if res := a.task(run(sha)).Do(ctx, nil); res.ExitStatus != pluginout.StatusUnknown || !strings.Contains(res.Message, "invalid plugin archive") {
			t.Fatalf("run of a bad archive: %+v", res)
		}
	}
	// A hash that is a path is never used as one.
	for _, sha := range []string{"../../etc", "", strings.Repeat("A", 64)} {
		p.fetchMissing(ctx, []wire.PlanRun{run(sha)})
		if res := a.task(run(sha)).Do(ctx, nil); res.ExitStatus != pluginout.StatusUnknown {
			t.Fatalf("run with package %q: %+v", sha, res)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(data, "plugins"))
	if len(entries) != 0 {
		t.Fatalf("refused packages left %v", entries)
	}
	if _, err := os.Stat(filepath.Join(data, "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a server's archive wrote outside the package directory")
	}
	if f.gets["../../etc"] != 0 {
		t.Fatal("the agent asked the server for a path")
	}
}
