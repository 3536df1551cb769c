package api

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// contentSecurityPolicy is sent with the UI: scripts, styles, images and
// API calls from this origin only (no inline script, so an injected
// <script> would not run even if escaping failed), inline styles allowed
// (uPlot and the component library set style attributes), data: images
// (icons), and no framing by other sites (clickjacking).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

// uiHeaders sets the security headers of every UI response and its caching:
// files under /assets/ have content hashes in their names (Vite) and never
// change, so browsers keep them a year; everything else, index.html first,
// is revalidated on every load, so a new release shows at once.
func uiHeaders(h http.Header, urlPath string) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(urlPath, "/assets/") {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
}

// serveUI serves the UI's files at / (without auth: they are static and hold
// no data; every API call the UI makes is authenticated).
func serveUI(r *gin.Engine, ui fs.FS) {
	files := http.FileServer(http.FS(ui))
	h := func(c *gin.Context) {
		p := c.Request.URL.Path
		if p != "/" && strings.HasSuffix(p, "/") {
			// No directory listings.
			c.AbortWithStatus(http.StatusNotFound)
			return
		}
		uiHeaders(c.Writer.Header(), p)
		files.ServeHTTP(c.Writer, c.Request)
	}
	r.GET("/", h)
	r.HEAD("/", h)
	entries, _ := fs.ReadDir(ui, ".")
	for _, e := range entries {
		if e.Name() == "index.html" {
			continue // served at /
		}
		if e.IsDir() {
			r.GET("/"+e.Name()+"/*file", h)
			r.HEAD("/"+e.Name()+"/*file", h)
		} else {
			r.GET("/"+e.Name(), h)
			r.HEAD("/"+e.Name(), h)
		}
	}
}

// apiPrefixes are the paths that are never UI routes: an unknown path under
// them is an API 404, not the UI.
var apiPrefixes = []string{"/api/", "/manage/", "/agent/", "/metrics", "/-/"}

// uiRoutes answers requests no route matched: a GET or HEAD of what looks
// like a route of the UI's client-side router (no dot in the last segment,
// outside the APIs) gets index.html, so a reload or a shared link of
// /hosts/web1 works; anything else goes to otherwise.
func uiRoutes(ui fs.FS, otherwise gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) || !isUIRoute(p) {
			otherwise(c)
			return
		}
		index, err := fs.ReadFile(ui, "index.html")
		if err != nil {
			otherwise(c)
			return
		}
		uiHeaders(c.Writer.Header(), p)
		c.Data(http.StatusOK, "text/html; charset=utf-8", index)
	}
}

func isUIRoute(p string) bool {
	for _, pre := range apiPrefixes {
		if strings.HasPrefix(p, pre) || p+"/" == pre {
			return false
		}
	}
	return !strings.Contains(path.Base(p), ".")
}
