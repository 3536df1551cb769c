package alert

import (
	"maps"
	"slices"
	"time"

	"github.com/prophasis/prophasis/store"
)

// event applies one state change: it closes the alerts whose subject left
// their rule's states, updates those it stays in, and opens alerts for the
// rules it newly matches.
func (m *Manager) event(ev *store.Event, now time.Time) {
	if ev.Kind != "state" {
		return // flapping events are history, not alerts (docs/alerting.md)
	}
	subj := ev.Subject
	key := SubjectKey(subj)
	from, to := StateName(subj.Kind, ev.From), StateName(subj.Kind, ev.To)
	if _, acked := m.acks[key]; acked && to == "ok" {
		delete(m.acks, key) // sticky until recovery
		m.publishView()
	}
	labels := m.subjectLabels(subj)
	for _, r := range m.rules {
		id := r.Name + "/" + key
		if a, ok := m.alerts[id]; ok {
			if r.inTo(to) {
				a.From, a.State, a.Reason = a.State, to, ev.Reason
				if a.Status == Firing && a.announced {
					// A new state within the rule (major → critical) is
					// news: tell everyone who knows.
					m.notifyAll(a, Firing, now)
				}
				m.record(a)
				continue
			}
			m.resolve(a, to, ev.Reason, now)
			continue
		}
		ok, err := r.matches(subj, labels, from, to, ev.Reason, now)
		if err != nil {
			m.logger.Warn("alert rule condition failed; the change does not match", "rule", r.Name, "subject", key, "err", err)
			continue
		}
		if !ok {
			continue
		}
		a := &alert{Alert: Alert{ID: id, Rule: r.Name, Subject: subj, Status: Pending, State: to, From: from,
			Reason: ev.Reason, ActiveAt: now}, rule: r, fireAt: now.Add(r.Delay), modules: map[string]int{}}
		if ack := m.acks[key]; ack != nil {
			a.Ack = ack
		}
		m.alerts[id] = a
		if r.Delay == 0 {
			m.fire(a, now) // at once: no timer in the way
			continue
		}
		m.record(a)
	}
}

// subjectLabels are the host's labels with the subject's own on top.
func (m *Manager) subjectLabels(s store.Subject) map[string]string {
	out := maps.Clone(m.labels[s.Host])
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, s.Labels)
	return out
}

// fire notifies the rule's modules (unless silenced: then when the silence
// ends) and schedules repeats and escalations.
func (m *Manager) fire(a *alert, now time.Time) {
	a.Status, a.FiredAt = Firing, now
	for _, mod := range a.rule.Modules {
		a.modules[mod] = 0
	}
	if a.rule.Repeat > 0 {
		a.nextRepeat = now.Add(a.rule.Repeat)
	}
	m.announce(a, now)
	if a.rule.oneShot() {
		delete(m.alerts, a.ID)
		a.Status, a.ResolvedAt = Resolved, now
	}
	m.record(a)
}

// announce sends the firing notice once the alert is not silenced.
func (m *Manager) announce(a *alert, now time.Time) {
	if a.announced {
		return
	}
	if name := m.silenced(a.Subject, now); name != "" {
		if a.Silenced != name {
			a.Silenced = name
			silencedTotal.Inc()
		}
		return
	}
	a.Silenced = ""
	a.announced = true
	m.notifyAll(a, Firing, now)
}

// resolve closes a: a recovery notice to every module that heard of it.
func (m *Manager) resolve(a *alert, to, reason string, now time.Time) {
	delete(m.alerts, a.ID)
	a.From, a.State, a.Reason, a.Status, a.ResolvedAt = a.State, to, reason, Resolved, now
	if a.announced && a.rule.Recovery && m.silenced(a.Subject, now) == "" {
		m.notifyAll(a, Resolved, now)
	}
	m.record(a)
}

// notifyAll sends a notice to every module of a.
func (m *Manager) notifyAll(a *alert, status string, now time.Time) {
	for _, mod := range slices.Sorted(maps.Keys(a.modules)) {
		m.notify(a, mod, status, a.modules[mod], now)
	}
}

func (m *Manager) notify(a *alert, module, status string, step int, now time.Time) {
	noticesTotal.Inc()
	n := Notice{Alert: a.Alert, Status: status, Time: now, Repeat: a.Repeats, Escalation: step}
	n.Notified = slices.Sorted(maps.Keys(a.modules))
	m.send.Send(module, n)
}

func (m *Manager) record(a *alert) {
	if m.rec != nil {
		c := a.Alert
		c.Notified = slices.Sorted(maps.Keys(a.modules))
		m.rec.AlertChanged(c)
	}
}

// silenced returns the name of a silence covering subj at now, or "".
func (m *Manager) silenced(subj store.Subject, now time.Time) string {
	for _, s := range m.silences {
		if s.Scope.Covers(subj) && s.Active(now) {
			return s.Name
		}
	}
	return ""
}

// refreshAcks copies a subject's acknowledgement into its alerts.
func (m *Manager) refreshAcks(subject string) {
	for _, a := range m.alerts {
		if SubjectKey(a.Subject) == subject {
			a.Ack = m.acks[subject]
			m.record(a)
		}
	}
}

// tick does what is due at now.
func (m *Manager) tick(now time.Time) {
	for key, ack := range m.acks {
		if !ack.Expires.IsZero() && !now.Before(ack.Expires) {
			delete(m.acks, key)
			m.refreshAcks(key)
			m.publishView()
		}
	}
	firing := 0
	for _, a := range m.alerts {
		switch a.Status {
		case Pending:
			if !now.Before(a.fireAt) {
				m.fire(a, now)
			}
		case Firing:
			if !a.announced {
				m.announce(a, now) // its silence may have ended
			}
		}
		if a.Status != Firing {
			continue
		}
		firing++
		if a.Ack != nil || !a.announced {
			continue // acknowledged or silenced: no repeats, no escalation
		}
		if m.silenced(a.Subject, now) != "" {
			continue
		}
		if !a.nextRepeat.IsZero() && !now.Before(a.nextRepeat) {
			a.Repeats++
			m.notifyAll(a, Firing, now)
			a.nextRepeat = now.Add(a.rule.Repeat)
		}
		for a.nextStep < len(a.rule.Escalations) && !now.Before(a.FiredAt.Add(a.rule.Escalations[a.nextStep].After)) {
			step := a.rule.Escalations[a.nextStep]
			a.nextStep++
			for _, mod := range step.Modules {
				if _, ok := a.modules[mod]; ok {
					continue
				}
				a.modules[mod] = a.nextStep
				m.notify(a, mod, Firing, a.nextStep, now)
			}
			m.record(a)
		}
	}
	alertsFiring.Set(float64(firing))
}

// nextDue returns when tick next has something to do after now (zero:
// nothing scheduled).
func (m *Manager) nextDue(now time.Time) time.Time {
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, ack := range m.acks {
		at(ack.Expires)
	}
	for _, s := range m.silences {
		at(s.Next(now))
	}
	for _, a := range m.alerts {
		switch a.Status {
		case Pending:
			at(a.fireAt)
		case Firing:
			if a.Ack != nil || !a.announced {
				continue
			}
			at(a.nextRepeat)
			if a.nextStep < len(a.rule.Escalations) {
				at(a.FiredAt.Add(a.rule.Escalations[a.nextStep].After))
			}
		}
	}
	return next
}
