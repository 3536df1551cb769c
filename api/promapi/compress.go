package promapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/gzip"
)

// Responses are gzip-compressed when the client accepts it, as Prometheus's
// httputil.CompressionHandler does (Grafana's and Go's HTTP clients always
// accept it), with two differences:
//
//   - the fastest level: a range query's JSON is tens of megabytes of digits
//     that compress about 4x even at level 1, and the higher levels cost more
//     time than they save on any network a dashboard runs over;
//   - not for a client on the same machine (a loopback address and no
//     proxy's forwarding header): there compression costs a third of a
//     large query's time and saves nothing. A reverse proxy on the same
//     machine sends X-Forwarded-For or Forwarded, and its clients get gzip.

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // the level is valid: no error
	return zw
}}

// compress is the middleware that wraps the response writer in gzip when
// the request's Accept-Encoding allows it.
func compress(c *gin.Context) {
	if !acceptsGzip(c.Request.Header.Get("Accept-Encoding")) || isLocal(c.Request) {
		c.Next()
		return
	}
	c.Header("Vary", "Accept-Encoding")
	gw := &gzipWriter{ResponseWriter: c.Writer}
	c.Writer = gw
	defer func() {
		c.Writer = gw.ResponseWriter
		gw.close()
	}()
	c.Next()
}

// isLocal reports whether r comes straight from a client on this machine:
// from a loopback address, through no proxy.
func isLocal(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return false
	}
	h := r.Header
	return h.Get("X-Forwarded-For") == "" && h.Get("Forwarded") == "" && h.Get("X-Real-Ip") == ""
}

// acceptsGzip reports whether an Accept-Encoding header lists gzip (with a
// non-zero q, if one is given).
func acceptsGzip(h string) bool {
	for h != "" {
		var enc string
		enc, h, _ = strings.Cut(h, ",")
		name, params, _ := strings.Cut(enc, ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}

// gzipWriter compresses what handlers write. The gzip stream starts with the
// first byte of body, so a response without one (204) goes out plain.
type gzipWriter struct {
	gin.ResponseWriter
	zw *gzip.Writer
}

func (g *gzipWriter) start() {
	h := g.ResponseWriter.Header()
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	g.zw = gzipPool.Get().(*gzip.Writer)
	g.zw.Reset(g.ResponseWriter)
}

// Write compresses p into the response.
func (g *gzipWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if g.zw == nil {
		if !bodyAllowed(g.ResponseWriter.Status()) {
			return g.ResponseWriter.Write(p)
		}
		g.start()
	}
	return g.zw.Write(p)
}

// WriteString compresses s into the response.
func (g *gzipWriter) WriteString(s string) (int, error) { return g.Write([]byte(s)) }

// Flush sends what has been compressed so far.
func (g *gzipWriter) Flush() {
	if g.zw != nil {
		_ = g.zw.Flush() // a failed write shows again on the next one
	}
	g.ResponseWriter.Flush()
}

func (g *gzipWriter) close() {
	if g.zw == nil {
		return
	}
	_ = g.zw.Close() // the client went away; nothing to tell it
	g.zw.Reset(nil)
	gzipPool.Put(g.zw)
	g.zw = nil
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
