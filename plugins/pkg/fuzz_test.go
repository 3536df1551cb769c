package pkg

import (
	"archive/tar"
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// FuzzRead feeds Read arbitrary bytes, seeded with real packages and
// hostile archives: it must not panic, must refuse with ErrInvalid (or a
// read error) and, when it accepts, return a consistent package that Lint
// can judge.
func FuzzRead(f *testing.F) {
	for _, kind := range SkeletonKinds {
		dir := filepath.Join(f.TempDir(), kind)
		if _, err := Skeleton(dir, "seed", kind); err != nil {
			f.Fatal(err)
		}
		var b bytes.Buffer
		if err := Pack(dir, &b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	mf := file{name: "manifest.json", body: testManifest}
	f.Add(tarGz(f, mf, file{name: "run.sh", body: "#!/bin/sh\n", mode: 0o755}, file{name: "c.lua", body: `return "ok"`}))
	f.Add(tarGz(f, mf, file{name: "../x"}))
	f.Add(tarGz(f, mf, file{name: "l", typ: tar.TypeSymlink, link: "/etc"}, file{name: "l/x"}))
	f.Add(tarGz(f, file{name: "manifest.json", body: `{"name":"n","version":"1.0.0","description":"d","kind":"builtin","entrypoint":"cpu"}`}))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		if err := p.Manifest.Validate(); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
		if p.Size != int64(len(data)) || len(p.SHA256) != 64 {
			t.Fatalf("size %d hash %q", p.Size, p.SHA256)
		}
		Lint(p)
	})
}
