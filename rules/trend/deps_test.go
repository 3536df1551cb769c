package trend

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The package sees storage through Prometheus's interfaces only (STYLE.md):
// no Prometheus tsdb (chunkenc excepted: storage.Series's iterators are
// chunkenc.Iterators), and no package of this repository.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			checked++
			switch {
			case path == "github.com/prometheus/prometheus/tsdb/chunkenc":
			case strings.HasPrefix(path, "github.com/prometheus/prometheus/tsdb"),
				strings.HasPrefix(path, "github.com/prometheus/prometheus/promql") && path != "github.com/prometheus/prometheus/promql/parser",
				strings.HasPrefix(path, "github.com/prophasis/prophasis/"):
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports checked")
	}
}
