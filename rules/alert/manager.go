package alert

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/prophasis/prophasis/store"
)

var (
	alertsFiring  = metrics.NewGauge(`prophasis_alerts_firing`, nil)
	noticesTotal  = metrics.NewCounter(`prophasis_alert_notices_total`)
	silencedTotal = metrics.NewCounter(`prophasis_alert_notices_silenced_total`)
)

// Status of an alert.
const (
	Pending  = "pending"
	Firing   = "firing"
	Resolved = "resolved"
)

// Notice is one notification the manager asks for: Alert's state, to one
// module.
type Notice struct {
	Alert
	// Status is Firing or Resolved.
	Status string
	// Time is when the notice was made.
	Time time.Time
	// Repeat counts the repeats of the firing notification (0 first);
	// Escalation is the escalation step that added the module (0: the
	// rule's own modules).
	Repeat, Escalation int
}

// Sender sends notices. Send must not block: it queues (rules/notify's
// Dispatcher does, per module).
type Sender interface {
	Send(module string, n Notice)
}

// Recorder keeps the alerts' lifecycle (opened, fired, resolved,
// acknowledged) for the alert history; it may be nil.
type Recorder interface {
	AlertChanged(a Alert)
}

// Ack is an acknowledgement of a subject's problem: who, why, when, and
// until when (zero: until the subject recovers).
type Ack struct {
	By      string    `json:"by"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires,omitzero"`
}

// Alert is a rule's alert about one subject, as the API shows it.
type Alert struct {
	// ID is stable for the rule × subject: "rule/subject key".
	ID      string        `json:"id"`
	Rule    string        `json:"rule"`
	Subject store.Subject `json:"subject"`
	Status  string        `json:"status"`
	// State is the subject's state now; From the state it came from.
	State string `json:"state"`
	From  string `json:"from"`
	// Reason is why the state changed, in words.
	Reason string `json:"reason"`
	// ActiveAt is when the state began (the alert opened); FiredAt when it
	// fired (zero while pending); ResolvedAt when it resolved.
	ActiveAt   time.Time `json:"active_at"`
	FiredAt    time.Time `json:"fired_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Notified lists the modules notified of it so far.
	Notified []string `json:"notified"`
	Repeats  int      `json:"repeats"`
	Ack      *Ack     `json:"ack,omitempty"`
	// Silenced names the silence covering it now, if any.
	Silenced string `json:"silenced,omitempty"`
}

// alert is an open alert with its schedule.
type alert struct {
	Alert
	rule       *Rule
	fireAt     time.Time
	nextRepeat time.Time
	nextStep   int            // index of the next escalation step
	modules    map[string]int // module → escalation step that added it
	announced  bool           // a firing notice has gone out
}

// Options tune a Manager.
type Options struct {
	// Queue bounds the operations waiting for the manager (events,
	// changes); Events waits when it is full.
	Queue int
}

// Manager keeps the open alerts and notifies through a Sender.
type Manager struct {
	send   Sender
	rec    Recorder
	logger *slog.Logger
	ops    chan func(now time.Time)

	// Owned by the Run goroutine.
	rules    []*Rule
	labels   map[string]map[string]string // host → labels
	silences []Silence
	acks     map[string]*Ack // subject key → ack
	alerts   map[string]*alert
	// Until the first SetConfig, events wait in early: matching them
	// against no rules would lose them.
	configured bool
	early      []store.Event

	// view is a copy of the acknowledged subjects and the silences, for
	// Flags from other goroutines; replaced whenever they change.
	view atomic.Pointer[flagView]
}

type flagView struct {
	acked    map[string]bool
	silences []Silence
}

// Flags reports whether a silence (maintenance window) covers subj at now,
// and whether subj's problem is acknowledged: the conditions services may
// ignore a member's state for. Safe for concurrent use.
func (m *Manager) Flags(subj store.Subject, now time.Time) (maintenance, acknowledged bool) {
	v := m.view.Load()
	if v == nil {
		return false, false
	}
	for _, s := range v.silences {
		if s.Scope.Covers(subj) && s.Active(now) {
			maintenance = true
			break
		}
	}
	return maintenance, v.acked[SubjectKey(subj)]
}

// publishView refreshes the copy Flags reads.
func (m *Manager) publishView() {
	acked := make(map[string]bool, len(m.acks))
	for k := range m.acks {
		acked[k] = true
	}
	m.view.Store(&flagView{acked: acked, silences: m.silences})
}

// New returns a Manager; Run must run for it to act.
func New(send Sender, rec Recorder, logger *slog.Logger, opts Options) *Manager {
	if opts.Queue <= 0 {
		opts.Queue = 65536
	}
	return &Manager{send: send, rec: rec, logger: logger.With("component", "alert"),
		ops: make(chan func(time.Time), opts.Queue), acks: map[string]*Ack{}, alerts: map[string]*alert{}}
}

// Config is what the manager matches with.
type Config struct {
	Rules []Rule
	// HostLabels are each host's labels, for conditions.
	HostLabels map[string]map[string]string
	Silences   []Silence
}

// SetConfig compiles and installs the rules and silences. Open alerts of
// rules that are gone close without notice; those of rules that remain
// follow the new definition.
func (m *Manager) SetConfig(ctx context.Context, c Config) error {
	rules := make([]*Rule, len(c.Rules))
	for i := range c.Rules {
		r := c.Rules[i]
		if err := r.compile(); err != nil {
			return err
		}
		rules[i] = &r
	}
	for _, s := range c.Silences {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	return m.do(ctx, func(now time.Time) {
		byName := map[string]*Rule{}
		for _, r := range rules {
			byName[r.Name] = r
		}
		for id, a := range m.alerts {
			r, ok := byName[a.Rule]
			if !ok {
				delete(m.alerts, id)
				continue
			}
			a.rule = r
		}
		m.rules, m.labels, m.silences = rules, c.HostLabels, c.Silences
		m.publishView()
		if !m.configured {
			m.configured = true
			for i := range m.early {
				m.event(&m.early[i], now)
			}
			m.early = nil
		}
	})
}

// Events hands state-change events to the manager; it returns at once
// unless the queue is full.
func (m *Manager) Events(evs []store.Event) {
	evs = slices.Clone(evs)
	m.ops <- func(now time.Time) {
		if !m.configured {
			m.early = append(m.early, evs...)
			return
		}
		for i := range evs {
			m.event(&evs[i], now)
		}
	}
}

// Acknowledge acknowledges the problem of the subject with key subject
// (SubjectKey): repeats and escalations of its alerts stop until it
// recovers or ack.Expires passes.
func (m *Manager) Acknowledge(ctx context.Context, subject string, ack Ack) error {
	return m.do(ctx, func(now time.Time) {
		if ack.At.IsZero() {
			ack.At = now
		}
		m.acks[subject] = &ack
		m.refreshAcks(subject)
		m.publishView()
	})
}

// Unacknowledge removes a subject's acknowledgement.
func (m *Manager) Unacknowledge(ctx context.Context, subject string) error {
	return m.do(ctx, func(time.Time) {
		delete(m.acks, subject)
		m.refreshAcks(subject)
		m.publishView()
	})
}

// Alerts returns the open alerts (pending and firing), by rule and subject.
func (m *Manager) Alerts(ctx context.Context) ([]Alert, error) {
	var out []Alert
	err := m.do(ctx, func(now time.Time) {
		for _, a := range m.alerts {
			c := a.Alert
			c.Notified = slices.Sorted(maps.Keys(a.modules))
			c.Silenced = m.silenced(a.Subject, now)
			out = append(out, c)
		}
	})
	slices.SortFunc(out, func(a, b Alert) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// do runs f on the manager's goroutine and waits for it.
func (m *Manager) do(ctx context.Context, f func(now time.Time)) error {
	done := make(chan struct{})
	select {
	case m.ops <- func(now time.Time) { f(now); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run acts until ctx ends: on queued operations, and when the next delay,
// repeat, escalation, acknowledgement expiry or silence boundary is due.
func (m *Manager) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		m.tick(now)
		next := m.nextDue(now)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(now), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case f := <-m.ops:
			f(time.Now())
			// Take whatever else is queued before ticking again.
			for drained := false; !drained; {
				select {
				case f := <-m.ops:
					f(time.Now())
				default:
					drained = true
				}
			}
		case <-timer.C:
		}
	}
}

// SubjectKey identifies a subject across events, acknowledgements and
// alerts: "check/web1/disk/res", "host/web1", "service/shop",
// "trend/disk-full/{device="sda",host="web1"}".
func SubjectKey(s store.Subject) string {
	switch s.Kind {
	case "check":
		return "check/" + s.Host + "/" + s.Plugin + "/" + s.Check
	case "host":
		return "host/" + s.Host
	case "service":
		return "service/" + s.Service
	}
	keys := slices.Sorted(maps.Keys(s.Labels))
	b := []byte("trend/" + s.Rule + "/{")
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%s=%q", k, s.Labels[k])
	}
	return string(append(b, '}'))
}

// StateName names a state number of a subject: services have ok, degraded,
// failed; everything else ok, minor, major, critical, unknown.
func StateName(kind string, n int) string {
	if kind == "service" {
		switch n {
		case 0:
			return "ok"
		case 1:
			return "degraded"
		case 2:
			return "failed"
		}
		return fmt.Sprintf("state(%d)", n)
	}
	switch n {
	case -1:
		return "unknown"
	case 0:
		return "ok"
	case 1:
		return "minor"
	case 2:
		return "major"
	case 3:
		return "critical"
	}
	return fmt.Sprintf("state(%d)", n)
}
