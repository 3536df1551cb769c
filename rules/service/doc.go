// Package service rolls member states up into service states: a service is
// ok, degraded or failed depending on its dependencies (each must be up) and
// its redundancy groups (at least k members up), as configured in
// store.Service. It is pure logic — no I/O, no clock, no goroutines — so the
// rules engine feeds it member state changes and records what it returns.
//
// A Model holds every service and the latest state of every member (hosts,
// checks, trend rules; nested services are computed). Set updates one
// member and recomputes only the services that depend on it, directly or
// through nesting, in dependency order, returning each service whose state
// changed with a reason in words. Impact answers "which services does this
// host affect?". At start, Load the current member states, Restore the
// service states kept from before and Recompute once; on a configuration
// change, build a new Model and Adopt the old one, so neither raises
// changes that did not happen.
//
// How a member counts:
//
//   - A host, check or trend member is down when its state is in the
//     service's rules' down list (default critical), impaired when in the
//     impaired list (default minor, major, unknown), otherwise up. A member
//     with no state yet is unknown. With IgnoreMaintenance (or
//     IgnoreAcknowledged) a member in maintenance (acknowledged) is up.
//   - A service member is down when failed, impaired when degraded.
//
// A service is failed when a dependency is down or a redundancy group has
// fewer than k members up or impaired; degraded when a dependency is
// impaired or a group has a member down or impaired but still k up or
// impaired; ok otherwise (and with no members).
//
// Importers: the rules engine (package rules). It imports store for the
// configuration types and rules/classify for member states.
package service
