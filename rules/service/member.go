package service

import (
	"fmt"

	"github.com/prophasis/prophasis/store"
)

// Kind is what a member's state comes from.
type Kind uint8

// The kinds of members.
const (
	// KindHost: a host's rolled-up state.
	KindHost Kind = iota + 1
	// KindCheck: one plugin of a check on one host.
	KindCheck
	// KindTrend: a trend rule's worst state over its series, or over
	// one host's series when MemberKey.Host is set.
	KindTrend
	// KindService: another service's state (computed by the Model).
	KindService
)

// String returns the kind's name: "host", "check", "trend", "service".
func (k Kind) String() string {
	switch k {
	case KindHost:
		return "host"
	case KindCheck:
		return "check"
	case KindTrend:
		return "trend"
	case KindService:
		return "service"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MemberKey identifies where a member's state comes from. It is comparable,
// so it can key maps. Build it with HostKey, CheckKey, TrendKey, ServiceKey
// or KeyOf.
type MemberKey struct {
	Kind Kind
	// Host is set for host and check members, and for trend members
	// narrowed to one host.
	Host string
	// Check and Plugin are set for check members.
	Check, Plugin string
	// Name is the trend rule's name for trend members and the service's
	// for service members.
	Name string
}

// HostKey is the key of a host member.
func HostKey(host string) MemberKey { return MemberKey{Kind: KindHost, Host: host} }

// CheckKey is the key of a check member: plugin of check on host.
func CheckKey(host, check, plugin string) MemberKey {
	return MemberKey{Kind: KindCheck, Host: host, Check: check, Plugin: plugin}
}

// TrendKey is the key of a trend member: the worst state of every series of
// rule, or with host != "" of that host's series.
func TrendKey(rule, host string) MemberKey { return MemberKey{Kind: KindTrend, Name: rule, Host: host} }

// ServiceKey is the key of a service member.
func ServiceKey(name string) MemberKey { return MemberKey{Kind: KindService, Name: name} }

// KeyOf returns the key of a configured member, or an error when the member
// is not of one of the forms store.Member allows.
func KeyOf(m store.Member) (MemberKey, error) {
	switch {
	case m.Service != "" && m.Host == "" && m.Check == "" && m.Plugin == "" && m.Trend == "":
		return ServiceKey(m.Service), nil
	case m.Trend != "" && m.Check == "" && m.Plugin == "" && m.Service == "":
		return TrendKey(m.Trend, m.Host), nil
	case m.Host != "" && m.Check == "" && m.Plugin == "" && m.Service == "" && m.Trend == "":
		return HostKey(m.Host), nil
	case m.Host != "" && m.Check != "" && m.Plugin != "" && m.Service == "" && m.Trend == "":
		return CheckKey(m.Host, m.Check, m.Plugin), nil
	}
	return MemberKey{}, fmt.Errorf("member %s is not one of {host}, {host, check, plugin}, {service}, {trend} or {trend, host}", m)
}

// String names the member as reasons do: "host web1", "check disk/df on
// db1" (check/plugin), "trend rule disk-full on db1", "service db".
func (k MemberKey) String() string {
	switch k.Kind {
	case KindHost:
		return "host " + k.Host
	case KindCheck:
		return "check " + k.Check + "/" + k.Plugin + " on " + k.Host
	case KindTrend:
		if k.Host != "" {
			return "trend rule " + k.Name + " on " + k.Host
		}
		return "trend rule " + k.Name
	case KindService:
		return "service " + k.Name
	}
	return fmt.Sprintf("member(%s %q %q %q %q)", k.Kind, k.Host, k.Check, k.Plugin, k.Name)
}

// short names the member inside a redundancy group's reason: a host by its
// name alone ("web1 is critical"), anything else as String does.
func (k MemberKey) short() string {
	if k.Kind == KindHost {
		return k.Host
	}
	return k.String()
}

// Flags are conditions of a member besides its state, which a service's
// rules may ask to ignore the state for.
type Flags struct {
	// Maintenance: the member is in a maintenance window.
	Maintenance bool
	// Acknowledged: someone acknowledged the member's problem.
	Acknowledged bool
}
