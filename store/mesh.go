package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// MeshSettings turn the agent mesh on for every enrolled agent: the server
// puts them in each agent's plan (docs/mesh.md). One set per server.
//
// Keys are secrets: the store keeps them; anything that shows the settings
// to a person or another program (the API, logs, export) must show
// Redacted() instead. LogValue redacts on its own.
type MeshSettings struct {
	Enabled bool   `json:"enabled" yaml:"enabled"`
	Cluster string `json:"cluster" yaml:"cluster"`
	// Port is the mesh port, UDP and TCP, the same on every agent.
	Port int `json:"port" yaml:"port"`
	// Keys are base64 AES keys (16, 24 or 32 bytes), the first used to
	// send. Enabling the mesh without a key makes one.
	Keys []string `json:"keys,omitempty" yaml:"-"`
	// Allow lists the address ranges allowed in the mesh; StatusAllow
	// who may read the status page at StatusListen ("" serves none).
	Allow        string `json:"allow" yaml:"allow"`
	StatusListen string `json:"status_listen" yaml:"status_listen,omitempty"`
	StatusAllow  string `json:"status_allow" yaml:"status_allow,omitempty"`
	// Interval is how often agents take their status and report their
	// view; Down and Remove how long a silent peer takes to be marked
	// down and forgotten.
	Interval Duration `json:"interval" yaml:"interval"`
	Down     Duration `json:"down" yaml:"down"`
	Remove   Duration `json:"remove" yaml:"remove"`
	// UpdatedAt is when they last changed (ms; 0 never set).
	UpdatedAt int64 `json:"updated_at" yaml:"-"`
}

// DefaultMeshSettings are the settings before an admin sets any: off, with
// the agent's defaults (agent/mesh).
func DefaultMeshSettings() MeshSettings {
	return MeshSettings{Port: 7946, StatusAllow: "127.0.0.1 ::1", Interval: Duration(time.Minute),
		Down: Duration(30 * time.Minute), Remove: Duration(240 * time.Hour), Keys: []string{}}
}

// MeshStore keeps the mesh settings.
type MeshStore interface {
	// MeshSettings returns the settings, keys included (callers that show
	// them must use Redacted); DefaultMeshSettings when never set.
	MeshSettings(ctx context.Context) (MeshSettings, error)
	// SetMeshSettings validates and replaces the settings. Keys nil keeps
	// the stored keys; a key sent as SecretPlaceholder keeps the stored
	// key at that position; enabling the mesh with no key makes a random
	// 32-byte one.
	SetMeshSettings(ctx context.Context, m MeshSettings) (MeshSettings, error)
}

// Redacted returns a copy whose keys read SecretPlaceholder.
func (m MeshSettings) Redacted() MeshSettings {
	keys := make([]string, len(m.Keys))
	for i := range keys {
		keys[i] = SecretPlaceholder
	}
	m.Keys = keys
	return m
}

// LogValue implements slog.LogValuer: the keys never reach a log.
func (m MeshSettings) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("enabled", m.Enabled), slog.String("cluster", m.Cluster),
		slog.Int("port", m.Port), slog.Int("keys", len(m.Keys)), slog.String("allow", m.Allow))
}

// Limits of the mesh settings.
const (
	maxMeshKeys   = 8
	maxMeshRanges = 1024
)

// NewMeshKey returns a random 32-byte key, base64.
func NewMeshKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return base64.StdEncoding.EncodeToString(b)
}

func (m *MeshSettings) validate() error {
	const what = "mesh settings"
	if m.Cluster != "" && !nameRE.MatchString(m.Cluster) {
		return invalidf("%s: cluster %q must match %s", what, m.Cluster, NamePattern)
	}
	if m.Enabled && m.Cluster == "" {
		return invalidf("%s: cluster is required to enable the mesh", what)
	}
	// Agents bind what their plan asks for after dropping root
	// (docs/agent.md, Privileges): a port below 1024 would never bind.
	if m.Port < 1024 || m.Port > 65535 {
		return invalidf("%s: port %d is not 1024-65535 (agents bind it unprivileged)", what, m.Port)
	}
	if len(m.Keys) > maxMeshKeys {
		return invalidf("%s: %d keys; the limit is %d", what, len(m.Keys), maxMeshKeys)
	}
	for i, k := range m.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return invalidf("%s: keys[%d] is not base64", what, i)
		}
		if l := len(b); l != 16 && l != 24 && l != 32 {
			return invalidf("%s: keys[%d] is %d bytes; want 16, 24 or 32", what, i, l)
		}
	}
	if err := validRanges(what, "allow", m.Allow); err != nil {
		return err
	}
	if m.Enabled && strings.TrimSpace(m.Allow) == "" {
		return invalidf("%s: allow is required to enable the mesh: which addresses may join (e.g. 192.168.0. or 10.1.0.0/24)", what)
	}
	if err := validRanges(what, "status_allow", m.StatusAllow); err != nil {
		return err
	}
	if m.StatusListen != "" {
		_, port, err := net.SplitHostPort(m.StatusListen)
		if err != nil || port == "" {
			return invalidf("%s: status_listen %q is not an address like :8080 or 127.0.0.1:8080", what, m.StatusListen)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1024 || n > 65535 {
			return invalidf("%s: status_listen %q: the port must be 1024-65535 (agents bind it unprivileged)", what, m.StatusListen)
		}
	}
	if m.Interval < Duration(time.Second) || m.Interval > Duration(24*time.Hour) {
		return invalidf("%s: interval %s is outside 1s to 1d", what, m.Interval)
	}
	if m.Down < Duration(time.Second) {
		return invalidf("%s: down %s is under 1s", what, m.Down)
	}
	if m.Remove < m.Down {
		return invalidf("%s: remove %s is shorter than down %s", what, m.Remove, m.Down)
	}
	return nil
}

// validRanges checks an address range list in the mesh's syntax
// (docs/mesh.md): separated by commas or spaces, each an address, a CIDR,
// a prefix like 192.168. or 192.168.0., or a range like 192.168.0.100-199
// or 10.0.0.1-10.0.0.9. The agent parses them again; this catches typos
// when they are saved.
func validRanges(what, field, s string) error {
	if len(s) > maxDescription {
		return invalidf("%s: %s is %d bytes long; the limit is %d", what, field, len(s), maxDescription)
	}
	toks := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(toks) > maxMeshRanges {
		return invalidf("%s: %s has %d ranges; the limit is %d", what, field, len(toks), maxMeshRanges)
	}
	for _, t := range toks {
		if !validRange(t) {
			return invalidf("%s: %s: %q is not an address, CIDR, prefix (192.168.) or range (192.168.0.100-199)", what, field, t)
		}
	}
	return nil
}

func validRange(t string) bool {
	if _, err := netip.ParseAddr(t); err == nil {
		return true
	}
	if _, err := netip.ParsePrefix(t); err == nil {
		return true
	}
	if strings.HasSuffix(t, ".") {
		parts := strings.Split(strings.TrimSuffix(t, "."), ".")
		if len(parts) > 3 {
			return false
		}
		for _, p := range parts {
			if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 255 {
				return false
			}
		}
		return true
	}
	from, to, ok := strings.Cut(t, "-")
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(from)
	if err != nil {
		return false
	}
	if b, err := netip.ParseAddr(to); err == nil {
		return a.Is4() == b.Is4() && !b.Less(a)
	}
	n, err := strconv.Atoi(to)
	return err == nil && a.Is4() && n >= int(a.As4()[3]) && n <= 255
}

// kindMesh names the mesh settings in an Apply's diff.
const kindMesh kind = "mesh"

// MeshSettings implements MeshStore.
func (s *sqlStore) MeshSettings(ctx context.Context) (MeshSettings, error) {
	var m MeshSettings
	err := s.read(ctx, func(q querier) error {
		var err error
		m, err = loadMesh(ctx, q)
		return err
	})
	return m, err
}

// loadMesh reads the settings (DefaultMeshSettings when never set).
func loadMesh(ctx context.Context, q querier) (MeshSettings, error) {
	m := DefaultMeshSettings()
	var enabled int
	var keys string
	var interval, down, remove int64
	err := q.QueryRowContext(ctx, `SELECT enabled, cluster, port, keys, allow_ranges, status_listen, status_allow,
		interval_ms, down_ms, remove_ms, updated_at FROM mesh_settings WHERE id = 1`).Scan(&enabled, &m.Cluster, &m.Port,
		&keys, &m.Allow, &m.StatusListen, &m.StatusAllow, &interval, &down, &remove, &m.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("read mesh settings: %w", err)
	}
	m.Enabled = enabled != 0
	m.Keys = strings.Fields(keys)
	if m.Keys == nil {
		m.Keys = []string{}
	}
	m.Interval, m.Down, m.Remove = Duration(interval)*Duration(time.Millisecond),
		Duration(down)*Duration(time.Millisecond), Duration(remove)*Duration(time.Millisecond)
	return m, nil
}

// SetMeshSettings implements MeshStore.
func (s *sqlStore) SetMeshSettings(ctx context.Context, m MeshSettings) (MeshSettings, error) {
	var saved MeshSettings
	err := s.write(ctx, func(tx *sql.Tx) error {
		prev, err := loadMesh(ctx, tx)
		if err != nil {
			return err
		}
		if saved, err = mergeMesh(prev, m, s.now()); err != nil {
			return err
		}
		return writeMesh(ctx, tx, saved)
	})
	if err != nil {
		return MeshSettings{}, err
	}
	return saved, nil
}

// mergeMesh resolves m's keys against prev's (nil keeps them all,
// SecretPlaceholder keeps one), validates, and makes a key when the mesh
// is enabled without one.
func mergeMesh(prev, m MeshSettings, now time.Time) (MeshSettings, error) {
	if m.Keys == nil {
		m.Keys = prev.Keys // not sent: kept
	}
	keys := make([]string, 0, len(m.Keys))
	for i, k := range m.Keys {
		j, ok := storedKeyRef(k, i)
		if ok {
			if j < 0 {
				return MeshSettings{}, invalidf("mesh settings: keys[%d] is %s: a stored key is named <secret> or <secret:N>", i, k)
			}
			if j >= len(prev.Keys) {
				return MeshSettings{}, invalidf("mesh settings: keys[%d] is %s but there is no stored key %d to keep", i, k, j)
			}
			k = prev.Keys[j]
		}
		keys = append(keys, strings.TrimSpace(k))
	}
	m.Keys = keys
	m.Cluster = strings.TrimSpace(m.Cluster)
	if err := m.validate(); err != nil {
		return MeshSettings{}, err
	}
	if m.Enabled && len(m.Keys) == 0 {
		m.Keys = []string{NewMeshKey()}
	}
	m.UpdatedAt = now.UnixMilli()
	return m, nil
}

// storedKeyRef reads a key sent as a reference to a stored one: the
// placeholder the API shows (<secret>) keeps the stored key at the same
// position i; <secret:N> names stored key N, so a client that never sees
// the keys can still reorder them (make a new key first, in a rotation).
func storedKeyRef(k string, i int) (int, bool) {
	if k == SecretPlaceholder {
		return i, true
	}
	inner, ok := strings.CutPrefix(k, strings.TrimSuffix(SecretPlaceholder, ">")+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(inner, ">"))
	if err != nil || !strings.HasSuffix(inner, ">") {
		return -1, true
	}
	return n, true
}

// writeMesh stores the settings.
func writeMesh(ctx context.Context, tx *sql.Tx, m MeshSettings) error {
	enabled := 0
	if m.Enabled {
		enabled = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mesh_settings (id, enabled, cluster, port, keys, allow_ranges, status_listen,
		status_allow, interval_ms, down_ms, remove_ms, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, cluster = excluded.cluster, port = excluded.port,
		keys = excluded.keys, allow_ranges = excluded.allow_ranges, status_listen = excluded.status_listen,
		status_allow = excluded.status_allow, interval_ms = excluded.interval_ms, down_ms = excluded.down_ms,
		remove_ms = excluded.remove_ms, updated_at = excluded.updated_at`,
		enabled, m.Cluster, m.Port, strings.Join(m.Keys, "\n"), m.Allow, m.StatusListen, m.StatusAllow,
		time.Duration(m.Interval).Milliseconds(), time.Duration(m.Down).Milliseconds(), time.Duration(m.Remove).Milliseconds(), m.UpdatedAt)
	if err != nil {
		return fmt.Errorf("write mesh settings: %w", err)
	}
	return nil
}

// documentMesh is the mesh section of an exported document: the settings
// without keys (they stay on the server) or the time of the last change.
func documentMesh(m MeshSettings) *MeshSettings {
	if m.UpdatedAt == 0 {
		return nil // never set: nothing to export
	}
	m.Keys, m.UpdatedAt = nil, 0
	return &m
}

// applyMesh makes the stored settings match a document's mesh section:
// fields it leaves out take their defaults, keys are never in documents
// and stay as stored. It records an update in d when something changed.
func applyMesh(ctx context.Context, tx *sql.Tx, want MeshSettings, now time.Time, d *Diff) error {
	prev, err := loadMesh(ctx, tx)
	if err != nil {
		return err
	}
	def := DefaultMeshSettings()
	if want.Port == 0 {
		want.Port = def.Port
	}
	if want.Interval == 0 {
		want.Interval = def.Interval
	}
	if want.Down == 0 {
		want.Down = def.Down
	}
	if want.Remove == 0 {
		want.Remove = def.Remove
	}
	want.Keys = nil
	m, err := mergeMesh(prev, want, now)
	if err != nil {
		return err
	}
	var f fieldDiffs
	f.str("enabled", strconv.FormatBool(prev.Enabled), strconv.FormatBool(m.Enabled))
	f.str("cluster", prev.Cluster, m.Cluster)
	f.str("port", strconv.Itoa(prev.Port), strconv.Itoa(m.Port))
	f.str("allow", prev.Allow, m.Allow)
	f.str("status_listen", prev.StatusListen, m.StatusListen)
	f.str("status_allow", prev.StatusAllow, m.StatusAllow)
	f.str("interval", prev.Interval.String(), m.Interval.String())
	f.str("down", prev.Down.String(), m.Down.String())
	f.str("remove", prev.Remove.String(), m.Remove.String())
	if len(m.Keys) != len(prev.Keys) {
		f = append(f, "a key made")
	}
	if len(f) == 0 {
		return nil
	}
	d.add(OpUpdate, kindMesh, "settings", f)
	return writeMesh(ctx, tx, m)
}
