package manage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/store"
)

// tarGz returns a .tar.gz of the given headers; regular files get body.
func tarGz(t *testing.T, body string, hs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func reg(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755} }

func TestPluginPackageUpload(t *testing.T) {
	a := newTestAPI(t)
	a.ok("POST", "/plugins", a.admin, store.Plugin{Name: "hello", Kind: "exec", Entrypoint: "bin/hello"}, nil)
	a.ok("POST", "/plugins", a.admin, store.Plugin{Name: "load"}, nil)
	good := tarGz(t, "#!/bin/sh\necho '{\"value\": 42}'\n", reg("bin/hello"))
	const path = "/plugins/hello/package"

	a.fails("PUT", path, "", good, "application/gzip", 401, "unauthorized")
	a.fails("PUT", path, a.viewer, good, "application/gzip", 403, "forbidden")
	a.fails("PUT", path, a.agent, good, "application/gzip", 403, "forbidden")
	a.fails("PUT", path, a.admin, good, "application/json", 400, "bad_data", "Content-Type application/gzip")
	a.fails("PUT", path, a.admin, good, "", 400, "bad_data", "Content-Type application/gzip")
	a.fails("PUT", "/plugins/nope/package", a.admin, good, "application/gzip", 404, "not_found", `plugin "nope" not found`)
	a.fails("PUT", "/plugins/load/package", a.admin, good, "application/gzip", 400, "bad_data", "built-in collector")
	a.fails("PUT", path, a.admin, append(bytes.Clone(good), make([]byte, archive.MaxBytes)...), "application/gzip", 413, "too_large")

	// Every rule of the archive gives a clear 400.
	bad := func(want string, b []byte) {
		t.Helper()
		a.fails("PUT", path, a.admin, b, "application/gzip", 400, "bad_data", "invalid plugin archive", want)
	}
	bad("not gzip", []byte("#!/bin/sh\n"))
	bad("read tar", good[:len(good)-30])
	bad("absolute path", tarGz(t, "x", reg("bin/hello"), reg("/etc/cron.d/evil")))
	bad("'..'", tarGz(t, "x", reg("bin/hello"), reg("bin/../../evil")))
	bad("leaves the package", tarGz(t, "x", reg("bin/hello"), tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../etc"}))
	bad("must be relative", tarGz(t, "x", reg("bin/hello"), tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}))
	bad("hard link", tarGz(t, "x", reg("bin/hello"), tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "/etc/shadow"}))
	bad("device files", tarGz(t, "x", reg("bin/hello"), tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}))
	bad("FIFOs", tarGz(t, "x", reg("bin/hello"), tar.Header{Name: "p", Typeflag: tar.TypeFifo}))
	bad(`entrypoint "bin/hello" is not in the archive`, tarGz(t, "x", reg("hello")))
	bad(`entrypoint "bin/hello" is not a regular file`, tarGz(t, "x", tar.Header{Name: "bin/hello", Typeflag: tar.TypeDir, Mode: 0o755}))
	// Nothing changed.
	var p store.Plugin
	a.ok("GET", "/plugins/hello", a.viewer, nil, &p)
	if p.SHA256 != "" {
		t.Fatalf("a refused upload was recorded: %+v", p)
	}
	if entries, _ := os.ReadDir(a.pkgDir); len(entries) != 0 {
		t.Fatalf("refused uploads left files: %v", entries)
	}

	changed := a.st.ConfigChanged()
	a.do("PUT", path, a.admin, good, "application/gzip")
	if a.lastStatus != 200 {
		t.Fatalf("upload: %d %s", a.lastStatus, a.lastBody)
	}
	a.ok("GET", "/plugins/hello", a.viewer, nil, &p)
	if p.SHA256 != archive.SHA256(good) {
		t.Fatalf("plugin after upload: %+v, want sha256 %s", p, archive.SHA256(good))
	}
	select {
	case <-changed:
	default:
		t.Error("an upload did not wake the plan long polls")
	}
	stored, err := os.ReadFile(filepath.Join(a.pkgDir, p.SHA256+".tar.gz"))
	if err != nil || !bytes.Equal(stored, good) {
		t.Fatalf("stored package: %v (equal %v)", err, bytes.Equal(stored, good))
	}
	// Editing the plugin keeps its package; the sha256 field is read-only.
	a.ok("PUT", "/plugins/hello", a.admin, map[string]any{"kind": "exec", "entrypoint": "bin/hello", "version": "2", "sha256": strings.Repeat("0", 64)}, &p)
	if got, _ := a.st.Plugin(context.Background(), "hello"); got.SHA256 != archive.SHA256(good) || got.Version != "2" {
		t.Fatalf("after edit: %+v", got)
	}
}
