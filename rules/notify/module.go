package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prophasis/prophasis/store"
)

// New builds the Notifier of a stored module, choosing by its Kind. The
// error (never quoting a secret) says which setting is wrong.
func New(m store.AlertModule) (Notifier, error) {
	switch m.Kind {
	case "email":
		var c EmailConfig
		if err := decodeConfig(m.Config, &c); err != nil {
			return nil, err
		}
		return NewEmail(c)
	case "webhook":
		var c WebhookConfig
		if err := decodeConfig(m.Config, &c); err != nil {
			return nil, err
		}
		return NewWebhook(c)
	case "slack":
		var c SlackConfig
		if err := decodeConfig(m.Config, &c); err != nil {
			return nil, err
		}
		return NewSlack(c)
	case "command":
		var c CommandConfig
		if err := decodeConfig(m.Config, &c); err != nil {
			return nil, err
		}
		return NewCommand(c)
	case "alertmanager":
		var c AlertmanagerConfig
		if err := decodeConfig(m.Config, &c); err != nil {
			return nil, err
		}
		return NewAlertmanager(c)
	}
	return nil, fmt.Errorf("unknown module kind %q", m.Kind)
}

// decodeConfig reads a module's JSON settings strictly: an unknown field
// (a typo) is an error. The decoder's messages name fields and types, never
// values, so they are safe to show.
func decodeConfig(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage(`{}`)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("config: unexpected data after the JSON object")
	}
	return nil
}

// Checker validates alert modules for the store (store.WithModuleChecker)
// by building them with New. It holds nothing and is safe for concurrent use.
type Checker struct{}

// CheckAlertModule implements store.ModuleChecker.
func (Checker) CheckAlertModule(m store.AlertModule) error {
	_, err := New(m)
	return err
}

var _ store.ModuleChecker = Checker{}

// Test sends n a clearly marked test alert (Test true, "[TEST]" in titles,
// rule "prophasis-test"), for the UI's "send a test" button, and returns
// the outcome of that one attempt.
func Test(ctx context.Context, n Notifier) (retry bool, err error) {
	return n.Notify(ctx, TestAlert(time.Now()))
}

// TestAlert is the alert Test sends, made at now.
func TestAlert(now time.Time) Alert {
	now = now.UTC().Truncate(time.Second)
	g := &Graph{Title: "test: a made-up value", Unit: "%"}
	for i := range 60 {
		t := now.Add(time.Duration(i-60) * time.Minute)
		v := 40 + float64(i)
		g.Points = append(g.Points, Point{T: t, V: v})
	}
	g.States = []StatePoint{{T: now.Add(-time.Hour), State: "ok"}, {T: now.Add(-10 * time.Minute), State: "critical"}}
	return Alert{
		ID:      "prophasis-test/check/test-host/test",
		Rule:    "prophasis-test",
		Status:  StatusFiring,
		State:   "critical",
		From:    "ok",
		Subject: store.Subject{Kind: "check", Host: "test-host", Plugin: "test", Check: "test"},
		Since:   now.Add(-10 * time.Minute),
		Time:    now,
		Reason:  "This is a test notification from Prophasis; nothing is wrong.",
		Test:    true,
		Graph:   g,
	}
}

// timeoutOr returns d, or def when d is zero, after checking d is within
// [1ms, max].
func timeoutOr(field string, d store.Duration, def, max time.Duration) (time.Duration, error) {
	if d == 0 {
		return def, nil
	}
	if d < 0 || d.Std() > max {
		return 0, fmt.Errorf("%s %s must be between 0s (the default, %s) and %s", field, d, store.Duration(def), store.Duration(max))
	}
	return d.Std(), nil
}
