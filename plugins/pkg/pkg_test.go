package pkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/manifest"
)

func TestSkeletonLintPackRead(t *testing.T) {
	for _, kind := range SkeletonKinds {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			files, err := Skeleton(dir, "diskfill", kind)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 5 {
				t.Fatalf("files %q", files)
			}
			p, err := ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range Lint(p) {
				if f.Severity == SeverityError {
					t.Errorf("lint: %s", f)
				}
			}
			if len(p.Fixtures) != 1 {
				t.Fatalf("fixtures %v", p.Fixtures)
			}
			fx, err := ParseFixture(p.Fixtures["tests/history.json"])
			if err != nil {
				t.Fatal(err)
			}
			steps, err := RunFixture(p, fx)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range steps {
				if !s.OK || s.Expect == "" {
					t.Errorf("step %d: %+v", i, s)
				}
			}
			var a, b bytes.Buffer
			if err := Pack(dir, &a); err != nil {
				t.Fatal(err)
			}
			if err := Pack(dir, &b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("packing twice gave different bytes")
			}
			q, err := Read(bytes.NewReader(a.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if q.SHA256 != archive.SHA256(a.Bytes()) || q.SHA256 != p.SHA256 || q.Size != int64(a.Len()) {
				t.Errorf("hash %s size %d; packed %s", q.SHA256, q.Size, archive.SHA256(a.Bytes()))
			}
			want := []string{"bin/diskfill.sh", "classifier.lua", "manifest.json", "README.md", "tests/history.json"}
			if strings.Join(q.Files, ",") != strings.Join(sortedCopy(want), ",") {
				t.Errorf("files %q", q.Files)
			}
			if q.Manifest.Name != "diskfill" || !strings.Contains(q.Classifier, "return") || !strings.Contains(q.Readme, "# diskfill") {
				t.Errorf("read back %+v", q)
			}
			// The archive's modes and owners are fixed.
			checkHeaders(t, a.Bytes())
		})
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func checkHeaders(t *testing.T, b []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var prev string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || !h.ModTime.Equal(mtime) {
			t.Errorf("%s: owner %d:%d %q, mtime %s", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
		want := int64(0o644)
		if h.Typeflag == tar.TypeDir || strings.HasSuffix(h.Name, ".sh") {
			want = 0o755
		}
		if h.Mode != want {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
		}
		if h.Name < prev {
			t.Errorf("%s after %s: not sorted", h.Name, prev)
		}
		prev = h.Name
	}
}

func TestSkeletonRefusesBadNameAndFullDir(t *testing.T) {
	if _, err := Skeleton(t.TempDir()+"/x", "bad name", "exec"); err == nil || !strings.Contains(err.Error(), `name "bad name"`) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := Skeleton(t.TempDir()+"/y", "ok", "builtin"); err == nil || !strings.Contains(err.Error(), `kind "builtin"`) {
		t.Errorf("builtin kind: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := Skeleton(dir, "ok", "exec"); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("full dir: %v", err)
	}
}

// file is one entry of a test archive.
type file struct {
	name, body, link string
	mode             int64
	typ              byte
}

func tarGz(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if f.typ == 0 {
			f.typ = tar.TypeReg
		}
		if f.mode == 0 {
			f.mode = 0o644
		}
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Size: int64(len(f.body)), Linkname: f.link}
		if f.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if f.typ == tar.TypeReg {
			tw.Write([]byte(f.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

const testManifest = `{"name":"t","version":"1.0.0","description":"d","kind":"exec","entrypoint":"run.sh","classifier":"c.lua"}`

func TestReadRefuses(t *testing.T) {
	script := file{name: "run.sh", body: "#!/bin/sh\n", mode: 0o755}
	cls := file{name: "c.lua", body: `return "ok"`}
	mf := file{name: "manifest.json", body: testManifest}
	f := func(want string, files ...file) {
		t.Helper()
		_, err := Read(bytes.NewReader(tarGz(t, files...)))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Read = %v, want ErrInvalid containing %q", err, want)
		}
	}
	f("entrypoint \"manifest.json\" is not in the archive", script, cls)
	f(`entry "../x"`, mf, script, cls, file{name: "../x", body: "x"})
	f(`entry "/etc/x": absolute path`, mf, script, cls, file{name: "/etc/x"})
	f(`symbolic link to "/etc/passwd"`, mf, script, cls, file{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"})
	f(`device files`, mf, script, cls, file{name: "d", typ: tar.TypeChar})
	f(`appears twice`, mf, script, cls, cls)
	f(`unknown field "colour"`, file{name: "manifest.json", body: `{"colour":1}`}, script, cls)
	f(`manifest: version "1": not a semantic version`, file{name: "manifest.json", body: strings.Replace(testManifest, "1.0.0", "1", 1)}, script, cls)
	f(`classifier "c.lua": not a regular file`, mf, script)
	f(`manifest.json must be a regular file, not a link`, file{name: "m", body: testManifest}, script, cls,
		file{name: "manifest.json", typ: tar.TypeLink, link: "m"})
	f(`entrypoint "run.sh" is not in the archive`, mf, cls)
	f(`entrypoint "run.sh" is not executable (mode 0644)`, mf, cls, file{name: "run.sh", body: "#!/bin/sh\n"})
	f(`c.lua": more than 65536 bytes`, mf, script, file{name: "c.lua", body: strings.Repeat("-", 65537)})
	if _, err := Read(bytes.NewReader([]byte("not gzip"))); !errors.Is(err, archive.ErrInvalid) {
		t.Errorf("not gzip: %v", err)
	}
	if _, err := Read(bytes.NewReader(make([]byte, archive.MaxBytes+1))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("too big: %v", err)
	}
	// A good one, with a hard link as the entrypoint and a system path.
	p, err := Read(bytes.NewReader(tarGz(t, mf, cls, file{name: "real.sh", body: "#!/bin/sh\n", mode: 0o755},
		file{name: "run.sh", typ: tar.TypeLink, link: "real.sh"})))
	if err != nil {
		t.Fatal(err)
	}
	if string(p.entryHead) != "#!/bin/sh\n" {
		t.Errorf("entry head %q", p.entryHead)
	}
	nagios := `{"name":"n","version":"1.0.0","description":"d","kind":"nagios","entrypoint":"/usr/lib/nagios/plugins/check_disk"}`
	if _, err := Read(bytes.NewReader(tarGz(t, file{name: "manifest.json", body: nagios}))); err != nil {
		t.Errorf("a package wrapping a system plugin: %v", err)
	}
}

func TestPackRefuses(t *testing.T) {
	newDir := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "p")
		if _, err := Skeleton(dir, "x", "exec"); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	f := func(t *testing.T, dir, want string) {
		t.Helper()
		var out bytes.Buffer
		err := Pack(dir, &out)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Pack = %v, want an error containing %q", err, want)
		}
		if out.Len() != 0 {
			t.Errorf("Pack wrote %d bytes despite the error", out.Len())
		}
	}
	t.Run("no manifest", func(t *testing.T) { f(t, t.TempDir(), "manifest.json: missing") })
	t.Run("invalid manifest", func(t *testing.T) {
		dir := newDir(t)
		os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"name":"x"}`), 0o644)
		f(t, dir, "manifest: version: required")
	})
	t.Run("link outside", func(t *testing.T) {
		dir := newDir(t)
		os.Symlink("/etc/passwd", filepath.Join(dir, "passwd"))
		f(t, dir, `passwd: symbolic link to "/etc/passwd" leaves the package`)
	})
	t.Run("link up", func(t *testing.T) {
		dir := newDir(t)
		os.Symlink("../../x", filepath.Join(dir, "bin", "up"))
		f(t, dir, `bin/up: symbolic link to "../../x" leaves the package`)
	})
	t.Run("fifo", func(t *testing.T) {
		dir := newDir(t)
		if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
			t.Skip(err)
		}
		f(t, dir, "pipe: FIFO files cannot be packed")
	})
	t.Run("not executable", func(t *testing.T) {
		dir := newDir(t)
		os.Chmod(filepath.Join(dir, "bin", "x.sh"), 0o644)
		f(t, dir, `entrypoint "bin/x.sh" is not executable`)
	})
	t.Run("inside link kept", func(t *testing.T) {
		dir := newDir(t)
		os.Symlink("x.sh", filepath.Join(dir, "bin", "alias.sh"))
		os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
		os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("x"), 0o644)
		p, err := ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range p.Files {
			if strings.HasPrefix(name, ".git") {
				t.Errorf("%s packed", name)
			}
		}
	})
}

func TestLintFindings(t *testing.T) {
	mf := `{"name":"t","version":"1.0.0","description":"d","kind":"exec","entrypoint":"run.sh","classifier":"c.lua",
	  "trend_rules":[{"name":"r","selector":"up{","window":"1h","expr":"\"ok\""}],
	  "graphs":[{"metric":"value","chart":"state"},{"metric":"other","chart":"stacked","unit":"furlongs"}]}`
	body := tarGz(t, file{name: "manifest.json", body: mf}, file{name: "run.sh", body: "echo hi\n", mode: 0o755},
		file{name: "c.lua", body: `if values[1] > 5 then return "critical" end return "warning"`},
		file{name: "tests/a.json", body: `[{"value": 9, "expect": "ok"}]`})
	p, err := Read(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Lint(p) {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`error   classifier fails on a history of one result (value 1, exit code 0): classifier c.lua: returned "warning"`,
		`error   trend-rule trend_rules[0]: rule "t.r": selector`,
		`error   entrypoint entrypoint "run.sh" starts with neither`,
		`error   tests      tests/a.json: result 0: expected ok, the classifier said critical`,
		`warning classifier fails on an empty history (n == 0)`,
		`warning readme     no README.md`,
		`warning license    no license`,
		`warning graphs     graphs[0] "value": chart "state" is for the state series`,
		`warning graphs     graphs[1] "other": unit "furlongs"`,
		`warning trend-rule trend_rules[0] "r": no interval`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing finding %q in:\n%s", want, all)
		}
	}
	if !HasErrors(Lint(p)) || !strings.HasPrefix(got[0], "error") || !strings.HasPrefix(got[len(got)-1], "warning") {
		t.Errorf("errors first:\n%s", all)
	}
}

func TestFindingsOfReadError(t *testing.T) {
	body := tarGz(t, file{name: "manifest.json", body: `{"name":"-","kind":"exec","entrypoint":"x"}`})
	_, err := Read(bytes.NewReader(body))
	fs := Findings(err)
	if len(fs) != 3 {
		t.Fatalf("findings %v", fs)
	}
	for _, f := range fs {
		if f.Rule != "manifest" || !strings.Contains(f.Message, "manifest.json: manifest: ") {
			t.Errorf("%s", f)
		}
	}
}

func TestRunFixtureSemantics(t *testing.T) {
	// The classifier reports what it sees: n, the previous state and the
	// oldest value, so the replayed history is checked, not only states.
	p := &Package{Manifest: manifest.Manifest{Name: "t", Kind: "exec", History: 3}, Classifier: `
if n == 3 and states[1] == "unknown" and states[2] == "critical" and values[3] == 1 then return "major" end
if n == 3 and values[3] == 7 and states[3] == "unknown" then return "minor" end
if values[1] > 5 then return "critical" end
return "ok"`}
	v := func(f float64) *float64 { return &f }
	steps, err := RunFixture(p, []FixtureResult{
		{Value: v(1), Expect: "ok"},
		{Value: v(9), Expect: "critical"},
		{Value: v(2), Expect: "major"},                  // n == 3, states[2] critical, values[3] == 1
		{Value: v(2), Expect: "ok"},                     // the 1 has left the ring
		{Timestamp: FixtureStart + 30000, Value: v(7)},  // older than the ring: dropped
		{Timestamp: FixtureStart + 150000, Value: v(7)}, // out of order: joins never judged (unknown)
		{Timestamp: FixtureStart + 10*60000, Value: v(3), Expect: "minor"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if !s.OK {
			t.Errorf("step %d: %+v", i, s)
		}
	}
	if steps[1].Time != FixtureStart+60000 || steps[4].State != "" || steps[5].State != "" {
		t.Errorf("times or out-of-order step: %+v %+v", steps[1], steps[4])
	}
	if _, err := RunFixture(&Package{Manifest: manifest.Manifest{Name: "t"}, Classifier: "return ("}, nil); err == nil {
		t.Error("a classifier that does not compile must be an error")
	}
	for _, bad := range []string{`{}`, `[]`, `[{"value": "x"}]`, `[{"expect": "warning"}]`, `[{"colour": 1}]`, `[] []`} {
		if _, err := ParseFixture([]byte(bad)); err == nil {
			t.Errorf("ParseFixture(%s) accepted", bad)
		}
	}
}

func TestSkeletonScriptRuns(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := filepath.Join(t.TempDir(), "p")
	if _, err := Skeleton(dir, "fs", "exec"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(dir, "bin", "fs.sh"), "/").Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var res struct {
		Value   *float64 `json:"value"`
		Message string   `json:"message"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Value == nil || *res.Value < 0 || *res.Value > 100 || !strings.HasSuffix(res.Message, "% used") {
		t.Fatalf("output %s: %+v, %v", out, res, err)
	}
}

func TestRunFixtureStopsASlowClassifier(t *testing.T) {
	p := &Package{Manifest: manifest.Manifest{Name: "slow", Kind: "exec"}, Classifier: `while true do end`}
	fx := make([]FixtureResult, 1000)
	start := time.Now()
	steps, err := RunFixture(p, fx)
	if !errors.Is(err, ErrFixtureAborted) || len(steps) != 1 || !strings.Contains(err.Error(), "time limit") {
		t.Fatalf("RunFixture = %d steps, %v", len(steps), err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	p.Fixtures = map[string][]byte{"tests/a.json": []byte(`[{"value": 1}]`), "tests/b.json": []byte(`[{"value": 1}]`)}
	n := 0
	for _, f := range Lint(p) {
		if f.Rule == "tests" && strings.Contains(f.Message, "fixture replay stopped") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d aborted fixtures reported, want 1 (Lint stops at the first)", n)
	}
}
