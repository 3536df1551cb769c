package service

import (
	"fmt"
	"math/rand/v2"

	"github.com/prophasis/prophasis/store"
)

// randomServices builds n services of about size members each, drawn from
// a pool of hosts: dependencies and one or two redundancy groups of hosts,
// checks and trend rules, and (for one service in nestEvery) a member
// service of lower number, so there are no cycles. Every fifth service has
// rules other than the defaults.
func randomServices(rng *rand.Rand, n, size, nestEvery int) []store.Service {
	nHosts := max(n*size/4, 8)
	member := func() store.Member {
		h := fmt.Sprintf("h%d", rng.IntN(nHosts))
		switch rng.IntN(10) {
		case 0:
			return store.Member{Host: h, Check: "res", Plugin: "disk"}
		case 1:
			return store.Member{Trend: "disk-full", Host: h}
		case 2:
			return store.Member{Trend: fmt.Sprintf("t%d", rng.IntN(4))}
		}
		return store.Member{Host: h}
	}
	// unique drops repeated members, as the store refuses them.
	unique := func(ms []store.Member) []store.Member {
		seen := map[store.Member]bool{}
		var out []store.Member
		for _, m := range ms {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
		return out
	}
	out := make([]store.Service, n)
	for i := range out {
		sv := store.Service{Name: fmt.Sprintf("s%04d", i)}
		deps := make([]store.Member, 0, size)
		for range size * 2 / 5 {
			deps = append(deps, member())
		}
		if i > 0 && i%nestEvery == 0 {
			deps = append(deps, store.Member{Service: fmt.Sprintf("s%04d", rng.IntN(i))})
		}
		sv.Dependencies = unique(deps)
		for g := range 2 {
			var ms []store.Member
			for range (size - len(sv.Dependencies)) / 2 {
				ms = append(ms, member())
			}
			if g == 0 && i > 0 && i%nestEvery == 1 {
				ms = append(ms, store.Member{Service: fmt.Sprintf("s%04d", rng.IntN(i))})
			}
			ms = unique(ms)
			if len(ms) == 0 {
				continue
			}
			sv.RedundancyGroups = append(sv.RedundancyGroups, store.RedundancyGroup{
				Name: fmt.Sprintf("g%d", g), K: 1 + rng.IntN(len(ms)), Members: ms,
			})
		}
		if i%5 == 0 {
			sv.Rules = store.ServiceRules{Down: []string{"major", "critical"}, Impaired: []string{"minor"}, IgnoreMaintenance: true}
		}
		out[i] = sv
	}
	return out
}
