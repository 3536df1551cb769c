package mesh

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// ReadKeyFile reads the mesh's keys: one base64 key (16, 24 or 32 bytes)
// per line, the first used to send, all accepted; blank lines and lines
// starting with # are skipped. The file must not be readable by group or
// others (like ssh's keys): whoever reads it can join the mesh.
//
// Make a key with: head -c 32 /dev/urandom | base64
func ReadKeyFile(path string) ([][]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mesh key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("mesh key file %s: mode %v; make it 0600 (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mesh key file: %w", err)
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("mesh key file %s line %d: not base64", path, n)
		}
		if l := len(k); l != 16 && l != 24 && l != 32 {
			return nil, fmt.Errorf("mesh key file %s line %d: %d bytes; want 16, 24 or 32", path, n, l)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("mesh key file %s: no key", path)
	}
	return keys, nil
}
