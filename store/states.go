package store

import (
	"context"
	"database/sql"
	"fmt"
)

// CurrentState is the last known state of one subject, as the rules engine
// keeps it so a restart resumes where it stopped (states, since when, and
// flapping) instead of starting every subject from unknown. It is not
// configuration and wakes no ConfigChanged watcher.
type CurrentState struct {
	// Key is the engine's name for the subject, unique among states.
	Key     string  `json:"key"`
	Subject Subject `json:"subject"`
	// State is a state number (see Event.From).
	State int `json:"state"`
	// Since is when State began, in milliseconds since the Unix epoch.
	Since    int64  `json:"since"`
	Flapping bool   `json:"flapping"`
	Reason   string `json:"reason,omitempty"`
	// UpdatedAt is when the engine last saved the state, in milliseconds.
	UpdatedAt int64 `json:"updated_at"`
}

// maxStateKey bounds CurrentState.Key.
const maxStateKey = 1024

// StateStore keeps the rules engine's current states. Its writes do not
// wake ConfigChanged's watchers.
type StateStore interface {
	// SaveStates inserts or replaces states by Key, in one transaction.
	// One invalid state refuses the batch with an error wrapping
	// ErrInvalid that names it (states[2]: ...).
	SaveStates(ctx context.Context, states []CurrentState) error
	// DeleteStates deletes the states with the given keys; unknown keys
	// are ignored.
	DeleteStates(ctx context.Context, keys []string) error
	// CurrentStates returns every state, sorted by key.
	CurrentStates(ctx context.Context) ([]CurrentState, error)
}

func (c *CurrentState) validate(what string) error {
	if c.Key == "" {
		return invalidf("%s: key is required", what)
	}
	if err := validText(what, "key", c.Key, maxStateKey); err != nil {
		return err
	}
	if err := c.Subject.validate(what); err != nil {
		return err
	}
	if err := validState(what, "state", c.State); err != nil {
		return err
	}
	if c.Since < 0 || c.UpdatedAt < 0 {
		return invalidf("%s: since %d and updated_at %d must not be before 1970", what, c.Since, c.UpdatedAt)
	}
	return validText(what, "reason", c.Reason, MaxReasonBytes)
}

// SaveStates implements StateStore.
func (s *sqlStore) SaveStates(ctx context.Context, states []CurrentState) error {
	if err := validBatch("save states", len(states)); err != nil {
		return err
	}
	for i := range states {
		if err := states[i].validate(fmt.Sprintf("states[%d]", i)); err != nil {
			return err
		}
	}
	if len(states) == 0 {
		return nil
	}
	// One INSERT may not name a key twice in its upsert: the last entry
	// of a key wins, as it would row by row.
	last := make(map[string]int, len(states))
	for i := range states {
		last[states[i].Key] = i
	}
	rows := make([]*CurrentState, 0, len(last))
	for i := range states {
		if last[states[i].Key] == i {
			rows = append(rows, &states[i])
		}
	}
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		return s.insertRows(ctx, tx, `INSERT INTO current_states (key, subject_kind, host, plugin, check_name, rule, service,
			labels, state, since, flapping, reason, updated_at)`, `ON CONFLICT (key) DO UPDATE SET subject_kind = excluded.subject_kind,
			host = excluded.host, plugin = excluded.plugin, check_name = excluded.check_name, rule = excluded.rule,
			service = excluded.service, labels = excluded.labels, state = excluded.state, since = excluded.since,
			flapping = excluded.flapping, reason = excluded.reason, updated_at = excluded.updated_at`, 13, len(rows),
			func(i int, dst []any) ([]any, error) {
				c := rows[i]
				labels, err := c.Subject.labelsJSON()
				if err != nil {
					return nil, err
				}
				return append(dst, s.keyArg(c.Key), c.Subject.Kind, c.Subject.Host, c.Subject.Plugin, c.Subject.Check,
					c.Subject.Rule, c.Subject.Service, labels, c.State, c.Since, c.Flapping, c.Reason, c.UpdatedAt), nil
			}, nil)
	})
	if err != nil {
		return fmt.Errorf("save states: %w", err)
	}
	return nil
}

// DeleteStates implements StateStore.
func (s *sqlStore) DeleteStates(ctx context.Context, keys []string) error {
	if err := validBatch("delete states", len(keys)); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM current_states WHERE key = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, k := range keys {
			if _, err := stmt.ExecContext(ctx, s.keyArg(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete states: %w", err)
	}
	return nil
}

// CurrentStates implements StateStore.
func (s *sqlStore) CurrentStates(ctx context.Context) ([]CurrentState, error) {
	out := []CurrentState{}
	err := s.read(ctx, func(q querier) error {
		return queryRows(ctx, q, func(rows *sql.Rows) error {
			var c CurrentState
			var labels string
			if err := rows.Scan(&c.Key, &c.Subject.Kind, &c.Subject.Host, &c.Subject.Plugin, &c.Subject.Check, &c.Subject.Rule,
				&c.Subject.Service, &labels, &c.State, &c.Since, &c.Flapping, &c.Reason, &c.UpdatedAt); err != nil {
				return err
			}
			if err := c.Subject.setLabels(labels); err != nil {
				return fmt.Errorf("state %q: labels: %w", c.Key, err)
			}
			out = append(out, c)
			return nil
		}, `SELECT key, subject_kind, host, plugin, check_name, rule, service, labels, state, since, flapping, reason, updated_at
			FROM current_states ORDER BY key`)
	})
	if err != nil {
		return nil, fmt.Errorf("read current states: %w", err)
	}
	return out, nil
}

// keyArg is a state key as a query argument. The rules engine's keys hold
// NUL bytes, which PostgreSQL's text cannot: there current_states.key is
// BYTEA (compared and sorted byte-wise, as SQLite's TEXT is), and the key goes
// as bytes.
func (s *sqlStore) keyArg(k string) any {
	if s.dialect == dialectPostgres {
		return []byte(k)
	}
	return k
}
