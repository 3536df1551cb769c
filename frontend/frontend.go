// Package frontend holds the web UI and embeds its build output, so the
// prophasis binary serves the UI without any file beside it. The TypeScript
// sources and the Vite build arrive with the web UI; until then dist/ holds a
// static landing page pointing at the APIs.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// FS returns the built UI, rooted at its index.html.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("BUG: frontend: embedded dist missing: " + err.Error())
	}
	return sub
}
