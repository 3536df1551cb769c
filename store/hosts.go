package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// Host is one monitored machine.
type Host struct {
	Meta `yaml:",inline"`
	// Name identifies the host; agents report under it. See NamePattern.
	Name string `json:"name" yaml:"name"`
	// Address is how to reach the host (DNS name or IP), for people and
	// for plugins that probe it; optional.
	Address     string `json:"address" yaml:"address,omitempty"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Labels are added to every series of the host. Names follow
	// Prometheus's label rules; names starting with __ are reserved.
	Labels map[string]string `json:"labels" yaml:"labels,omitempty"`
}

// HostStore keeps hosts. Names are unique. A host that a group, check,
// service or alert rule still refers to cannot be deleted (ErrConflict).
type HostStore interface {
	// Hosts returns every host, sorted by name.
	Hosts(ctx context.Context) ([]Host, error)
	// Host returns one host, or an error wrapping ErrNotFound.
	Host(ctx context.Context, name string) (Host, error)
	// CreateHost adds a host; a taken name is ErrConflict, a bad field
	// ErrInvalid.
	CreateHost(ctx context.Context, h Host) (Host, error)
	// UpdateHost replaces the host called name with h; h.Name "" keeps the
	// name, another name renames the host.
	UpdateHost(ctx context.Context, name string, h Host) (Host, error)
	// DeleteHost deletes a host nothing refers to.
	DeleteHost(ctx context.Context, name string) error
}

func (h *Host) key() *string { return &h.Name }

func (h *Host) normalize() {
	if h.Labels == nil {
		h.Labels = map[string]string{}
	}
}

func (h *Host) validate() error {
	if err := validName("host", h.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("host %q", h.Name)
	if err := validText(what, "address", h.Address, maxAddress); err != nil {
		return err
	}
	if err := validText(what, "description", h.Description, maxDescription); err != nil {
		return err
	}
	return validLabels(what, h.Labels)
}

func (h *Host) refs() []ref { return nil }

func diffHost(a, b *Host) []string {
	var f fieldDiffs
	f.str("name", a.Name, b.Name)
	f.str("address", a.Address, b.Address)
	f.str("description", a.Description, b.Description)
	f.labels(a.Labels, b.Labels)
	return f
}

var hostOps = ops[Host]{
	kind:   kindHost,
	load:   loadHosts,
	insert: insertHost,
	update: updateHost,
	diff:   diffHost,
}

func loadHosts(ctx context.Context, q querier, name string) ([]Host, error) {
	where, args := whereName("name", name)
	var out []Host
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var h Host
		var id, created, updated int64
		var labels string
		if err := rows.Scan(&id, &h.Name, &h.Address, &h.Description, &labels, &created, &updated); err != nil {
			return err
		}
		h.set(id, created, updated)
		if err := json.Unmarshal([]byte(labels), &h.Labels); err != nil {
			return fmt.Errorf("host %q: corrupt labels: %w", h.Name, err)
		}
		h.normalize()
		out = append(out, h)
		return nil
	}, `SELECT id, name, address, description, labels, created_at, updated_at FROM hosts`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load hosts: %w", err)
	}
	return out, nil
}

func insertHost(ctx context.Context, tx *sql.Tx, _ *resolver, h *Host, now int64) (int64, error) {
	labels, err := json.Marshal(h.Labels)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO hosts (name, address, description, labels, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, h.Name, h.Address, h.Description, string(labels), now, now).Scan(&id)
	return id, err
}

func updateHost(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, h *Host, now int64) error {
	labels, err := json.Marshal(h.Labels)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE hosts SET name = ?, address = ?, description = ?, labels = ?, updated_at = ? WHERE id = ?`,
		h.Name, h.Address, h.Description, string(labels), now, id)
	return err
}

// Hosts implements HostStore.
func (s *sqlStore) Hosts(ctx context.Context) ([]Host, error) { return listAll(ctx, s, hostOps) }

// Host implements HostStore.
func (s *sqlStore) Host(ctx context.Context, name string) (Host, error) {
	return getOne(ctx, s, hostOps, name)
}

// CreateHost implements HostStore.
func (s *sqlStore) CreateHost(ctx context.Context, h Host) (Host, error) {
	return createOne(ctx, s, hostOps, h)
}

// UpdateHost implements HostStore.
func (s *sqlStore) UpdateHost(ctx context.Context, name string, h Host) (Host, error) {
	return updateOne(ctx, s, hostOps, name, h)
}

// DeleteHost implements HostStore.
func (s *sqlStore) DeleteHost(ctx context.Context, name string) error {
	return deleteOne(ctx, s, hostOps, name)
}
