// Package notify sends alert notifications through configured alert
// modules: email over SMTP (with a PNG graph of the recent values), a JSON
// webhook signed with HMAC-SHA256, a Slack-compatible incoming webhook
// (Slack, Mattermost, Rocket.Chat), a local command given the alert on
// stdin, and Prometheus Alertmanager's API v2.
//
// Each kind is a Notifier built from a store.AlertModule by New; its
// settings are a Config struct per kind, validated when the module is saved
// (Checker, handed to the store with store.WithModuleChecker). A Dispatcher
// queues notifications per module and retries them with backoff on one
// goroutine per module, so a hanging SMTP server never delays a webhook,
// and reports every attempt for the alert history.
//
// Secrets in settings are of type Secret, which never prints, logs or
// encodes its value; errors never quote one.
//
// It imports only package store from Prophasis; package rules/alert and the
// server use it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prophasis/prophasis/store"
)

// Alert is one notification about one subject's state. Its JSON encoding is
// the webhook body and the command's stdin (docs/alerting.md).
type Alert struct {
	// ID is stable per rule × subject, e.g. "disk-full/check/web1/disk/res".
	ID string `json:"id"`
	// Rule is the alert rule's name.
	Rule string `json:"rule"`
	// Status is StatusFiring or StatusResolved.
	Status string `json:"status"`
	// State is the subject's state now: ok, minor, major, critical,
	// unknown, degraded or failed.
	State string `json:"state"`
	// From is the state before the change.
	From string `json:"from"`
	// Subject is what the alert is about.
	Subject store.Subject `json:"subject"`
	// Since is when the state began.
	Since time.Time `json:"since"`
	// Time is when this notification was made.
	Time time.Time `json:"time"`
	// Reason is the event's reason in words.
	Reason string `json:"reason"`
	// Repeat is 0 for the first notification, n for the n-th repeat.
	Repeat int `json:"repeat"`
	// Escalation is the escalation step, 0 for the first.
	Escalation int `json:"escalation"`
	// Ack is the acknowledgement, if any.
	Ack *Ack `json:"ack,omitempty"`
	// URL links to the subject in the web UI.
	URL string `json:"url,omitempty"`
	// Test marks an alert sent by Test, not by a rule.
	Test bool `json:"test,omitempty"`
	// Graph holds recent values for the email's picture; it is not part
	// of the JSON.
	Graph *Graph `json:"-"`
}

// The values of Alert.Status.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Ack is an acknowledgement of an alert.
type Ack struct {
	By      string     `json:"by"`
	Comment string     `json:"comment"`
	At      time.Time  `json:"at"`
	Expires *time.Time `json:"expires,omitempty"`
}

// Graph is the recent history of the subject's value, drawn in emails.
type Graph struct {
	Title  string       `json:"title"`
	Unit   string       `json:"unit"`
	Points []Point      `json:"points"`
	States []StatePoint `json:"states"`
}

// Point is one value at one time.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// StatePoint is a state that began at T and lasted until the next one.
type StatePoint struct {
	T     time.Time `json:"t"`
	State string    `json:"state"`
}

// Notifier is one configured module. Notify sends one alert and reports
// whether a failure is worth retrying (a 5xx, a timeout, a refused
// connection) or not (a 4xx, a bad address). Notify must honour ctx and
// bound its own time; implementations are safe for concurrent use, and
// their errors never contain secrets.
type Notifier interface {
	Notify(ctx context.Context, a Alert) (retry bool, err error)
}

// Payloader is implemented by notifiers that can show what they send for an
// alert, secrets excluded, for the alert history.
type Payloader interface {
	Payload(a Alert) ([]byte, error)
}

// Title is the one-line summary of an alert, the email subject and the
// chat message's first line: "[CRITICAL] web1 disk/res: ok → critical".
func (a Alert) Title() string {
	var b strings.Builder
	if a.Test {
		b.WriteString("[TEST] ")
	}
	if a.Status == StatusResolved {
		b.WriteString("[RESOLVED] ")
	} else {
		b.WriteString("[" + strings.ToUpper(a.State) + "] ")
	}
	b.WriteString(a.SubjectName())
	fmt.Fprintf(&b, ": %s → %s", a.From, a.State)
	return b.String()
}

// SubjectName names the subject in words: "web1 disk/res", "service
// website", "trend disk-full web1".
func (a Alert) SubjectName() string {
	s := a.Subject
	var parts []string
	switch s.Kind {
	case "service":
		parts = append(parts, "service", s.Service)
	case "trend":
		parts = append(parts, "trend", s.Rule)
		if s.Host != "" {
			parts = append(parts, s.Host)
		}
	default:
		if s.Host != "" {
			parts = append(parts, s.Host)
		}
		if s.Check != "" || s.Plugin != "" {
			parts = append(parts, strings.Trim(s.Check+"/"+s.Plugin, "/"))
		}
	}
	if len(parts) == 0 {
		return a.ID
	}
	return strings.Join(parts, " ")
}

// Secret is a setting that must not be shown: it prints, logs and encodes
// (JSON, YAML) as "<secret>" (empty stays empty). Decoding reads the value.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return store.SecretPlaceholder
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return `notify.Secret("` + s.String() + `")` }

// Format hides the value from every fmt verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// errRedacted is returned by validation when a setting still holds the
// placeholder for a secret instead of the secret.
var errRedacted = errors.New(`holds "` + store.SecretPlaceholder + `", the placeholder for a stored secret, not a secret`)

// checkSecret refuses the placeholder as a secret's value.
func checkSecret(field string, s Secret) error {
	if string(s) == store.SecretPlaceholder {
		return fmt.Errorf("%s %w", field, errRedacted)
	}
	return nil
}
