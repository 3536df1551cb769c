// Package frontend holds the web UI and embeds its build output, so the
// prophasis binary serves the UI without any file beside it.
//
// The TypeScript sources are in src/; `make frontend` (npm ci, then Vite)
// builds them into dist/, which is not committed: only dist/.gitkeep is, so
// `go build ./...` compiles on a machine without Node. A binary built before
// the UI was serves placeholder/index.html instead, a page saying how to
// build the UI and where the APIs are. See docs/ui.md.
package frontend

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed all:dist
var dist embed.FS

//go:embed placeholder
var placeholder embed.FS

// Built reports whether the embedded dist holds a built UI.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// FS returns the built UI, rooted at its index.html, without dot files (the
// committed dist/.gitkeep). Without a built UI it returns the placeholder page.
func FS() fs.FS {
	root, name := fs.FS(dist), "dist"
	if !Built() {
		root, name = placeholder, "placeholder"
	}
	sub, err := fs.Sub(root, name)
	if err != nil {
		panic("BUG: frontend: embedded " + name + " missing: " + err.Error())
	}
	return noDotFiles{sub}
}

// noDotFiles hides files and directories whose name starts with a dot.
type noDotFiles struct{ fs.FS }

func hidden(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") && part != "." {
			return true
		}
	}
	return false
}

func (f noDotFiles) Open(name string) (fs.File, error) {
	if hidden(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f.FS.Open(name)
}

func (f noDotFiles) ReadDir(name string) ([]fs.DirEntry, error) {
	if hidden(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	entries, err := fs.ReadDir(f.FS, name)
	out := entries[:0]
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e)
		}
	}
	return out, err
}
