package service

import (
	"testing"

	"github.com/prophasis/prophasis/store"
)

func TestLoadRestoreRecompute(t *testing.T) {
	md := mustNew(t, website(1), store.Service{Name: "quiet", Dependencies: hosts("q1")})
	// The website was failed before the restart; quiet was ok.
	if !md.Restore("Website", Failed) || !md.Restore("quiet", OK) || md.Restore("nope", OK) {
		t.Fatal("Restore does not know its services")
	}
	for _, h := range []string{"router1", "web1", "web2", "web3"} {
		if !md.Load(HostKey(h), O, Flags{}) {
			t.Fatalf("Load(%s) says no service uses it", h)
		}
	}
	if md.Load(HostKey("elsewhere"), C, Flags{}) {
		t.Fatal("Load accepted a key no service uses")
	}
	md.Load(HostKey("q1"), O, Flags{})
	// Only the website really changed while the server was down.
	if got := show(md.Recompute()); got != "Website failed>ok: ok: every member is up\n" {
		t.Fatalf("Recompute:\n%s", got)
	}
	if got := md.Recompute(); len(got) != 0 {
		t.Fatalf("second Recompute: %s", show(got))
	}
	// Set works from the loaded states.
	expect(t, md, HostKey("web1"), C, Flags{}, "Website ok>degraded: degraded: redundancy group web has 2 of 3 up (needs 1); web1 is critical\n")
}

func TestAdoptCarriesStatesAcrossAConfigurationChange(t *testing.T) {
	old := mustNew(t, website(1), store.Service{Name: "gone", Dependencies: hosts("web1")})
	for _, h := range []string{"router1", "web2", "web3"} {
		old.Set(HostKey(h), O, Flags{})
	}
	old.Set(HostKey("web1"), C, Flags{Acknowledged: true})
	if st, _ := old.State("Website"); st != Degraded {
		t.Fatalf("old website %s", st)
	}

	// The website now needs all three; a new service uses web1 and a
	// host nobody has heard of; another new one is fine.
	strict := website(3)
	md := mustNew(t, strict,
		store.Service{Name: "blog", Dependencies: hosts("web1")},
		store.Service{Name: "new-box", Dependencies: hosts("fresh")},
		store.Service{Name: "fine", Dependencies: hosts("web2")},
	)
	want := "Website degraded>failed: failed: redundancy group web has 2 of 3 up (needs 3); web1 is critical (acknowledged)\n" +
		"blog ok>failed: failed: dependency host web1 is critical (acknowledged)\n" +
		"new-box ok>degraded: degraded: dependency host fresh is unknown (no state yet)\n"
	if got := show(md.Adopt(old)); got != want {
		t.Fatalf("Adopt:\n got %q\nwant %q", got, want)
	}
	// Flags came along: acknowledging web1 stays known, so a new
	// acknowledgement-free state is a change.
	expect(t, md, HostKey("web1"), O, Flags{}, "Website failed>ok: ok: every member is up\nblog failed>ok: ok: every member is up\n")
}
