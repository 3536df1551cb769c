package pkg

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/plugins/manifest"
)

// TestDocsExamples keeps docs/plugins.md honest: every JSON example in it
// is a valid manifest or a valid fixture.
func TestDocsExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	manifests, fixtures := 0, 0
	for _, blk := range blocks {
		src := strings.TrimSpace(blk[1])
		switch src[0] {
		case '{':
			m, err := manifest.Parse([]byte(src))
			if err == nil {
				err = m.Validate()
			}
			if err != nil {
				t.Errorf("manifest example:\n%s\n%v", src, err)
			}
			manifests++
		case '[':
			if _, err := ParseFixture([]byte(src)); err != nil {
				t.Errorf("fixture example:\n%s\n%v", src, err)
			}
			fixtures++
		}
	}
	if manifests < 2 || fixtures < 1 {
		t.Fatalf("found %d manifests and %d fixtures in docs/plugins.md", manifests, fixtures)
	}
}
