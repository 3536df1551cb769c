package service

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/prophasis/prophasis/store"
)

// TestDocExamples runs the examples of the Services section of
// docs/alerting.md: the rules snippets parse to what the text says, the
// website document behaves as its table says, and the impact paragraph
// holds.
func TestDocExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/alerting.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Services\n")
	if start < 0 {
		t.Fatal("docs/alerting.md has no Services section")
	}
	section := doc[start:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) != 4 {
		t.Fatalf("found %d YAML examples, want 4", len(blocks))
	}

	rules := func(src string) store.ServiceRules {
		t.Helper()
		var v struct {
			Rules store.ServiceRules `yaml:"rules"`
		}
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("rules example: %v\n%s", err, src)
		}
		return v.Rules
	}
	if r := rules(blocks[0][1]); !reflect.DeepEqual(r, store.ServiceRules{Impaired: []string{"minor", "major"}}) {
		t.Fatalf("first rules example: %+v", r)
	}
	if r := rules(blocks[1][1]); !reflect.DeepEqual(r, store.ServiceRules{Down: []string{"major", "critical"}, IgnoreMaintenance: true}) {
		t.Fatalf("second rules example: %+v", r)
	}

	site, err := store.ParseDocumentYAML([]byte(blocks[2][1]))
	if err != nil {
		t.Fatalf("website example: %v", err)
	}
	md := mustNew(t, site.Services...)
	for _, h := range []string{"router1", "web1", "web2", "web3"} {
		md.Set(HostKey(h), O, Flags{})
	}
	// The rows of the table.
	rows := regexp.MustCompile("(?m)^\\| [^|]+ \\| `(ok|degraded|failed)` \\| `([^`]+)` \\|$").FindAllStringSubmatch(section, -1)
	if len(rows) != 5 {
		t.Fatalf("found %d rows in the website table, want 5", len(rows))
	}
	for i, step := range []func(){
		func() { md.Set(HostKey("router1"), C, Flags{}) },
		func() { md.Set(HostKey("router1"), O, Flags{}) },
		func() { md.Set(HostKey("web1"), C, Flags{}) },
		func() { md.Set(HostKey("web2"), C, Flags{}); md.Set(HostKey("web3"), C, Flags{}) },
		func() { md.Set(HostKey("web2"), O, Flags{}) },
	} {
		step()
		st, why := md.State("website")
		if st.String() != rows[i][1] || why != rows[i][2] {
			t.Errorf("row %d: website is %s %q; the table says %s %q", i+1, st, why, rows[i][1], rows[i][2])
		}
	}

	more, err := store.ParseDocumentYAML([]byte(blocks[3][1]))
	if err != nil {
		t.Fatalf("nesting example: %v", err)
	}
	md = mustNew(t, append(site.Services, more.Services...)...)
	if got := md.Impact("db1"); !slices.Equal(got, []string{"database", "shop"}) || !strings.Contains(section, "db1 affects `database` and `shop`") {
		t.Errorf("Impact(db1) = %v", got)
	}
	if got := md.Impact("web1"); !slices.Equal(got, []string{"shop", "website"}) || !strings.Contains(section, "web1 affects `website` and `shop`") {
		t.Errorf("Impact(web1) = %v", got)
	}
}
