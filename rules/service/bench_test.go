package service

import (
	"math/rand/v2"
	"testing"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/store"
)

// BenchmarkMemberChange is the goal: 1,000 services × 20 members
// (dependencies and two redundancy groups each; hosts, checks, trend rules;
// one service in ten nests another), each iteration one member's state
// changes. Goal: at most 1 ms per change.
func BenchmarkMemberChange(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 11))
	services := randomServices(rng, 1000, 20, 10)
	md := mustNew(b, services...)
	keys := memberKeys(md)
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		md.Set(k, classify.OK, Flags{})
	}
	members := 0
	for _, sv := range services {
		members += len(sv.Dependencies)
		for _, g := range sv.RedundancyGroups {
			members += len(g.Members)
		}
	}
	// Each pass over the keys sets every one to the next state, so every
	// iteration is a real change.
	states := []classify.State{classify.Critical, classify.Major, classify.OK, classify.Unknown, classify.OK}
	changes := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		changes += len(md.Set(k, states[(i/len(keys))%len(states)], Flags{}))
	}
	b.ReportMetric(float64(changes)/float64(b.N), "service-changes/op")
	b.ReportMetric(float64(members)/float64(len(services)), "members/service")
}

// BenchmarkNew builds the model of BenchmarkMemberChange: what a
// configuration change costs.
func BenchmarkNew(b *testing.B) {
	services := randomServices(rand.New(rand.NewPCG(7, 11)), 1000, 20, 10)
	for b.Loop() {
		if _, err := New(services); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemberChangeFanOut is the worst case of the same configuration:
// one host (a core router) is a dependency of every tenth service, so each
// iteration flips it between ok and critical and recomputes those 100
// services and the services nesting them, every one changing state and
// getting a reason.
func BenchmarkMemberChangeFanOut(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 11))
	services := randomServices(rng, 1000, 20, 10)
	for i := 0; i < len(services); i += 10 {
		services[i].Dependencies = append(services[i].Dependencies, store.Member{Host: "core"})
	}
	md := mustNew(b, services...)
	for _, k := range memberKeys(md) {
		md.Set(k, classify.OK, Flags{})
	}
	changes := 0
	for i := 0; b.Loop(); i++ {
		s := classify.Critical
		if i%2 == 1 {
			s = classify.OK
		}
		changes += len(md.Set(HostKey("core"), s, Flags{}))
	}
	b.ReportMetric(float64(changes)/float64(b.N), "service-changes/op")
}
