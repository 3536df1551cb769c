package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Meta is what the store keeps about every configured entity besides its
// fields: its id and when it was created and last changed. The store sets it;
// values sent in a write are ignored. Exports (YAML) leave it out, so a
// configuration file holds only what users write.
type Meta struct {
	ID        int64     `json:"id,omitempty" yaml:"-"`
	CreatedAt time.Time `json:"created_at,omitzero" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at,omitzero" yaml:"-"`
}

func (m *Meta) meta() *Meta { return m }

// scanMeta fills m from the column representation.
func (m *Meta) set(id, created, updated int64) {
	m.ID, m.CreatedAt, m.UpdatedAt = id, fromMillis(created), fromMillis(updated)
}

// kind names an entity type, in messages and in diffs.
type kind string

// The kinds of configuration entities, in dependency order: an entity refers
// only to kinds listed before it, which is the order Apply creates them in
// (and the reverse, the order it deletes them in).
const (
	kindHost      kind = "host"
	kindSchedule  kind = "schedule"
	kindPlugin    kind = "plugin"
	kindGroup     kind = "group"
	kindCheck     kind = "check"
	kindTrendRule kind = "trend_rule" // services may have trend rules as members
	kindService   kind = "service"
	kindAlertRule kind = "alert_rule"
	kindSilence   kind = "silence"
	// kindDashboard refers to nothing and nothing refers to it.
	kindDashboard kind = "dashboard"
	// kindAlertModule is not part of configuration documents (its
	// settings hold secrets): like plugins, the modules a document's
	// alert rules name must exist on the server.
	kindAlertModule kind = "alert_module"
)

// kindOrder is the order of kinds in a rendered diff.
var kindOrder = []kind{kindHost, kindGroup, kindPlugin, kindSchedule, kindCheck, kindService, kindAlertRule, kindTrendRule, kindSilence, kindDashboard}

// tableOf is the table holding each kind's rows. The values are constants,
// never user input, so concatenating them into SQL is safe.
var tableOf = map[kind]string{
	kindHost:        "hosts",
	kindGroup:       "host_groups",
	kindPlugin:      "plugins",
	kindSchedule:    "schedules",
	kindCheck:       "checks",
	kindService:     "services",
	kindAlertRule:   "alert_rules",
	kindTrendRule:   "trend_rules",
	kindAlertModule: "alert_modules",
	kindSilence:     "silences",
	kindDashboard:   "dashboards",
}

// ref is a reference by name from one entity to another.
type ref struct {
	kind kind
	name string
}

func (r ref) String() string { return string(r.kind) + " " + r.name }

func refsOf(k kind, names []string) []ref {
	out := make([]ref, len(names))
	for i, n := range names {
		out[i] = ref{k, n}
	}
	return out
}

// record is the constraint of the generic entity functions: a pointer to an
// entity type, with its name, its Meta and its rules.
type record[T any] interface {
	*T
	meta() *Meta
	// key returns a pointer to the entity's name.
	key() *string
	// normalize puts lists in canonical order (sorted), so that two
	// entities that mean the same compare equal.
	normalize()
	// validate checks the entity on its own (not its references); it
	// runs after normalize.
	validate() error
	// refs lists the entities it refers to.
	refs() []ref
}

// ops are one kind's storage functions.
type ops[T any] struct {
	kind kind
	// load reads the entity called name, or every entity when name is "",
	// sorted by name.
	load func(ctx context.Context, q querier, name string) ([]T, error)
	// insert writes a new entity and returns its id; references are
	// resolved through r.
	insert func(ctx context.Context, tx *sql.Tx, r *resolver, v *T, now int64) (int64, error)
	// update overwrites entity id with v (name included).
	update func(ctx context.Context, tx *sql.Tx, r *resolver, id int64, v *T, now int64) error
	// check, if set, runs extra checks that need the rest of the store
	// (cycles) before a single create or update; oldName is "" on create.
	check func(ctx context.Context, tx *sql.Tx, v *T, oldName string) error
	// diff describes how b differs from a, field by field ("address
	// 10.0.0.1 -> 10.0.0.2"); nil when they are the same.
	diff func(a, b *T) []string
	// code, if set, runs the store's CodeChecker over the user code v
	// holds (classifiers, trend rules) before v is written; it returns
	// an error wrapping ErrInvalid that names the field.
	code func(c CodeChecker, v *T) error
	// quiet marks what no agent plan, rule or alert depends on
	// (dashboards): its writes do not wake ConfigChanged, so editing a
	// dashboard does not recompile every agent's plan.
	quiet bool
}

// writeFor is s.write, or s.writeData for a quiet kind.
func writeFor[T any](s *sqlStore, o ops[T]) func(context.Context, func(*sql.Tx) error) error {
	if o.quiet {
		return s.writeData
	}
	return s.write
}

// checkCode runs o.code when the store has a CodeChecker.
func checkCode[T any](s *sqlStore, o ops[T], v *T) error {
	if s.checker == nil || o.code == nil {
		return nil
	}
	return o.code(s.checker, v)
}

// listAll returns every entity of a kind.
func listAll[T any, P record[T]](ctx context.Context, s *sqlStore, o ops[T]) ([]T, error) {
	var out []T
	err := s.read(ctx, func(q querier) error {
		var err error
		out, err = o.load(ctx, q, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", o.kind, err)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// getOne returns the entity called name.
func getOne[T any, P record[T]](ctx context.Context, s *sqlStore, o ops[T], name string) (T, error) {
	var out []T
	err := s.read(ctx, func(q querier) error {
		var err error
		out, err = o.load(ctx, q, name)
		return err
	})
	var zero T
	if err != nil {
		return zero, fmt.Errorf("get %s: %w", o.kind, err)
	}
	if len(out) == 0 {
		return zero, notFoundf("%s %q not found", o.kind, name)
	}
	return out[0], nil
}

// loadOne reads one entity inside a transaction.
func loadOne[T any](ctx context.Context, q querier, o ops[T], name string) (T, error) {
	out, err := o.load(ctx, q, name)
	var zero T
	if err != nil {
		return zero, err
	}
	if len(out) == 0 {
		return zero, fmt.Errorf("BUG: %s %q vanished inside its transaction", o.kind, name)
	}
	return out[0], nil
}

// createOne validates and inserts v, and returns it as stored.
func createOne[T any, P record[T]](ctx context.Context, s *sqlStore, o ops[T], v T) (T, error) {
	p := P(&v)
	p.normalize()
	var out T
	if err := p.validate(); err != nil {
		return out, err
	}
	if err := checkCode(s, o, &v); err != nil {
		return out, err
	}
	name := *p.key()
	err := writeFor(s, o)(ctx, func(tx *sql.Tx) error {
		r := newResolver(tx)
		r.checker = s.checker
		if _, ok, err := r.lookup(ctx, o.kind, name); err != nil {
			return err
		} else if ok {
			return conflictf("%s %q already exists", o.kind, name)
		}
		if err := resolveRefs(ctx, r, fmt.Sprintf("%s %q", o.kind, name), p.refs()); err != nil {
			return err
		}
		if o.check != nil {
			if err := o.check(ctx, tx, p, ""); err != nil {
				return err
			}
		}
		if _, err := o.insert(ctx, tx, r, p, s.nowMillis()); err != nil {
			if strings.HasPrefix(err.Error(), fmt.Sprintf("%s %q", o.kind, name)) {
				return err // already names the entity (and field)
			}
			return fmt.Errorf("create %s %q: %w", o.kind, name, err)
		}
		var err error
		out, err = loadOne(ctx, tx, o, name)
		return err
	})
	return out, err
}

// updateOne validates v and overwrites the entity called name with it. An
// empty name in v keeps the name; a different one renames the entity.
func updateOne[T any, P record[T]](ctx context.Context, s *sqlStore, o ops[T], name string, v T) (T, error) {
	p := P(&v)
	if *p.key() == "" {
		*p.key() = name
	}
	p.normalize()
	var out T
	if err := p.validate(); err != nil {
		return out, err
	}
	if err := checkCode(s, o, &v); err != nil {
		return out, err
	}
	newName := *p.key()
	err := writeFor(s, o)(ctx, func(tx *sql.Tx) error {
		r := newResolver(tx)
		r.checker = s.checker
		id, ok, err := r.lookup(ctx, o.kind, name)
		if err != nil {
			return err
		}
		if !ok {
			return notFoundf("%s %q not found", o.kind, name)
		}
		if newName != name {
			if _, taken, err := r.lookup(ctx, o.kind, newName); err != nil {
				return err
			} else if taken {
				return conflictf("cannot rename %s %q to %q: %q already exists", o.kind, name, newName, newName)
			}
			r.set(o.kind, newName, id)
		}
		if err := resolveRefs(ctx, r, fmt.Sprintf("%s %q", o.kind, newName), p.refs()); err != nil {
			return err
		}
		if o.check != nil {
			if err := o.check(ctx, tx, p, name); err != nil {
				return err
			}
		}
		if err := o.update(ctx, tx, r, id, p, s.nowMillis()); err != nil {
			if strings.HasPrefix(err.Error(), fmt.Sprintf("%s %q", o.kind, newName)) {
				return err // already names the entity (and field)
			}
			return fmt.Errorf("update %s %q: %w", o.kind, name, err)
		}
		if newName != name {
			if err := renameInAlertRules(ctx, tx, ref{o.kind, name}, newName, s.nowMillis()); err != nil {
				return err
			}
			if err := renameInSilences(ctx, tx, ref{o.kind, name}, newName, s.nowMillis()); err != nil {
				return err
			}
			if err := renameInCheckPins(ctx, tx, ref{o.kind, name}, newName); err != nil {
				return err
			}
		}
		out, err = loadOne(ctx, tx, o, newName)
		return err
	})
	return out, err
}

// deleteOne deletes the entity called name, unless another entity still
// refers to it.
func deleteOne[T any, P record[T]](ctx context.Context, s *sqlStore, o ops[T], name string) error {
	return writeFor(s, o)(ctx, func(tx *sql.Tx) error {
		r := newResolver(tx)
		id, ok, err := r.lookup(ctx, o.kind, name)
		if err != nil {
			return err
		}
		if !ok {
			return notFoundf("%s %q not found", o.kind, name)
		}
		users, err := referrers(ctx, tx, ref{o.kind, name})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return conflictf("%s %q is still used by %s; remove it there first", o.kind, name, strings.Join(users, ", "))
		}
		return deleteRow(ctx, tx, o.kind, id)
	})
}

// deleteRow deletes one entity's row; its member rows go with it (ON DELETE
// CASCADE).
func deleteRow(ctx context.Context, tx *sql.Tx, k kind, id int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+tableOf[k]+` WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	return nil
}

// resolveRefs checks that every reference names an existing entity.
func resolveRefs(ctx context.Context, r *resolver, who string, refs []ref) error {
	var errs errorList
	for _, rf := range refs {
		if _, err := r.id(ctx, rf.kind, rf.name); err != nil {
			if errors.Is(err, ErrInvalid) {
				errs.add(fmt.Errorf("%s: %w", who, err))
				continue
			}
			return err
		}
	}
	return errs.err()
}

// referrers lists the entities ("group web", "check cpu") that refer to
// target. Only kinds that can refer to target's kind are loaded.
func referrers(ctx context.Context, q querier, target ref) ([]string, error) {
	var out []string
	can := func(k kind) bool {
		switch k {
		case kindGroup:
			return target.kind == kindHost || target.kind == kindGroup
		case kindCheck:
			return target.kind == kindHost || target.kind == kindGroup || target.kind == kindPlugin || target.kind == kindSchedule
		case kindService:
			return target.kind == kindHost || target.kind == kindCheck || target.kind == kindPlugin || target.kind == kindService ||
				target.kind == kindTrendRule
		case kindAlertRule:
			return scopeKinds[target.kind] || target.kind == kindAlertModule
		case kindSilence:
			return scopeKinds[target.kind]
		}
		return false
	}
	for _, kl := range []struct {
		k    kind
		load func() error
	}{
		{kindGroup, func() error { return referrersOf(ctx, q, kindGroup, loadGroups, target, &out) }},
		{kindCheck, func() error { return referrersOf(ctx, q, kindCheck, loadChecks, target, &out) }},
		{kindService, func() error { return referrersOf(ctx, q, kindService, loadServices, target, &out) }},
		{kindAlertRule, func() error { return referrersOf(ctx, q, kindAlertRule, loadAlertRules, target, &out) }},
		{kindSilence, func() error { return referrersOf(ctx, q, kindSilence, loadSilences, target, &out) }},
	} {
		if can(kl.k) {
			if err := kl.load(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// referrersOf appends to out the entities of kind k that refer to target.
func referrersOf[E any, P interface {
	*E
	refs() []ref
	key() *string
}](ctx context.Context, q querier, k kind, load func(context.Context, querier, string) ([]E, error), target ref, out *[]string) error {
	es, err := load(ctx, q, "")
	if err != nil {
		return err
	}
	for i := range es {
		e := P(&es[i])
		if slices.Contains(e.refs(), target) {
			*out = append(*out, string(k)+" "+*e.key())
		}
	}
	return nil
}

// resolver turns names into ids inside one transaction, caching what it has
// looked up. Apply preloads whole kinds; single writes look up on demand.
type resolver struct {
	q querier
	// checker is the store's CodeChecker (nil for none), for checks that
	// need the transaction's view of the store (a check's parameters
	// against its plugin's manifest).
	checker CodeChecker
	ids     map[kind]map[string]int64
	all     map[kind]bool
}

func newResolver(q querier) *resolver {
	return &resolver{q: q, ids: map[kind]map[string]int64{}, all: map[kind]bool{}}
}

// lookup returns the id of an entity and whether it exists.
func (r *resolver) lookup(ctx context.Context, k kind, name string) (int64, bool, error) {
	if id, ok := r.ids[k][name]; ok {
		return id, true, nil
	}
	if r.all[k] {
		return 0, false, nil
	}
	var id int64
	err := r.q.QueryRowContext(ctx, `SELECT id FROM `+tableOf[k]+` WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up %s %q: %w", k, name, err)
	}
	r.set(k, name, id)
	return id, true, nil
}

// id returns the id of a referenced entity; an unknown name is ErrInvalid.
func (r *resolver) id(ctx context.Context, k kind, name string) (int64, error) {
	id, ok, err := r.lookup(ctx, k, name)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, invalidf("unknown %s %q", k, name)
	}
	return id, nil
}

func (r *resolver) set(k kind, name string, id int64) {
	if r.ids[k] == nil {
		r.ids[k] = map[string]int64{}
	}
	r.ids[k][name] = id
}

// preload reads every id of the given kinds.
func (r *resolver) preload(ctx context.Context, kinds ...kind) error {
	for _, k := range kinds {
		rows, err := r.q.QueryContext(ctx, `SELECT id, name FROM `+tableOf[k])
		if err != nil {
			return fmt.Errorf("load %s ids: %w", k, err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return fmt.Errorf("load %s ids: %w", k, err)
			}
			r.set(k, name, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load %s ids: %w", k, err)
		}
		r.all[k] = true
	}
	return nil
}

// ids resolves a list of names of one kind.
func (r *resolver) idList(ctx context.Context, k kind, names []string) ([]int64, error) {
	out := make([]int64, len(names))
	for i, n := range names {
		id, err := r.id(ctx, k, n)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// replaceMembers replaces the rows of a membership table that belong to
// owner: DELETE then INSERT.
func replaceMembers(ctx context.Context, tx *sql.Tx, table, ownerCol, memberCol string, owner int64, members []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+ownerCol+` = ?`, owner); err != nil {
		return fmt.Errorf("clear %s: %w", table, err)
	}
	if len(members) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (`+ownerCol+`, `+memberCol+`) VALUES (?, ?)`)
	if err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	defer stmt.Close()
	for _, m := range members {
		if _, err := stmt.ExecContext(ctx, owner, m); err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
	}
	return nil
}

// queryRows runs a query and calls scan for each row.
func queryRows(ctx context.Context, q querier, scan func(rows *sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// whereName returns the SQL condition and arguments selecting one entity by
// name (col is the qualified name column), or everything when name is "".
func whereName(col, name string) (string, []any) {
	if name == "" {
		return "", nil
	}
	return " WHERE " + col + " = ?", []any{name}
}

// memberNames loads a membership table as owner name -> member names; the
// query selects (owner name, member name).
func memberNames(ctx context.Context, q querier, query string, args []any) (map[string][]string, error) {
	out := map[string][]string{}
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var owner, member string
		if err := rows.Scan(&owner, &member); err != nil {
			return err
		}
		out[owner] = append(out[owner], member)
		return nil
	}, query, args...)
	return out, err
}
