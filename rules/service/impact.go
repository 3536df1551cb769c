package service

import "slices"

// Impact returns every service host affects, sorted: those with a member on
// it (the host itself, a check on it, a trend rule narrowed to it) and,
// through nesting, every service that has one of those as a member. A trend
// member over all of a rule's series is not narrowed to any host, so it does
// not count here.
func (m *Model) Impact(host string) []string {
	seen := make(map[int32]bool)
	stack := slices.Clone(m.byHost[host])
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[i] {
			continue
		}
		seen[i] = true
		stack = append(stack, m.users[ServiceKey(m.services[i].name)]...)
	}
	out := make([]string, 0, len(seen))
	for i := range seen {
		out = append(out, m.services[i].name)
	}
	slices.Sort(out)
	return out
}
