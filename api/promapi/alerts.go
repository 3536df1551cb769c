package promapi

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/rules/alert"
	"github.com/prophasis/prophasis/store"
)

// Alerting is what /alerts and /rules read: the alert manager's open alerts
// and the configured alert rules. Prophasis's rules are not PromQL rules;
// they are shown in Prometheus's format so Grafana's alert list panel and
// other Prometheus clients list them.
type Alerting interface {
	Alerts(ctx context.Context) ([]alert.Alert, error)
	AlertRules(ctx context.Context) ([]store.AlertRule, error)
}

// promAlert is an alert as Prometheus's /alerts and /rules show it.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    *time.Time        `json:"activeAt,omitempty"`
	Value       string            `json:"value"`
}

// stateValue is the subject's state as a number, the alert's "value".
func stateValue(a alert.Alert) string {
	for n := -1; n <= 3; n++ {
		if alert.StateName(a.Subject.Kind, n) == a.State {
			return strconv.FormatFloat(float64(n), 'e', -1, 64)
		}
	}
	return "NaN"
}

func toPromAlert(a alert.Alert) promAlert {
	l := map[string]string{"alertname": a.Rule, "severity": a.State, "subject": a.Subject.Kind}
	for k, v := range map[string]string{"host": a.Subject.Host, "plugin": a.Subject.Plugin, "check": a.Subject.Check,
		"service": a.Subject.Service, "rule": a.Subject.Rule} {
		if v != "" {
			l[k] = v
		}
	}
	for k, v := range a.Subject.Labels {
		if _, taken := l[k]; !taken {
			l[k] = v
		}
	}
	ann := map[string]string{"summary": a.Reason, "from": a.From}
	if a.Ack != nil {
		ann["acknowledged_by"] = a.Ack.By
		ann["acknowledgement"] = a.Ack.Comment
	}
	if a.Silenced != "" {
		ann["silenced_by"] = a.Silenced
	}
	at := a.ActiveAt
	return promAlert{Labels: l, Annotations: ann, State: a.Status, ActiveAt: &at, Value: stateValue(a)}
}

// alerts serves /alerts: the open alerts (pending and firing).
func (a *api) alerts(c *gin.Context) {
	out := []promAlert{}
	if a.alerting != nil {
		open, err := a.alerting.Alerts(c.Request.Context())
		if err != nil {
			envelope.FailWith(c, envelope.ErrInternal, err)
			return
		}
		for _, al := range open {
			out = append(out, toPromAlert(al))
		}
	}
	envelope.OK(c, gin.H{"alerts": out})
}

// promRule is an alerting rule as /rules shows it.
type promRule struct {
	State          string            `json:"state"`
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	KeepFiring     float64           `json:"keepFiringFor"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []promAlert       `json:"alerts"`
	Health         string            `json:"health"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	Type           string            `json:"type"`
}

type promGroup struct {
	Name           string     `json:"name"`
	File           string     `json:"file"`
	Rules          []promRule `json:"rules"`
	Interval       float64    `json:"interval"`
	EvaluationTime float64    `json:"evaluationTime"`
	LastEvaluation time.Time  `json:"lastEvaluation"`
}

// rules serves /rules: every alert rule as an alerting rule of one group,
// "prophasis", with its open alerts; its query is the rule's description of
// what it matches (Prophasis's rules match state changes, not PromQL).
// type=record lists nothing (Prophasis has no recording rules).
func (a *api) rules(c *gin.Context) {
	group := promGroup{Name: "prophasis", File: "prophasis", Rules: []promRule{}}
	if a.alerting == nil || c.Query("type") == "record" {
		envelope.OK(c, gin.H{"groups": []promGroup{group}})
		return
	}
	ctx := c.Request.Context()
	defs, err := a.alerting.AlertRules(ctx)
	if err != nil {
		envelope.FailWith(c, envelope.ErrInternal, err)
		return
	}
	open, err := a.alerting.Alerts(ctx)
	if err != nil {
		envelope.FailWith(c, envelope.ErrInternal, err)
		return
	}
	byRule := map[string][]promAlert{}
	state := map[string]string{}
	for _, al := range open {
		byRule[al.Rule] = append(byRule[al.Rule], toPromAlert(al))
		if al.Status == alert.Firing || state[al.Rule] == "" {
			state[al.Rule] = al.Status
		}
	}
	names := c.QueryArray("rule_name[]")
	for _, d := range defs {
		if len(names) > 0 && !contains(names, d.Name) {
			continue
		}
		st := state[d.Name]
		if st == "" {
			st = "inactive"
		}
		alerts := byRule[d.Name]
		if alerts == nil {
			alerts = []promAlert{}
		}
		group.Rules = append(group.Rules, promRule{
			State: st, Name: d.Name, Query: ruleQuery(d), Duration: d.Delay.Std().Seconds(),
			Labels: map[string]string{}, Annotations: map[string]string{"description": d.Description},
			Alerts: alerts, Health: "ok", Type: "alerting",
		})
	}
	envelope.OK(c, gin.H{"groups": []promGroup{group}})
}

// ruleQuery says in words what a rule matches, in /rules's query field.
func ruleQuery(d store.AlertRule) string {
	from, to := "any", "any"
	if len(d.From) > 0 {
		from = joinStates(d.From)
	}
	if len(d.To) > 0 {
		to = joinStates(d.To)
	}
	return from + " -> " + to
}

func joinStates(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "|"
		}
		out += x
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
