package mesh

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The state file keeps the host table across restarts, so a host that was
// down before the agent restarted is still shown down (with its last
// status) instead of being forgotten. It is JSON, written atomically
// (temporary file, fsync, rename), and small: one latest status per host.

const stateVersion = 1

type stateFile struct {
	Version int          `json:"version"`
	Hosts   []stateEntry `json:"hosts"`
}

type stateEntry struct {
	Name      string    `json:"name"`
	Addr      string    `json:"addr,omitempty"`
	LastSeen  time.Time `json:"last_seen"`
	Down      bool      `json:"down,omitempty"`
	DownSince time.Time `json:"down_since,omitzero"`
	LastSeq   uint64    `json:"last_seq"`
	Latest    *Status   `json:"latest,omitempty"`
}

// maxStateFileBytes bounds what loadState reads: 100,000 hosts is far more
// than a mesh holds.
const maxStateFileBytes = 64 << 20

// snapshot returns the table as a state file.
func (p *peers) snapshot() stateFile {
	sf := stateFile{Version: stateVersion}
	for _, h := range p.sortedHosts() {
		e := stateEntry{Name: h.name, Addr: h.addr, LastSeen: h.lastSeen, Down: h.down, DownSince: h.downSince, LastSeq: h.lastSeq}
		if s, ok := h.statuses.latest(); ok {
			e.Latest = &s
		}
		sf.Hosts = append(sf.Hosts, e)
	}
	return sf
}

// restore loads a state file's hosts into the table (the table's own host
// excluded: it is alive, it is us). Statuses are normalized, as if they
// had come over the wire.
func (p *peers) restore(sf stateFile) {
	for _, e := range sf.Hosts {
		if e.Name == "" || e.Name == p.self || !validString(e.Name, MaxHostLen) {
			continue
		}
		h := p.get(e.Name)
		h.addr, h.lastSeen, h.down, h.downSince, h.lastSeq = e.Addr, e.LastSeen, e.Down, e.DownSince, e.LastSeq
		if e.Latest != nil {
			h.statuses.add(e.Latest.normalize())
		}
	}
}

// loadState reads a state file; a missing file is an empty table.
func loadState(path string) (stateFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stateFile{Version: stateVersion}, nil
	}
	if err != nil {
		return stateFile{}, fmt.Errorf("mesh state: %w", err)
	}
	defer f.Close()
	var sf stateFile
	dec := json.NewDecoder(&limitedReader{f, maxStateFileBytes})
	if err := dec.Decode(&sf); err != nil {
		return stateFile{}, fmt.Errorf("mesh state %s: %w", path, err)
	}
	if sf.Version != stateVersion {
		return stateFile{}, fmt.Errorf("mesh state %s: version %d, want %d", path, sf.Version, stateVersion)
	}
	return sf, nil
}

// saveState writes sf to path atomically.
func saveState(path string, sf stateFile) error {
	b, err := json.MarshalIndent(sf, "", " ")
	if err != nil {
		return fmt.Errorf("mesh state: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".mesh-state-*")
	if err != nil {
		return fmt.Errorf("mesh state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("mesh state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("mesh state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mesh state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mesh state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// limitedReader fails, rather than silently truncating, past n bytes.
type limitedReader struct {
	f interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("file too big")
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.f.Read(b)
	l.n -= int64(n)
	return n, err
}
