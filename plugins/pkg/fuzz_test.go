package pkg

import (
	"archive/tar"
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/prophasis/prophasis/plugins/manifest"
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

// FuzzParseFixture feeds ParseFixture arbitrary bytes (fixtures come in
// uploaded packages) and replays what it accepts: neither may panic, and
// every accepted fixture yields one step per result.
func FuzzParseFixture(f *testing.F) {
	f.Add([]byte(`[{"value": 1, "expect": "ok"}, {"value": null, "exit_code": 3}, {"timestamp": 5, "message": "x"}]`))
	f.Add([]byte(`[{"timestamp": 1767225600000, "value": 1e308}, {"timestamp": 1, "value": -0}]`))
	f.Add([]byte(`[{"expect": "warning"}]`))
	f.Add([]byte(`[]`))
	p := &Package{Manifest: manifest.Manifest{Name: "f", Kind: "exec", History: 3}, Classifier: `
if n == 0 or isMissing(values[1]) then return "unknown" end
if values[1] > 5 and states[2] ~= "ok" then return "critical" end
return "ok"`}
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, err := ParseFixture(data)
		if err != nil {
			return
		}
		steps, err := RunFixture(p, fx)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != len(fx) {
			t.Fatalf("%d steps for %d results", len(steps), len(fx))
		}
	})
}
