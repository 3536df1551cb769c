// Package store is the relational store of everything users configure (hosts,
// host groups, plugins, checks, schedules, services, alert rules, silences,
// alert modules, trend rules, users, API tokens), of the message log (the
// text of every result) and of what the rules engine records: events, the
// system log, current states, acknowledgements and the alert history.
//
// SQLite (modernc.org/sqlite, pure Go) is the default, PostgreSQL (pgx) the
// alternative (Open with a postgres:// URL); both are one implementation of
// the Store interface, the only thing the rest of the server sees, with one
// set of queries and a migration directory per dialect. Only this package
// speaks SQL. It imports no other Prophasis package.
package store

import (
	"context"
	"errors"
)

// Sentinel errors returned by Store methods; test with errors.Is.
var (
	// ErrNotFound: the named entity does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change collides with existing data (duplicate name, a
	// reference still in use, a cycle in group nesting).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the entity fails validation; the error text says which field and why.
	ErrInvalid = errors.New("invalid")
	// ErrUnauthenticated: an unknown, revoked or expired credential.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// Role is what a principal may do.
type Role string

// The roles. Admins change configuration; viewers read everything; agents push
// results and read their own plan.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
	RoleAgent  Role = "agent"
)

// Principal is who made a request, as established by a credential.
type Principal struct {
	// Kind is "token" for API tokens, "user" for logged-in users.
	Kind string
	// ID is the token's or user's id.
	ID int64
	// Name is the user's name or the token's name, for logs and audit.
	Name string
	Role Role
}

// Message is one entry of the message log: the text output of one result.
// The store keeps ID, Timestamp, ExitStatus and Text; which host, plugin and
// check it belongs to is indexed in the TSDB (package msglog), which fills
// those fields when it reads.
type Message struct {
	ID        int64
	Host      string
	Plugin    string
	Check     string
	Timestamp int64 // milliseconds since the Unix epoch
	// ExitStatus is the plugin's exit status.
	ExitStatus int
	Text       string
}

// MessageQuery selects messages of one host x plugin (x check) in [From, To],
// newest first, at most Limit (0 means the reader's default).
type MessageQuery struct {
	Host, Plugin, Check string
	From, To            int64
	Limit               int
}

// Store is the relational store. Implementations must be safe for concurrent
// use. Open returns one; the server owns it and closes it last.
//
// Entity methods (hosts, groups, checks, ...) are declared in the files of
// their concepts; this block holds what ingest and auth need.
type Store interface {
	// AppendMessages stores message texts in one transaction and returns
	// their ids, in order. Ids increase across calls and are never reused.
	// When it returns nil the texts survive a crash of the process.
	AppendMessages(ctx context.Context, msgs []Message) (ids []int64, err error)
	// MessagesByID returns the messages with the given ids (ID, Timestamp,
	// ExitStatus, Text); ids that are gone are missing from the map.
	MessagesByID(ctx context.Context, ids []int64) (map[int64]Message, error)
	// DeleteMessagesBefore deletes messages older than ts (retention).
	DeleteMessagesBefore(ctx context.Context, ts int64) (deleted int64, err error)

	// Authenticate resolves an API token to its principal; unknown or revoked
	// tokens give an error wrapping ErrUnauthenticated.
	Authenticate(ctx context.Context, secret string) (Principal, error)
	// Bootstrap runs on every start: on the first one (no users yet) it creates
	// the admin user and an admin API token and returns the token's secret with
	// created = true; afterwards it returns "", false.
	Bootstrap(ctx context.Context) (adminToken string, created bool, err error)

	// ConfigChanged returns a channel closed at the next committed change of
	// the configuration (entities, agents; not the message log, events, the
	// system log, current states, acknowledgements or the alert history),
	// so long
	// polls (the agents' plans) wake at once. Take a new one after each.
	ConfigChanged() <-chan struct{}

	// Close closes the store. Safe to call twice.
	Close() error

	HostStore
	GroupStore
	PluginStore
	PluginVersionStore
	ScheduleStore
	CheckStore
	ServiceStore
	AlertRuleStore
	SilenceStore
	DashboardStore
	AlertModuleStore
	TrendRuleStore
	UserStore
	TokenStore
	AgentStore
	ConfigStore
	EventStore
	SystemLogStore
	StateStore
	AckStore
	AlertHistoryStore
	MeshStore
}
