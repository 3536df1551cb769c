package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prophasis/prophasis/store"
)

// AlertmanagerConfig configures Prometheus Alertmanager as a module: alerts
// are POSTed to /api/v2/alerts of every URL (an HA cluster wants them all),
// and Alertmanager routes, groups and inhibits them.
type AlertmanagerConfig struct {
	// URLs are the Alertmanagers' base addresses, e.g.
	// "http://127.0.0.1:9093"; a path prefix (behind a proxy) is kept.
	URLs []string `json:"urls" yaml:"urls"`
	// Username and Password, when set, are sent as basic auth.
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	Password Secret `json:"password,omitempty" yaml:"password,omitempty"`
	// BearerToken, when set, is sent as "Authorization: Bearer ...".
	BearerToken Secret `json:"bearer_token,omitempty" yaml:"bearer_token,omitempty"`
	// Hold is how long Alertmanager keeps a firing alert it hears no more
	// of (its endsAt); 0 means 24 h. Prophasis notifies again only on a
	// rule's repeat, so a repeat shorter than Hold keeps the alert up;
	// the recovery notification ends it at once.
	Hold store.Duration `json:"hold,omitempty" yaml:"hold,omitempty"`
	// Timeout bounds one request; 0 means 10 s, at most 2 m.
	Timeout store.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Limits of the Alertmanager module.
const (
	defaultHold = 24 * time.Hour
	minHold     = time.Minute
	maxHold     = 30 * 24 * time.Hour
	maxAMURLs   = 16
	// endSkew is how far before the notification's time an ended alert's
	// endsAt is put (see alerts).
	endSkew = time.Minute
)

// Validate checks the settings.
func (c AlertmanagerConfig) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("urls: at least one Alertmanager URL is required")
	}
	if len(c.URLs) > maxAMURLs {
		return fmt.Errorf("urls: %d URLs; the limit is %d", len(c.URLs), maxAMURLs)
	}
	for i, u := range c.URLs {
		if _, err := checkHTTPURL(fmt.Sprintf("urls[%d]", i), u); err != nil {
			return err
		}
	}
	if err := checkSecret("password", c.Password); err != nil {
		return err
	}
	if err := checkSecret("bearer_token", c.BearerToken); err != nil {
		return err
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("password needs a username")
	}
	if c.BearerToken != "" && c.Username != "" {
		return errors.New("set either username and password or bearer_token, not both")
	}
	if !validHeaderValue(c.Username) || strings.Contains(c.Username, ":") || !validHeaderValue(string(c.BearerToken)) {
		return errors.New("username (no ':') and bearer_token must be text without control characters")
	}
	if c.Hold != 0 && (c.Hold.Std() < minHold || c.Hold.Std() > maxHold) {
		return fmt.Errorf("hold %s must be 0s (the default, %s) or between %s and %s", c.Hold, store.Duration(defaultHold), store.Duration(minHold), store.Duration(maxHold))
	}
	_, err := timeoutOr("timeout", c.Timeout, defaultHTTPTimeout, maxHTTPTimeout)
	return err
}

// Alertmanager is the Alertmanager notifier.
type Alertmanager struct {
	endpoints []amEndpoint
	header    http.Header
	hold      time.Duration
	client    *http.Client
}

type amEndpoint struct {
	url, target string
}

// NewAlertmanager validates c and returns its notifier.
func NewAlertmanager(c AlertmanagerConfig) (*Alertmanager, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	timeout, _ := timeoutOr("timeout", c.Timeout, defaultHTTPTimeout, maxHTTPTimeout)
	am := &Alertmanager{header: http.Header{}, hold: defaultHold, client: newHTTPClient(timeout)}
	if c.Hold != 0 {
		am.hold = c.Hold.Std()
	}
	for i, u := range c.URLs {
		p, _ := checkHTTPURL(fmt.Sprintf("urls[%d]", i), u)
		p = p.JoinPath("api", "v2", "alerts")
		am.endpoints = append(am.endpoints, amEndpoint{url: p.String(), target: redactURL(p)})
	}
	switch {
	case c.BearerToken != "":
		am.header.Set("Authorization", "Bearer "+string(c.BearerToken))
	case c.Username != "":
		am.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.Username+":"+string(c.Password))))
	}
	return am, nil
}

// amAlert is one alert of Alertmanager's API v2 (postableAlert).
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// alerts maps a to Alertmanager alerts. The severity label is the state,
// so a change of state is a different alert to Alertmanager: a firing
// alert whose state worsened from another alerting state (major →
// critical) also ends the alert of the old severity, and a resolved one
// ends the alert of the state it left.
func (am *Alertmanager) alerts(a Alert) []amAlert {
	annotations := map[string]string{
		"summary":      a.Title(),
		"description":  a.Reason,
		"prophasis_id": a.ID,
	}
	if a.Ack != nil {
		annotations["acknowledged_by"] = a.Ack.By
		annotations["acknowledgement"] = a.Ack.Comment
	}
	mk := func(severity string, ends time.Time) amAlert {
		// Alertmanager refuses an alert that ends before it starts.
		return amAlert{
			Labels: amLabels(a, severity), Annotations: annotations,
			StartsAt: minTime(a.Since, ends).UTC(), EndsAt: ends.UTC(), GeneratorURL: a.URL,
		}
	}
	// An end Alertmanager's clock still sees in the future does not end
	// a firing alert (it keeps the later endsAt, Hold ahead): ending
	// endSkew early makes recovery robust to clocks a little apart.
	ended := a.Time.Add(-endSkew)
	if a.Status == StatusResolved {
		return []amAlert{mk(a.From, ended)}
	}
	out := []amAlert{mk(a.State, a.Time.Add(am.hold))}
	if a.From != "" && a.From != "ok" && a.From != a.State {
		out = append(out, mk(a.From, ended))
	}
	return out
}

// amLabels are an alert's labels: the subject's labels, then (winning over
// them) alertname, severity and the subject's names.
func amLabels(a Alert, severity string) map[string]string {
	l := map[string]string{}
	for k, v := range a.Subject.Labels {
		l[labelName(k)] = v
	}
	l["alertname"] = a.Rule
	l["severity"] = severity
	l["kind"] = a.Subject.Kind
	for k, v := range map[string]string{
		"host": a.Subject.Host, "plugin": a.Subject.Plugin, "check": a.Subject.Check,
		"service": a.Subject.Service, "trend_rule": a.Subject.Rule,
	} {
		if v != "" {
			l[k] = v
		} else {
			delete(l, k)
		}
	}
	if a.Test {
		l["test"] = "true"
	}
	return l
}

// labelName turns a name into a valid Prometheus label name (Alertmanager
// 0.25 checks the classic rule): other characters become '_'.
func labelName(k string) string {
	b := []byte(k)
	for i, c := range b {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// Payload implements Payloader: the alerts as POSTed.
func (am *Alertmanager) Payload(a Alert) ([]byte, error) { return json.Marshal(am.alerts(a)) }

// Notify implements Notifier: it posts to every URL and succeeds when one
// of them took the alerts (Alertmanager's cluster shares them); it retries
// when none did and one failure was worth retrying.
func (am *Alertmanager) Notify(ctx context.Context, a Alert) (bool, error) {
	body, err := json.Marshal(am.alerts(a))
	if err != nil {
		return false, fmt.Errorf("alertmanager: encode alerts: %w", err)
	}
	var errs []error
	retry, sent := false, false
	for _, e := range am.endpoints {
		r, err := postJSON(ctx, am.client, e.url, am.header, body, e.target)
		if err == nil {
			sent = true
			continue
		}
		retry = retry || r
		errs = append(errs, err)
	}
	if sent {
		return false, nil
	}
	return retry, fmt.Errorf("alertmanager: %w", errors.Join(errs...))
}
