package e2e

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/prophasis/prophasis"

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportsRunOneWay enforces DESIGN.md's package rules: arrows go
// cmd -> api -> ingest -> rules -> tsdb/store; each heavy dependency has one
// owner; the agent links nothing of the server.
func TestImportsRunOneWay(t *testing.T) {
	// forbidden[p] lists what package p (and its sub-packages) must not import
	// (prefixes, module-relative or absolute).
	forbidden := map[string][]string{
		"wire":     {module + "/"},
		"store":    {module + "/"},
		"tsdb":     {module + "/"},
		"rules":    {module + "/api", module + "/ingest", module + "/server", module + "/agent"},
		"ingest":   {module + "/api", module + "/server", module + "/agent"},
		"api":      {module + "/server", module + "/agent"},
		"plugins":  {module + "/api", module + "/ingest", module + "/rules", module + "/tsdb", module + "/server", module + "/agent"},
		"agent":    {module + "/api", module + "/ingest", module + "/rules", module + "/tsdb", module + "/store", module + "/server"},
		"frontend": {module + "/"},
	}
	// The plugin package format the agent shares with the server's registry
	// imports the standard library only.
	forbidden["plugins/archive"] = []string{module + "/"}
	// allowed[p] are exceptions to forbidden, recorded in
	// docs/architecture.md: the package format's lint and fixture replay
	// compile and run the code a package carries with the engines' own
	// compilers, two leaf packages that import neither the store nor the
	// rest of the engine.
	allowed := map[string][]string{
		"plugins/pkg": {module + "/rules/classify", module + "/rules/trend"},
	}
	// owner[dep] is the one package tree that may import dep directly.
	owner := map[string]string{
		"github.com/prometheus/prometheus/tsdb": "tsdb",
		"modernc.org/sqlite":                    "store",
		"github.com/jackc/pgx":                  "store",
		"github.com/yuin/gopher-lua":            "rules/classify",
		"github.com/hashicorp/memberlist":       "agent/mesh",
	}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for pkg, bad := range forbidden {
			if rel != pkg && !strings.HasPrefix(rel, pkg+"/") {
				continue
			}
			for _, imp := range p.Imports {
				if slices.Contains(allowed[rel], imp) {
					continue
				}
				for _, b := range bad {
					if strings.HasPrefix(imp, b) && !strings.HasPrefix(imp, module+"/"+pkg) && imp != module+"/wire" {
						t.Errorf("%s imports %s: DESIGN.md forbids it", p.ImportPath, imp)
					}
				}
			}
		}
		for _, imp := range p.Imports {
			if imp == "github.com/prometheus/prometheus/tsdb/chunkenc" {
				// Not the TSDB: the value types and iterators that
				// storage.Series hands out, part of the storage interface.
				continue
			}
			for dep, own := range owner {
				if (imp == dep || strings.HasPrefix(imp, dep+"/")) && rel != own && !strings.HasPrefix(rel, own+"/") {
					t.Errorf("%s imports %s; only %s may", p.ImportPath, imp, own)
				}
			}
		}
	}
}

// TestAgentLinksNoServerDependency keeps prophasis-agent small: none of the
// TSDB, PromQL, gin or SQL drivers end up in it.
func TestAgentLinksNoServerDependency(t *testing.T) {
	for _, p := range listPackages(t) {
		if !strings.HasPrefix(p.ImportPath, module+"/agent") && p.ImportPath != module+"/cmd/prophasis-agent" {
			continue
		}
		for _, d := range p.Deps {
			for _, heavy := range []string{"github.com/prometheus/prometheus/tsdb", "github.com/prometheus/prometheus/promql",
				"github.com/gin-gonic/gin", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/mattn/go-sqlite3"} {
				if d == heavy || strings.HasPrefix(d, heavy+"/") {
					t.Errorf("%s links %s", p.ImportPath, d)
				}
			}
		}
	}
}
