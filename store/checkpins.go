package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// Limits of a check's plugin parameters.
const (
	// MaxParamValueBytes bounds one parameter's value.
	MaxParamValueBytes = 1 << 10
	// MaxParamsPerPlugin bounds the parameters a check sets for one plugin.
	MaxParamsPerPlugin = 64
)

// ParamNameRE is the syntax of a plugin parameter's name (as in a
// manifest): it becomes PROPHASIS_PARAM_<NAME> in the plugin's environment.
var ParamNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// validatePins checks the syntax of a check's Versions and Params; that the
// versions exist and the values fit the plugin's manifest is checked when
// the check is written (checkPins).
func validatePins(what string, c *Check) error {
	for _, p := range sortedKeys(c.Versions) {
		field := "versions[" + strconv.Quote(p) + "]"
		if _, ok := slices.BinarySearch(c.Plugins, p); !ok {
			return invalidf("%s: %s: %q is not one of the check's plugins %s", what, field, p, showList(c.Plugins))
		}
		v := c.Versions[p]
		if v == "" || len(v) > maxVersion || !versionRE.MatchString(v) {
			return invalidf("%s: %s: version %q must match %s (at most %d characters); leave the plugin out to follow its current version",
				what, field, v, versionRE, maxVersion)
		}
	}
	for _, p := range sortedKeys(c.Params) {
		field := "params[" + strconv.Quote(p) + "]"
		if _, ok := slices.BinarySearch(c.Plugins, p); !ok {
			return invalidf("%s: %s: %q is not one of the check's plugins %s", what, field, p, showList(c.Plugins))
		}
		if len(c.Params[p]) > MaxParamsPerPlugin {
			return invalidf("%s: %s: %d parameters, more than %d", what, field, len(c.Params[p]), MaxParamsPerPlugin)
		}
		for _, k := range sortedKeys(c.Params[p]) {
			if !ParamNameRE.MatchString(k) {
				return invalidf("%s: %s: parameter name %q must match %s", what, field, k, ParamNameRE)
			}
			if err := validText(what, field+"["+strconv.Quote(k)+"]", c.Params[p][k], MaxParamValueBytes); err != nil {
				return err
			}
		}
	}
	return nil
}

// pinsJSON encodes Versions and Params for their columns.
func pinsJSON(c *Check) (versions, params string, err error) {
	v, err := json.Marshal(c.Versions)
	if err != nil {
		return "", "", err
	}
	p, err := json.Marshal(c.Params)
	if err != nil {
		return "", "", err
	}
	if c.Versions == nil {
		v = []byte("{}")
	}
	if c.Params == nil {
		p = []byte("{}")
	}
	return string(v), string(p), nil
}

// checkPins checks, inside the write, that every pinned version exists and
// (with a CodeChecker) that the parameters fit the manifest of the version
// each plugin resolves to: the pinned one or the current one. Plugins
// without a registry version (created by hand) have no manifest, so their
// parameters are passed on unchecked.
func checkPins(ctx context.Context, tx *sql.Tx, r *resolver, c *Check) error {
	what := fmt.Sprintf("check %q", c.Name)
	for _, p := range c.Plugins {
		var manifest string
		var err error
		if v, ok := c.Versions[p]; ok {
			err = tx.QueryRowContext(ctx, `SELECT v.manifest FROM plugin_versions v JOIN plugins p ON p.id = v.plugin_id
				WHERE p.name = ? AND v.version = ?`, p, v).Scan(&manifest)
			if errors.Is(err, sql.ErrNoRows) {
				have, lerr := loadPluginVersions(ctx, tx, `p.name = ?`, p)
				if lerr != nil {
					return lerr
				}
				names := make([]string, len(have))
				for i := range have {
					names[i] = have[i].Version
				}
				return invalidf("%s: versions[%q]: plugin %q has no version %q (it has %s)", what, p, p, v, showList(names))
			}
		} else {
			err = tx.QueryRowContext(ctx, `SELECT v.manifest FROM plugin_versions v JOIN plugins p ON p.id = v.plugin_id
				WHERE p.name = ? AND v.version = p.version AND v.sha256 = p.package_sha256`, p).Scan(&manifest)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("%s: plugin %q: %w", what, p, err)
		}
		if r.checker == nil {
			continue
		}
		if err := r.checker.CheckPluginParams(json.RawMessage(manifest), c.Params[p]); err != nil {
			return &codeError{what: fmt.Sprintf("%s: params[%q]", what, p), err: err}
		}
	}
	return nil
}

// diffParams describes how two checks' Params differ, parameter by
// parameter.
func diffParams(f *fieldDiffs, a, b map[string]map[string]string) {
	plugins := sortedKeys(a)
	for p := range b {
		if _, ok := a[p]; !ok {
			plugins = append(plugins, p)
		}
	}
	slices.Sort(plugins)
	for _, p := range plugins {
		for _, k := range unionKeys(a[p], b[p]) {
			f.str("params["+strconv.Quote(p)+"]["+strconv.Quote(k)+"]", a[p][k], b[p][k])
		}
	}
}

// renameInCheckPins follows a plugin's rename in the Versions and Params
// of checks, which name plugins by name (check_plugins follows by id).
func renameInCheckPins(ctx context.Context, tx *sql.Tx, old ref, newName string) error {
	if old.kind != kindPlugin {
		return nil
	}
	checks, err := loadChecks(ctx, tx, "")
	if err != nil {
		return err
	}
	for i := range checks {
		c := &checks[i]
		_, pinned := c.Versions[old.name]
		_, set := c.Params[old.name]
		if !pinned && !set {
			continue
		}
		if pinned {
			c.Versions[newName] = c.Versions[old.name]
			delete(c.Versions, old.name)
		}
		if set {
			c.Params[newName] = c.Params[old.name]
			delete(c.Params, old.name)
		}
		versions, params, err := pinsJSON(c)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE checks SET versions = ?, params = ? WHERE id = ?`, versions, params, c.ID); err != nil {
			return fmt.Errorf("rename %s in check %q: %w", old, c.Name, err)
		}
	}
	return nil
}
