package service

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The package is pure logic: it may import store (for the configuration
// types) and rules/classify (for member states), and from the standard
// library nothing that does I/O or keeps time.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"fmt": true, "slices": true, "strings": true,
		"github.com/prophasis/prophasis/store":          true,
		"github.com/prophasis/prophasis/rules/classify": true,
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
			if !allowed[path] {
				t.Errorf("%s imports %s; the package must stay pure logic", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports checked")
	}
}
