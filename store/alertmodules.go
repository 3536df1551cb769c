package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// AlertModule is one configured notifier: an SMTP server and its recipients,
// a webhook, a Slack-compatible channel, a command, an Alertmanager. Alert
// rules name modules in their Modules list. Config is the kind's settings as
// a JSON object; package rules/notify defines and validates each kind's
// fields (see docs/alerting.md).
//
// Config holds secrets (SecretKeys). The store keeps them; anything that
// shows a module to a person or another program (the API, logs) must show
// Redacted() instead. String and LogValue redact on their own.
type AlertModule struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Kind is one of AlertModuleKinds.
	Kind string `json:"kind" yaml:"kind"`
	// Config is the kind's settings, a JSON object; absent is {}.
	Config json.RawMessage `json:"config" yaml:"-"`
}

// AlertModuleKinds are the kinds of alert module.
var AlertModuleKinds = []string{"email", "webhook", "slack", "command", "alertmanager"}

// SecretKeys are, per kind, the keys of Config that hold secrets: a string,
// or an object of strings (a webhook's headers carry tokens, so each header
// value counts as secret). The Slack URL is the channel's credential.
var SecretKeys = map[string][]string{
	"email":        {"password"},
	"webhook":      {"secret", "headers"},
	"slack":        {"url"},
	"command":      {},
	"alertmanager": {"password", "bearer_token"},
}

// SecretPlaceholder stands for a secret in what the store shows
// (Redacted). An update that sends it for a secret keeps the stored value,
// so a client can read a module, change its description and write it back
// without knowing the password.
const SecretPlaceholder = "<secret>"

// MaxAlertModuleConfigBytes bounds an alert module's Config.
const MaxAlertModuleConfigBytes = 64 << 10

// AlertModuleStore keeps alert modules.
type AlertModuleStore interface {
	// AlertModules returns every alert module, sorted by name, secrets
	// included: callers that show them must use Redacted.
	AlertModules(ctx context.Context) ([]AlertModule, error)
	// AlertModule returns one alert module (secrets included), or an
	// error wrapping ErrNotFound.
	AlertModule(ctx context.Context, name string) (AlertModule, error)
	// CreateAlertModule adds an alert module. Its Config goes through the
	// store's ModuleChecker when it has one.
	CreateAlertModule(ctx context.Context, m AlertModule) (AlertModule, error)
	// UpdateAlertModule replaces the module called name (m.Name "" keeps
	// it). A secret sent as SecretPlaceholder keeps the stored value when
	// the kind is unchanged. A module that alert rules use cannot be
	// renamed (ErrConflict).
	UpdateAlertModule(ctx context.Context, name string, m AlertModule) (AlertModule, error)
	// DeleteAlertModule deletes an alert module no alert rule names
	// (otherwise ErrConflict).
	DeleteAlertModule(ctx context.Context, name string) error
}

// ModuleChecker validates an alert module's Config for its kind. The store
// cannot do it itself (the modules live in package rules/notify, which
// imports the store), so the server hands one in with WithModuleChecker. It
// must be safe for concurrent use, must not call the store, and must not
// put secrets in its errors.
type ModuleChecker interface {
	// CheckAlertModule returns why m's Config is unusable, or nil.
	CheckAlertModule(m AlertModule) error
}

// WithModuleChecker makes the store refuse alert modules that c rejects:
// the create or update fails with an error wrapping ErrInvalid (and c's
// error) and writes nothing. Without it, the store checks only that Config
// is a JSON object of bounded size.
func WithModuleChecker(c ModuleChecker) Option {
	return func(o *options) { o.modules = c }
}

// Redacted returns a copy of m whose secrets (SecretKeys of its kind) read
// SecretPlaceholder; empty secrets stay empty, so a reader can tell "set"
// from "unset". A Config that does not parse is replaced by {}.
func (m AlertModule) Redacted() AlertModule {
	obj, err := configObject(m.Config)
	if err != nil {
		m.Config = json.RawMessage(`{}`)
		return m
	}
	hidden := json.RawMessage(`"` + SecretPlaceholder + `"`)
	for _, k := range SecretKeys[m.Kind] {
		v, ok := obj[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			if s != "" {
				obj[k] = hidden
			}
			continue
		}
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil {
			for ik := range inner {
				inner[ik] = hidden
			}
			obj[k] = marshalRaw(inner)
			continue
		}
		obj[k] = hidden // a secret of the wrong type: hide it all the same
	}
	m.Config = marshalRaw(obj)
	return m
}

// marshalRaw encodes an object of raw values without escaping '<' and '>',
// so SecretPlaceholder reads as itself.
func marshalRaw(obj map[string]json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return json.RawMessage(`{}`) // raw values that came out of a parse always encode
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// isPlaceholder reports whether a raw value is the string SecretPlaceholder.
func isPlaceholder(v json.RawMessage) bool {
	var s string
	return json.Unmarshal(v, &s) == nil && s == SecretPlaceholder
}

// holdsPlaceholder reports whether a secret's value (a string or an object
// of strings) is or contains SecretPlaceholder.
func holdsPlaceholder(v json.RawMessage) bool {
	if isPlaceholder(v) {
		return true
	}
	var inner map[string]json.RawMessage
	if json.Unmarshal(v, &inner) != nil {
		return false
	}
	for _, iv := range inner {
		if isPlaceholder(iv) {
			return true
		}
	}
	return false
}

// String names the module without its settings.
func (m AlertModule) String() string {
	return fmt.Sprintf("alert module %q (%s)", m.Name, m.Kind)
}

// GoString shows the module redacted (%#v would print Config's bytes).
func (m AlertModule) GoString() string {
	r := m.Redacted()
	return fmt.Sprintf("store.AlertModule{Name: %q, Kind: %q, Config: %s}", r.Name, r.Kind, r.Config)
}

// LogValue logs the module redacted.
func (m AlertModule) LogValue() slog.Value {
	r := m.Redacted()
	return slog.GroupValue(slog.String("name", r.Name), slog.String("kind", r.Kind), slog.String("config", string(r.Config)))
}

// configObject parses a Config; absent is the empty object.
func configObject(c json.RawMessage) (map[string]json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(c)) == 0 {
		return obj, nil
	}
	if err := json.Unmarshal(c, &obj); err != nil {
		return nil, err
	}
	if obj == nil { // "null"
		obj = map[string]json.RawMessage{}
	}
	return obj, nil
}

// mergeSecrets returns next's Config with every SecretPlaceholder among its
// secrets replaced by prev's value of the same key (or header). Both must be
// of the same kind.
func mergeSecrets(prev, next AlertModule) (json.RawMessage, error) {
	po, err := configObject(prev.Config)
	if err != nil {
		return nil, err
	}
	no, err := configObject(next.Config)
	if err != nil {
		return next.Config, nil // validate reports it
	}
	changed := false
	for _, k := range SecretKeys[next.Kind] {
		v, ok := no[k]
		if !ok {
			continue
		}
		if isPlaceholder(v) {
			if old, ok := po[k]; ok {
				no[k], changed = old, true
			}
			continue
		}
		var inner, oldInner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) != nil || json.Unmarshal(po[k], &oldInner) != nil {
			continue
		}
		for ik, iv := range inner {
			if isPlaceholder(iv) {
				if old, ok := oldInner[ik]; ok {
					inner[ik], changed = old, true
				}
			}
		}
		no[k] = marshalRaw(inner)
	}
	if !changed {
		return next.Config, nil
	}
	return marshalRaw(no), nil
}

func (m *AlertModule) key() *string { return &m.Name }
func (m *AlertModule) refs() []ref  { return nil }

// normalize compacts Config so equal settings compare equal byte for byte.
func (m *AlertModule) normalize() {
	if len(bytes.TrimSpace(m.Config)) == 0 {
		m.Config = json.RawMessage(`{}`)
		return
	}
	var b bytes.Buffer
	if json.Compact(&b, m.Config) == nil {
		m.Config = b.Bytes()
	}
}

func (m *AlertModule) validate() error {
	if err := validName("alert module", m.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("alert module %q", m.Name)
	if err := validText(what, "description", m.Description, maxDescription); err != nil {
		return err
	}
	if !slices.Contains(AlertModuleKinds, m.Kind) {
		return invalidf("%s: kind %q must be one of %s", what, m.Kind, strings.Join(AlertModuleKinds, ", "))
	}
	if len(m.Config) > MaxAlertModuleConfigBytes {
		return invalidf("%s: config is %d bytes; the limit is %d", what, len(m.Config), MaxAlertModuleConfigBytes)
	}
	obj, err := configObject(m.Config)
	if err != nil {
		// The parser's message quotes no input, only offsets and types.
		return invalidf("%s: config must be a JSON object: %v", what, err)
	}
	for _, k := range SecretKeys[m.Kind] {
		if holdsPlaceholder(obj[k]) {
			return invalidf("%s: config.%s: %q stands for a stored secret and there is none to keep; send the secret itself", what, k, SecretPlaceholder)
		}
	}
	return nil
}

func diffAlertModule(a, b *AlertModule) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	f.str("kind", a.Kind, b.Kind)
	// Config holds secrets: say that it changed, never how.
	if !bytes.Equal(a.Config, b.Config) {
		f = append(f, "config changed")
	}
	return f
}

var alertModuleOps = ops[AlertModule]{
	kind:   kindAlertModule,
	load:   loadAlertModules,
	insert: insertAlertModule,
	update: updateAlertModule,
	diff:   diffAlertModule,
	check:  checkAlertModuleRename,
}

func loadAlertModules(ctx context.Context, q querier, name string) ([]AlertModule, error) {
	where, args := whereName("name", name)
	var out []AlertModule
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var m AlertModule
		var id, created, updated int64
		var config string
		if err := rows.Scan(&id, &m.Name, &m.Description, &m.Kind, &config, &created, &updated); err != nil {
			return err
		}
		m.Config = json.RawMessage(config)
		m.set(id, created, updated)
		out = append(out, m)
		return nil
	}, `SELECT id, name, description, kind, config, created_at, updated_at FROM alert_modules`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load alert modules: %w", err)
	}
	return out, nil
}

func insertAlertModule(ctx context.Context, tx *sql.Tx, _ *resolver, m *AlertModule, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO alert_modules (name, description, kind, config, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, m.Name, m.Description, m.Kind, string(m.Config), now, now).Scan(&id)
	return id, err
}

func updateAlertModule(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, m *AlertModule, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE alert_modules SET name = ?, description = ?, kind = ?, config = ?, updated_at = ? WHERE id = ?`,
		m.Name, m.Description, m.Kind, string(m.Config), now, id)
	return err
}

// alertRulesUsing lists the alert rules that name module, in their
// modules or an escalation step's.
func alertRulesUsing(ctx context.Context, q querier, module string) ([]string, error) {
	rules, err := loadAlertRules(ctx, q, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range rules {
		if slices.Contains(rules[i].refs(), ref{kindAlertModule, module}) {
			out = append(out, "alert rule "+rules[i].Name)
		}
	}
	return out, nil
}

// checkAlertModuleRename refuses to rename a module alert rules use: they
// name it inside their JSON spec, so a rename would silently detach them.
func checkAlertModuleRename(ctx context.Context, tx *sql.Tx, m *AlertModule, oldName string) error {
	if oldName == "" || oldName == m.Name {
		return nil
	}
	users, err := alertRulesUsing(ctx, tx, oldName)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return conflictf("cannot rename alert module %q: %s use it; change them first", oldName, strings.Join(users, ", "))
	}
	return nil
}

// checkModule runs the store's ModuleChecker, if any, over m.
func (s *sqlStore) checkModule(m AlertModule) error {
	if s.modules == nil {
		return nil
	}
	if err := s.modules.CheckAlertModule(m); err != nil {
		return &codeError{what: fmt.Sprintf("alert module %q: config", m.Name), err: err}
	}
	return nil
}

// AlertModules implements AlertModuleStore.
func (s *sqlStore) AlertModules(ctx context.Context) ([]AlertModule, error) {
	return listAll(ctx, s, alertModuleOps)
}

// AlertModule implements AlertModuleStore.
func (s *sqlStore) AlertModule(ctx context.Context, name string) (AlertModule, error) {
	return getOne(ctx, s, alertModuleOps, name)
}

// CreateAlertModule implements AlertModuleStore.
func (s *sqlStore) CreateAlertModule(ctx context.Context, m AlertModule) (AlertModule, error) {
	m.normalize()
	if err := m.validate(); err != nil {
		return AlertModule{}, err
	}
	if err := s.checkModule(m); err != nil {
		return AlertModule{}, err
	}
	return createOne(ctx, s, alertModuleOps, m)
}

// UpdateAlertModule implements AlertModuleStore.
//
// The stored module is read before the write transaction to fill in kept
// secrets; a concurrent update of the same module's secret in between is
// lost, which for an admin-only, rarely changed setting is acceptable.
func (s *sqlStore) UpdateAlertModule(ctx context.Context, name string, m AlertModule) (AlertModule, error) {
	prev, err := getOne(ctx, s, alertModuleOps, name)
	if err != nil {
		return AlertModule{}, err
	}
	if m.Name == "" {
		m.Name = name
	}
	if m.Kind == prev.Kind {
		if m.Config, err = mergeSecrets(prev, m); err != nil {
			return AlertModule{}, fmt.Errorf("update alert module %q: stored config: %w", name, err)
		}
	}
	m.normalize()
	if err := m.validate(); err != nil {
		return AlertModule{}, err
	}
	if err := s.checkModule(m); err != nil {
		return AlertModule{}, err
	}
	return updateOne(ctx, s, alertModuleOps, name, m)
}

// DeleteAlertModule implements AlertModuleStore.
func (s *sqlStore) DeleteAlertModule(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		r := newResolver(tx)
		id, ok, err := r.lookup(ctx, kindAlertModule, name)
		if err != nil {
			return err
		}
		if !ok {
			return notFoundf("alert module %q not found", name)
		}
		users, err := alertRulesUsing(ctx, tx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return conflictf("alert module %q is still used by %s; remove it there first", name, strings.Join(users, ", "))
		}
		return deleteRow(ctx, tx, kindAlertModule, id)
	})
}
