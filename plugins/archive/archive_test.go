package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// file is one entry of a test archive.
type file struct {
	name, body, link string
	typ              byte
	mode             int64
	size             int64 // a header size with no body written (a lie); last entry only
}

// build returns a .tar.gz of files.
func build(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Linkname: f.link, Size: int64(len(f.body)), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if f.size != 0 {
			h.Size = f.size
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg && f.size == 0 {
			if _, err := tw.Write([]byte(f.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil && files[len(files)-1].size == 0 {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func script(name string) file {
	return file{name: name, body: "#!/bin/sh\necho '{\"value\": 42}'\n", mode: 0o755}
}

func TestValidateAccepts(t *testing.T) {
	f := func(entrypoint string, files ...file) {
		t.Helper()
		b := build(t, files...)
		if _, err := Validate(bytes.NewReader(b), entrypoint); err != nil {
			t.Errorf("Validate(%v, %q): %v", files, entrypoint, err)
		}
		if err := Unpack(bytes.NewReader(b), filepath.Join(t.TempDir(), "p"), entrypoint); err != nil {
			t.Errorf("Unpack(%v, %q): %v", files, entrypoint, err)
		}
	}
	f("run.sh", script("run.sh"))
	f("./run.sh", script("./run.sh"))
	f("bin/run", file{name: "./", typ: tar.TypeDir, mode: 0o755}, file{name: "bin/", typ: tar.TypeDir, mode: 0o755}, script("bin/run"))
	f("bin/run", script("bin/run"), file{name: "bin", typ: tar.TypeDir}) // listed after its content
	f("run", script("lib/real"), file{name: "run", typ: tar.TypeLink, link: "lib/real"})
	f("run", script("run"), file{name: "current", typ: tar.TypeSymlink, link: "lib/x"}, file{name: "here", typ: tar.TypeSymlink, link: "."})
}

func TestValidateRefuses(t *testing.T) {
	f := func(want, entrypoint string, files ...file) {
		t.Helper()
		b := build(t, files...)
		_, err := Validate(bytes.NewReader(b), entrypoint)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%v, %q) = %v, want ErrInvalid saying %q", files, entrypoint, err, want)
		}
		dir := filepath.Join(t.TempDir(), "p")
		err = Unpack(bytes.NewReader(b), dir, entrypoint)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Unpack(%v, %q) = %v, want ErrInvalid saying %q", files, entrypoint, err, want)
		}
		if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Unpack left %s behind after a refusal: %v", dir, err)
		}
	}
	f("absolute path", "run", script("run"), script("/etc/cron.d/x"))
	f("'..'", "run", script("run"), script("../x"))
	f("'..'", "run", script("run"), script("a/../../x"))
	f("'..'", "run", script("run"), script("a/.."))
	f("leaves the package", "run", script("run"), file{name: "l", typ: tar.TypeSymlink, link: "../../etc/passwd"})
	f("leaves the package", "run", script("run"), file{name: "l", typ: tar.TypeSymlink, link: "a/../.."})
	f("must be relative", "run", script("run"), file{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"})
	f("not an earlier regular file", "run", script("run"), file{name: "l", typ: tar.TypeLink, link: "/etc/passwd"})
	f("not an earlier regular file", "run", script("run"), file{name: "l", typ: tar.TypeLink, link: "../x"})
	f("not an earlier regular file", "run", file{name: "run", typ: tar.TypeLink, link: "later"}, script("later"))
	f("lies under", "run", script("run"), file{name: "d", typ: tar.TypeSymlink, link: "sub"}, script("d/x"))
	f("device files", "run", script("run"), file{name: "null", typ: tar.TypeChar})
	f("device files", "run", script("run"), file{name: "sda", typ: tar.TypeBlock})
	f("FIFOs", "run", script("run"), file{name: "p", typ: tar.TypeFifo})
	f("appears twice", "run", script("run"), script("run"))
	f("appears twice", "run", script("a/x"), script("a"))
	f("is not in the archive", "run", script("other"))
	f("is not a regular file", "run", file{name: "run", typ: tar.TypeDir})
	f("is not a regular file", "run", script("x"), file{name: "run", typ: tar.TypeSymlink, link: "x"})
	f("must be a relative path", "/bin/sh", script("run"))
	f("must be a relative path", "../run", script("run"))
	f("more than 268435456 bytes", "run", script("run"), file{name: "big", size: MaxUnpackedBytes})
	// The sum counts: the header of the last entry lies, the size check
	// must refuse it before reading its body.
	f("more than 268435456 bytes", "run", script("run"), file{name: "a", body: strings.Repeat("x", 8192)}, file{name: "b", size: MaxUnpackedBytes - 8192 - int64(len(script("run").body)) + 1})
}

func TestValidateRefusesBrokenStreams(t *testing.T) {
	good := build(t, script("run"))
	f := func(want string, b []byte) {
		t.Helper()
		if _, err := Validate(bytes.NewReader(b), "run"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want ErrInvalid saying %q", err, want)
		}
	}
	f("not gzip", []byte("PK\x03\x04 a zip file"))
	f("not gzip", nil)
	f("read", good[:len(good)/2]) // cut short
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC
	f("gzip", corrupt)
	var notTar bytes.Buffer
	zw := gzip.NewWriter(&notTar)
	zw.Write(bytes.Repeat([]byte("not a tar header "), 64))
	zw.Close()
	f("read tar", notTar.Bytes())
}

func TestValidateCountsEntries(t *testing.T) {
	files := []file{script("run")}
	for i := range MaxEntries {
		files = append(files, file{name: "d" + strings.Repeat("x", i%7) + "/" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)), typ: tar.TypeDir})
	}
	_, err := Validate(bytes.NewReader(build(t, files...)), "run")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "more than 10000 entries") {
		t.Fatalf("Validate of %d entries = %v", len(files), err)
	}
}

func TestUnpackModes(t *testing.T) {
	old := umask(0o077) // a strict umask must not make files unreadable to the plugin user
	defer umask(old)
	b := build(t, script("bin/run"), file{name: "lib/data.txt", body: "hello", mode: 0o600}, file{name: "lib/all", body: "x", mode: 0o777},
		file{name: "run", typ: tar.TypeSymlink, link: "bin/run"})
	dir := filepath.Join(t.TempDir(), "p")
	if err := Unpack(bytes.NewReader(b), dir, "bin/run"); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{
		".": os.ModeDir | 0o755, "bin": os.ModeDir | 0o755, "lib": os.ModeDir | 0o755,
		"bin/run": 0o755, "lib/data.txt": 0o644, "lib/all": 0o755, "run": os.ModeSymlink | 0o777,
	}
	for name, mode := range want {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), mode)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "lib/data.txt"))
	if err != nil || string(got) != "hello" {
		t.Errorf("lib/data.txt = %q, %v", got, err)
	}
	if err := Unpack(bytes.NewReader(b), dir, "bin/run"); err == nil {
		t.Error("Unpack into an existing directory succeeded")
	}
}

func TestHash(t *testing.T) {
	h := SHA256([]byte("abc"))
	if h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || !ValidHash(h) {
		t.Errorf("SHA256(abc) = %s", h)
	}
	for _, s := range []string{"", strings.ToUpper(h), h[:63], h + "0", "../" + h[3:], strings.Repeat("g", 64)} {
		if ValidHash(s) {
			t.Errorf("ValidHash(%q) = true", s)
		}
	}
}

// FuzzValidate feeds arbitrary bytes (seeded with valid and invalid
// archives) to Validate and Unpack: neither may panic, and they must agree,
// and whatever Unpack writes stays inside its directory.
func FuzzValidate(f *testing.F) {
	f.Add(build(f, script("run")), "run")
	f.Add(build(f, script("bin/run"), file{name: "l", typ: tar.TypeSymlink, link: "bin"}), "bin/run")
	f.Add(build(f, script("run"), file{name: "l", typ: tar.TypeLink, link: "run"}), "l")
	f.Add(build(f, script("run"), file{name: "x", typ: tar.TypeSymlink, link: "../x"}), "run")
	f.Add([]byte{0x1f, 0x8b}, "run")
	f.Fuzz(func(t *testing.T, b []byte, entrypoint string) {
		_, verr := Validate(bytes.NewReader(b), entrypoint)
		root := t.TempDir()
		dir := filepath.Join(root, "p")
		uerr := Unpack(bytes.NewReader(b), dir, entrypoint)
		if (verr == nil) != (uerr == nil) {
			t.Fatalf("Validate = %v but Unpack = %v", verr, uerr)
		}
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		if uerr != nil && len(entries) != 0 {
			t.Fatalf("a failed Unpack left %v", entries)
		}
		if uerr == nil && (len(entries) != 1 || entries[0].Name() != "p") {
			t.Fatalf("Unpack wrote outside its directory: %v", entries)
		}
	})
}
