package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// ConfigStore is configuration as code: the store as one Document.
type ConfigStore interface {
	// Export returns the configuration as a Document (plugins, users and
	// tokens are not part of it), every list sorted, so exporting an
	// unchanged store twice gives the same document.
	Export(ctx context.Context) (Document, error)
	// Apply makes the store match doc, in one transaction: it creates what
	// is new, updates what changed and deletes hosts, groups, schedules,
	// checks, services, alert rules, trend rules and silences that doc
	// does not list (except the trend rules the plugins' current
	// versions ship, which stay), and dashboards it does not list when it
	// lists dashboards at all (doc.Dashboards not nil). It validates
	// everything first (fields, unknown references, cycles) and on any
	// error changes nothing. With dryRun it computes the diff and rolls
	// back. Classifiers, trend rules and alert conditions it writes go through the store's
	// CodeChecker; the plugins and alert modules doc names must exist.
	// Apply sorts the lists inside doc in place.
	Apply(ctx context.Context, doc Document, dryRun bool) (Diff, error)
}

// Export implements ConfigStore.
func (s *sqlStore) Export(ctx context.Context) (Document, error) {
	var doc Document
	err := s.read(ctx, func(q querier) error {
		var err error
		doc, err = exportFrom(ctx, q)
		return err
	})
	if err != nil {
		return Document{}, fmt.Errorf("export: %w", err)
	}
	clearMeta(doc.Hosts)
	clearMeta(doc.Groups)
	clearMeta(doc.Schedules)
	clearMeta(doc.Checks)
	clearMeta(doc.Services)
	clearMeta(doc.AlertRules)
	clearMeta(doc.TrendRules)
	clearMeta(doc.Silences)
	clearMeta(doc.Dashboards)
	return doc, nil
}

func clearMeta[T any, P record[T]](items []T) {
	for i := range items {
		*P(&items[i]).meta() = Meta{}
	}
}

// exportFrom loads every kind of the document.
func exportFrom(ctx context.Context, q querier) (Document, error) {
	doc := Document{Version: DocumentVersion}
	var err error
	if doc.Hosts, err = loadHosts(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.Groups, err = loadGroups(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.Schedules, err = loadSchedules(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.Checks, err = loadChecks(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.Services, err = loadServices(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.AlertRules, err = loadAlertRules(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.TrendRules, err = loadTrendRules(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.Silences, err = loadSilences(ctx, q, ""); err != nil {
		return doc, err
	}
	if doc.Dashboards, err = loadDashboards(ctx, q, ""); err != nil {
		return doc, err
	}
	m, err := loadMesh(ctx, q)
	if err != nil {
		return doc, err
	}
	doc.Mesh = documentMesh(m)
	return doc, nil
}

// Apply implements ConfigStore.
//
// Inside the transaction it works in dependency order, so every reference
// resolves at the moment it is written: hosts and schedules, then groups
// (members before the groups containing them), checks, trend rules
// (services may have them as members), services (members first again),
// alert rules and silences are created or updated; then what the document
// no longer lists is deleted in the reverse order (silences and alert rules
// first, hosts last; containing
// groups and services before their members).
// Since every kept entity has by then been updated to the document's
// references, nothing deleted is still referred to.
func (s *sqlStore) Apply(ctx context.Context, doc Document, dryRun bool) (Diff, error) {
	if err := doc.validate(); err != nil {
		return Diff{}, err
	}
	diff := Diff{DryRun: dryRun}
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := exportFrom(ctx, tx)
		if err != nil {
			return err
		}
		r := newResolver(tx)
		r.checker = s.checker
		if err := r.preload(ctx, kindHost, kindSchedule, kindPlugin, kindGroup, kindCheck, kindService, kindAlertRule, kindTrendRule,
			kindSilence, kindAlertModule); err != nil {
			return err
		}
		var errs errorList
		reported := map[serverRef]bool{}
		for _, sr := range doc.serverRefs() {
			if _, ok := r.ids[sr.to.kind][sr.to.name]; ok || reported[sr] {
				continue
			}
			reported[sr] = true
			if sr.to.kind == kindPlugin {
				errs.add(invalidf("%s: unknown plugin %q (plugins must exist on the server before anything uses them)", sr.who, sr.to.name))
			} else {
				errs.add(invalidf("%s: unknown alert module %q (alert modules are not part of the document: create them on the server first)", sr.who, sr.to.name))
			}
		}
		if err := errs.err(); err != nil {
			return err
		}

		now := s.nowMillis()
		goneHosts, err := upsertKind(ctx, tx, r, s.checker, hostOps, cur.Hosts, doc.Hosts, now, &diff)
		if err != nil {
			return err
		}
		goneSchedules, err := upsertKind(ctx, tx, r, s.checker, scheduleOps, cur.Schedules, doc.Schedules, now, &diff)
		if err != nil {
			return err
		}
		wantGroups := orderByNames(doc.Groups, groupGraph(doc.Groups).topoOrder())
		goneGroups, err := upsertKind(ctx, tx, r, s.checker, groupOps, cur.Groups, wantGroups, now, &diff)
		if err != nil {
			return err
		}
		goneChecks, err := upsertKind(ctx, tx, r, s.checker, checkOps, cur.Checks, doc.Checks, now, &diff)
		if err != nil {
			return err
		}
		// Trend rules refer to nothing, and services may have them as
		// members: they go first.
		goneTrends, err := upsertKind(ctx, tx, r, s.checker, trendRuleOps, cur.TrendRules, doc.TrendRules, now, &diff)
		if err != nil {
			return err
		}
		// Trend rules a plugin's current version ships stay unless the
		// plugin changes: documents need not repeat them.
		owned, err := pluginTrendRules(ctx, tx)
		if err != nil {
			return err
		}
		goneTrends = slices.DeleteFunc(goneTrends, func(t TrendRule) bool { return owned[t.Name] })
		wantServices := orderByNames(doc.Services, serviceGraph(doc.Services).topoOrder())
		goneServices, err := upsertKind(ctx, tx, r, s.checker, serviceOps, cur.Services, wantServices, now, &diff)
		if err != nil {
			return err
		}
		goneRules, err := upsertKind(ctx, tx, r, s.checker, alertRuleOps, cur.AlertRules, doc.AlertRules, now, &diff)
		if err != nil {
			return err
		}
		goneSilences, err := upsertKind(ctx, tx, r, s.checker, silenceOps, cur.Silences, doc.Silences, now, &diff)
		if err != nil {
			return err
		}
		// Dashboards only when the document lists them (see Document).
		var goneDashboards []Dashboard
		if doc.Dashboards != nil {
			if goneDashboards, err = upsertKind(ctx, tx, r, s.checker, dashboardOps, cur.Dashboards, doc.Dashboards, now, &diff); err != nil {
				return err
			}
		}

		// Deletes: containers before members within a kind.
		goneServices = orderByNames(goneServices, reversed(serviceGraph(cur.Services).topoOrder()))
		goneGroups = orderByNames(goneGroups, reversed(groupGraph(cur.Groups).topoOrder()))
		for _, del := range []func() error{
			func() error { return deleteAll(ctx, tx, kindDashboard, goneDashboards, &diff) },
			func() error { return deleteAll(ctx, tx, kindSilence, goneSilences, &diff) },
			func() error { return deleteAll(ctx, tx, kindAlertRule, goneRules, &diff) },
			func() error { return deleteAll(ctx, tx, kindService, goneServices, &diff) },
			func() error { return deleteAll(ctx, tx, kindTrendRule, goneTrends, &diff) },
			func() error { return deleteAll(ctx, tx, kindCheck, goneChecks, &diff) },
			func() error { return deleteAll(ctx, tx, kindGroup, goneGroups, &diff) },
			func() error { return deleteAll(ctx, tx, kindSchedule, goneSchedules, &diff) },
			func() error { return deleteAll(ctx, tx, kindHost, goneHosts, &diff) },
		} {
			if err := del(); err != nil {
				return err
			}
		}
		if doc.Mesh != nil {
			if err := applyMesh(ctx, tx, *doc.Mesh, s.now(), &diff); err != nil {
				return err
			}
		}
		if dryRun {
			return errRollback
		}
		return nil
	})
	if err != nil {
		return Diff{}, fmt.Errorf("apply: %w", err)
	}
	diff.finish()
	return diff, nil
}

// upsertKind creates the entities of want that cur lacks and updates those
// that differ, in the order of want, recording each in d. What it writes
// goes through cc first, when there is one. It returns the entities of cur
// that want lacks, for deletion once every kind is upserted.
func upsertKind[T any, P record[T]](ctx context.Context, tx *sql.Tx, r *resolver, cc CodeChecker, o ops[T], cur, want []T, now int64, d *Diff) ([]T, error) {
	checkCode := func(v *T) error {
		if cc == nil || o.code == nil {
			return nil
		}
		return o.code(cc, v)
	}
	curBy := make(map[string]int, len(cur))
	for i := range cur {
		curBy[*P(&cur[i]).key()] = i
	}
	for i := range want {
		p := P(&want[i])
		name := *p.key()
		j, ok := curBy[name]
		if !ok {
			if err := checkCode(p); err != nil {
				return nil, err
			}
			id, err := o.insert(ctx, tx, r, p, now)
			if err != nil {
				return nil, fmt.Errorf("create %s %q: %w", o.kind, name, err)
			}
			r.set(o.kind, name, id)
			d.add(OpCreate, o.kind, name, nil)
			continue
		}
		delete(curBy, name)
		c := P(&cur[j])
		if details := o.diff(c, p); len(details) > 0 {
			if err := checkCode(p); err != nil {
				return nil, err
			}
			if err := o.update(ctx, tx, r, c.meta().ID, p, now); err != nil {
				return nil, fmt.Errorf("update %s %q: %w", o.kind, name, err)
			}
			d.add(OpUpdate, o.kind, name, details)
		}
	}
	var gone []T
	for i := range cur {
		if _, ok := curBy[*P(&cur[i]).key()]; ok {
			gone = append(gone, cur[i])
		}
	}
	return gone, nil
}

// deleteAll deletes entities in the given order, recording each in d.
func deleteAll[T any, P record[T]](ctx context.Context, tx *sql.Tx, k kind, items []T, d *Diff) error {
	for i := range items {
		p := P(&items[i])
		if err := deleteRow(ctx, tx, k, p.meta().ID); err != nil {
			return fmt.Errorf("delete %s %q: %w", k, *p.key(), err)
		}
		d.add(OpDelete, k, *p.key(), nil)
	}
	return nil
}

// orderByNames returns items in the order of names; items whose name is not
// listed keep their relative order at the end.
func orderByNames[T any, P record[T]](items []T, names []string) []T {
	pos := make(map[string]int, len(names))
	for i, n := range names {
		pos[n] = i
	}
	out := slices.Clone(items)
	rank := func(v *T) int {
		if i, ok := pos[*P(v).key()]; ok {
			return i
		}
		return len(names)
	}
	slices.SortStableFunc(out, func(a, b T) int { return rank(&a) - rank(&b) })
	return out
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
