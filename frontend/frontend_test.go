package frontend

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestFSServesAnIndex(t *testing.T) {
	ui := FS()
	b, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		t.Fatalf("index.html: %v", err)
	}
	if !strings.Contains(string(b), "<title>Prophasis</title>") {
		t.Errorf("index.html has no Prophasis title:\n%s", b)
	}
	entries, err := fs.ReadDir(ui, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("dot file %q is served", e.Name())
		}
	}
	if _, err := ui.Open(".gitkeep"); err == nil {
		t.Error(".gitkeep can be opened")
	}
}

var (
	scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	assetRef  = regexp.MustCompile(`(?:src|href)="/(assets/[^"]+)"`)
)

// The server's CSP is script-src 'self': the built index.html may load
// scripts only by src, and every asset it names must be embedded.
func TestBuiltIndexHasNoInlineScript(t *testing.T) {
	if !Built() {
		t.Skip("the UI is not built (make frontend)")
	}
	ui := FS()
	b, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range scriptTag.FindAllStringSubmatch(string(b), -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script in index.html: %s", m[0])
		}
	}
	refs := assetRef.FindAllStringSubmatch(string(b), -1)
	if len(refs) == 0 {
		t.Error("index.html names no assets")
	}
	for _, m := range refs {
		if _, err := fs.Stat(ui, m[1]); err != nil {
			t.Errorf("index.html names %s: %v", m[1], err)
		}
	}
}

// Every text from the APIs is rendered by Preact, which escapes it; raw HTML
// insertion is not used anywhere in the sources.
func TestSourcesInsertNoRawHTML(t *testing.T) {
	banned := []string{"dangerouslySetInnerHTML", ".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write("}
	err := filepath.WalkDir("src", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range banned {
			if strings.Contains(string(b), s) {
				t.Errorf("%s uses %s", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
