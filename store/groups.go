package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// Group is a named set of hosts and of other groups ("Webservers",
// "Edinburgh office"). Nesting may go any depth but never round in a cycle.
type Group struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Hosts are the host members, by name.
	Hosts []string `json:"hosts" yaml:"hosts,omitempty"`
	// Groups are the nested groups, by name; their hosts are members too.
	Groups []string `json:"groups" yaml:"groups,omitempty"`
}

// GroupStore keeps host groups. A write that would make the nesting cyclic
// fails with ErrConflict naming the cycle; a member that does not exist is
// ErrInvalid.
type GroupStore interface {
	// Groups returns every group, sorted by name.
	Groups(ctx context.Context) ([]Group, error)
	// Group returns one group, or an error wrapping ErrNotFound.
	Group(ctx context.Context, name string) (Group, error)
	// CreateGroup adds a group.
	CreateGroup(ctx context.Context, g Group) (Group, error)
	// UpdateGroup replaces the group called name (g.Name "" keeps it).
	UpdateGroup(ctx context.Context, name string, g Group) (Group, error)
	// DeleteGroup deletes a group nothing refers to.
	DeleteGroup(ctx context.Context, name string) error
	// GroupHosts returns the names of every host in the group, directly or
	// through nested groups, sorted and without duplicates.
	GroupHosts(ctx context.Context, name string) ([]string, error)
}

func (g *Group) key() *string { return &g.Name }

func (g *Group) normalize() {
	g.Hosts = sortNames(g.Hosts)
	g.Groups = sortNames(g.Groups)
}

func (g *Group) validate() error {
	if err := validName("group", g.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("group %q", g.Name)
	if err := validText(what, "description", g.Description, maxDescription); err != nil {
		return err
	}
	if err := validNameList(what, "hosts", g.Hosts); err != nil {
		return err
	}
	if err := validNameList(what, "groups", g.Groups); err != nil {
		return err
	}
	if slices.Contains(g.Groups, g.Name) {
		return cycleError("group nesting", []string{g.Name, g.Name})
	}
	return nil
}

func (g *Group) refs() []ref {
	return append(refsOf(kindHost, g.Hosts), refsOf(kindGroup, g.Groups)...)
}

func diffGroup(a, b *Group) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	f.list("hosts", a.Hosts, b.Hosts)
	f.list("groups", a.Groups, b.Groups)
	return f
}

var groupOps = ops[Group]{
	kind:   kindGroup,
	load:   loadGroups,
	insert: insertGroup,
	update: updateGroup,
	check:  checkGroupCycle,
	diff:   diffGroup,
}

func loadGroups(ctx context.Context, q querier, name string) ([]Group, error) {
	where, args := whereName("g.name", name)
	var out []Group
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var g Group
		var id, created, updated int64
		if err := rows.Scan(&id, &g.Name, &g.Description, &created, &updated); err != nil {
			return err
		}
		g.set(id, created, updated)
		out = append(out, g)
		return nil
	}, `SELECT g.id, g.name, g.description, g.created_at, g.updated_at FROM host_groups g`+where+` ORDER BY g.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	hosts, err := memberNames(ctx, q, `SELECT g.name, h.name FROM host_group_hosts m
		JOIN host_groups g ON g.id = m.group_id JOIN hosts h ON h.id = m.host_id`+where, args)
	if err != nil {
		return nil, fmt.Errorf("load group hosts: %w", err)
	}
	groups, err := memberNames(ctx, q, `SELECT g.name, s.name FROM host_group_groups m
		JOIN host_groups g ON g.id = m.group_id JOIN host_groups s ON s.id = m.member_id`+where, args)
	if err != nil {
		return nil, fmt.Errorf("load group members: %w", err)
	}
	for i := range out {
		out[i].Hosts = hosts[out[i].Name]
		out[i].Groups = groups[out[i].Name]
		out[i].normalize()
	}
	return out, nil
}

func insertGroup(ctx context.Context, tx *sql.Tx, r *resolver, g *Group, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO host_groups (name, description, created_at, updated_at)
		VALUES (?, ?, ?, ?) RETURNING id`, g.Name, g.Description, now, now).Scan(&id)
	if err != nil {
		return 0, err
	}
	r.set(kindGroup, g.Name, id)
	return id, writeGroupMembers(ctx, tx, r, id, g)
}

func updateGroup(ctx context.Context, tx *sql.Tx, r *resolver, id int64, g *Group, now int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE host_groups SET name = ?, description = ?, updated_at = ? WHERE id = ?`,
		g.Name, g.Description, now, id); err != nil {
		return err
	}
	return writeGroupMembers(ctx, tx, r, id, g)
}

func writeGroupMembers(ctx context.Context, tx *sql.Tx, r *resolver, id int64, g *Group) error {
	hosts, err := r.idList(ctx, kindHost, g.Hosts)
	if err != nil {
		return err
	}
	groups, err := r.idList(ctx, kindGroup, g.Groups)
	if err != nil {
		return err
	}
	if err := replaceMembers(ctx, tx, "host_group_hosts", "group_id", "host_id", id, hosts); err != nil {
		return err
	}
	return replaceMembers(ctx, tx, "host_group_groups", "group_id", "member_id", id, groups)
}

// groupGraph is the nesting of groups: group -> member groups.
func groupGraph(groups []Group) graph {
	g := make(graph, len(groups))
	for i := range groups {
		g[groups[i].Name] = groups[i].Groups
	}
	return g
}

// checkGroupCycle refuses a single write that would close a nesting cycle.
func checkGroupCycle(ctx context.Context, tx *sql.Tx, g *Group, oldName string) error {
	if len(g.Groups) == 0 {
		return nil
	}
	all, err := loadGroups(ctx, tx, "")
	if err != nil {
		return err
	}
	if c := groupGraph(all).withNode(oldName, g.Name, g.Groups).findCycle(); c != nil {
		return cycleError("group nesting", c)
	}
	return nil
}

// Groups implements GroupStore.
func (s *sqlStore) Groups(ctx context.Context) ([]Group, error) { return listAll(ctx, s, groupOps) }

// Group implements GroupStore.
func (s *sqlStore) Group(ctx context.Context, name string) (Group, error) {
	return getOne(ctx, s, groupOps, name)
}

// CreateGroup implements GroupStore.
func (s *sqlStore) CreateGroup(ctx context.Context, g Group) (Group, error) {
	return createOne(ctx, s, groupOps, g)
}

// UpdateGroup implements GroupStore.
func (s *sqlStore) UpdateGroup(ctx context.Context, name string, g Group) (Group, error) {
	return updateOne(ctx, s, groupOps, name, g)
}

// DeleteGroup implements GroupStore.
func (s *sqlStore) DeleteGroup(ctx context.Context, name string) error {
	return deleteOne(ctx, s, groupOps, name)
}

// GroupHosts implements GroupStore. The recursive query walks the nesting
// with UNION (not UNION ALL), so it terminates even on a cycle that a
// corrupted database might hold.
func (s *sqlStore) GroupHosts(ctx context.Context, name string) ([]string, error) {
	out := []string{}
	err := s.read(ctx, func(q querier) error {
		var id int64
		if err := q.QueryRowContext(ctx, `SELECT id FROM host_groups WHERE name = ?`, name).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return notFoundf("group %q not found", name)
			}
			return err
		}
		return queryRows(ctx, q, func(rows *sql.Rows) error {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			out = append(out, h)
			return nil
		}, `WITH RECURSIVE nested(id) AS (
				SELECT CAST(? AS BIGINT)
				UNION
				SELECT m.member_id FROM host_group_groups m JOIN nested n ON m.group_id = n.id
			)
			SELECT DISTINCT h.name FROM nested n
			JOIN host_group_hosts m ON m.group_id = n.id
			JOIN hosts h ON h.id = m.host_id
			ORDER BY h.name`, id)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("hosts of group %q: %w", name, err)
	}
	return out, nil
}
