// Package alert decides who hears about which state change, and when.
//
// An alert rule matches state-change events (package rules' events, and the
// service rollups') by the states they come from and go to, within a scope
// (hosts, host groups, checks, plugins, services, trend rules) and an
// optional expr-lang condition. A matching change opens an alert for the
// rule × subject: pending for the rule's delay, then firing — notified
// through the rule's modules, again every repeat interval while it lasts,
// and to each escalation step's modules once the step's time has passed
// unacknowledged — until the subject leaves the rule's "to" states, when a
// recovery notification goes to every module that heard of it.
//
// Acknowledging a subject stops repeats and escalations until it recovers
// or the acknowledgement expires. Silences (maintenance windows, one-off or
// weekly) suppress notifications for what they cover, but alerts still
// open and close: an alert still firing when its silence ends is notified
// then.
//
// A Manager owns all of this on one goroutine (Run): events, rule changes,
// acknowledgements and silences are queued to it, and one timer wakes it
// for the next delay, repeat, escalation or window boundary, so there are
// no locks and time-dependent behaviour is tested with testing/synctest.
// It decides when and to whom; sending (package rules/notify) and the
// payload belong to the caller's Sender.
package alert
