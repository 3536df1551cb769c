package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/wire"
)

// With trusted keys the agent installs only packages whose plan entry
// carries a valid signature by one of them, and says why it refuses the
// others in their runs' results.
func TestPackagesRequireSignatures(t *testing.T) {
	pub, priv, err := sign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := sign.GenerateKey()
	good, unsigned, forged := pkg(t, "1"), pkg(t, "2"), pkg(t, "3")
	f := newFake(good, unsigned, forged)
	p, data := newTestPackages(t, f)
	ctx := context.Background()

	// A package unpacked before keys were configured is fetched again.
	if n := p.fetchMissing(ctx, []wire.PlanRun{run(archive.SHA256(unsigned))}); n != 0 {
		t.Fatal("unsigned package not installed without keys")
	}
	if err := p.requireSignatures([]string{pub}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "plugins", archive.SHA256(unsigned))); !os.IsNotExist(err) {
		t.Fatalf("package installed without a check kept: %v", err)
	}

	sig := func(priv string, b []byte) string {
		s, err := sign.Sign(priv, b)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rGood, rUnsigned, rForged := run(archive.SHA256(good)), run(archive.SHA256(unsigned)), run(archive.SHA256(forged))
	rGood.Signature = sig(priv, good)
	rForged.Signature = sig(otherPriv, forged)
	if n := p.fetchMissing(ctx, []wire.PlanRun{rGood, rUnsigned, rForged}); n != 2 {
		t.Fatalf("missing %d, want the unsigned and the forged one", n)
	}
	if _, problem := p.program(rGood); problem != "" {
		t.Errorf("signed package: %s", problem)
	}
	if _, problem := p.program(rUnsigned); !strings.Contains(problem, "is not signed") || !strings.Contains(problem, errSignature) {
		t.Errorf("unsigned package: %q", problem)
	}
	if _, problem := p.program(rForged); !strings.Contains(problem, errSignature) || !strings.Contains(problem, "not trusted") {
		t.Errorf("package signed by another key: %q", problem)
	}
	for _, r := range []wire.PlanRun{rUnsigned, rForged} {
		if _, err := os.Stat(filepath.Join(data, "plugins", r.SHA256)); !os.IsNotExist(err) {
			t.Errorf("refused package %s unpacked: %v", r.SHA256, err)
		}
	}
	// A signature of other bytes is refused too.
	rSwapped := run(archive.SHA256(forged))
	rSwapped.Signature = sig(priv, good)
	p.fetchMissing(ctx, []wire.PlanRun{rSwapped})
	if _, problem := p.program(rSwapped); !strings.Contains(problem, errSignature) {
		t.Errorf("signature of another package: %q", problem)
	}
}
