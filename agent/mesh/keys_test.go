package mesh

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k1, k2 := base64.StdEncoding.EncodeToString(testKey), base64.StdEncoding.EncodeToString(otherKey[:16])
	keys, err := ReadKeyFile(write("ok", "# new key first\n"+k1+"\n\n"+k2+"\n", 0o600))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], testKey) || len(keys[1]) != 16 {
		t.Fatalf("ReadKeyFile: %v %q", err, keys)
	}
	f := func(name, text string, mode os.FileMode, want string) {
		t.Helper()
		_, err := ReadKeyFile(write(name, text, mode))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	f("open", k1, 0o644, "make it 0600")
	f("empty", "# nothing\n", 0o600, "no key")
	f("notb64", "!!!\n", 0o600, "line 1: not base64")
	f("short", base64.StdEncoding.EncodeToString([]byte("short")), 0o600, "5 bytes")
}
