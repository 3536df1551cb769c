package mesh

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Handler serves the cluster as m sees it, read-only, to the addresses in
// allow (everyone else gets 403):
//
//	GET /             an HTML page (no JavaScript, readable on a phone)
//	GET /status.json  the ClusterView as JSON
//
// Other methods get 405. Everything on the page is escaped by html/template:
// a process called <script> shows as text.
func Handler(m *Mesh, allow Ranges) http.Handler {
	return &page{m: m, allow: allow}
}

type page struct {
	m     *Mesh
	allow Ranges
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !p.allow.Contains(ap.Addr()) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		if err := pageTemplate().Execute(w, pageData(p.m.View())); err != nil {
			p.m.logger.Debug("status page", "err", err)
		}
	case "/status.json":
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		_ = enc.Encode(p.m.View())
	default:
		http.NotFound(w, r)
	}
}

type pageView struct {
	ClusterView
	Up, Down int
}

func pageData(v ClusterView) pageView {
	pv := pageView{ClusterView: v}
	for _, h := range v.Hosts {
		if h.Up {
			pv.Up++
		} else {
			pv.Down++
		}
	}
	return pv
}

// pageTemplate is parsed when the page is first asked for, not when the
// agent starts: most agents never serve it, and parsing touches
// html/template's code and heap for nothing (resident memory).
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"ago": func(now, t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return now.Sub(t).Truncate(time.Second).String() + " ago"
		},
		"bytes":   humanBytes,
		"uptime":  func(d time.Duration) string { return d.Truncate(time.Minute).String() },
		"percent": func(a, b uint64) string { return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(max(b, 1))) },
		"clock":   func(t time.Time) string { return t.UTC().Format("01-02 15:04:05") },
		"latest": func(h HostView) *Status {
			if len(h.Statuses) == 0 {
				return nil
			}
			return &h.Statuses[0]
		},
	}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>{{.Cluster}}: {{.Up}} up, {{.Down}} down</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0.5em;max-width:60em}
.host{border:1px solid #ccc;border-radius:4px;margin:0.5em 0;padding:0.4em 0.6em}
.down{background:#fdd}.up h2::before{content:"● ";color:#2a2}.down h2::before{content:"● ";color:#c22}
h2{font-size:1.1em;margin:0}dl{display:grid;grid-template-columns:max-content 1fr;gap:0 1em;margin:0.3em 0}
dt{color:#666}dd{margin:0;overflow-wrap:anywhere}pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;margin:0}
table{border-collapse:collapse;font-size:12px}td,th{padding:0 0.5em;text-align:right}
.critical{color:#c22}.warning{color:#b60}.unknown{color:#666}
</style></head><body>
<h1>{{.Cluster}}</h1>
<p>{{.Up}} up, {{.Down}} down — as seen by {{.Node}} at {{clock .Time}} UTC.</p>
{{$now := .Time}}
{{range .Hosts}}{{$s := latest .}}
<div class="host {{if .Up}}up{{else}}down{{end}}">
<h2>{{.Name}} {{if not .Up}}— down since {{clock .DownSince}} UTC{{end}}</h2>
<dl>
<dt>seen</dt><dd>{{ago $now .LastSeen}}{{if .Addr}} at {{.Addr}}{{end}}{{if .ReportedBy}}, status from {{.ReportedBy}}{{end}}</dd>
{{with $s}}
<dt>status</dt><dd>{{clock .Time}} UTC, up {{uptime .Uptime}}</dd>
<dt>load</dt><dd>{{printf "%.2f %.2f %.2f" .Load1 .Load5 .Load15}}</dd>
<dt>cpu</dt><dd>{{printf "%.1f" .CPU}}%</dd>
<dt>memory</dt><dd>{{bytes .MemUsed}} of {{bytes .MemTotal}} ({{percent .MemUsed .MemTotal}})</dd>
<dt>network</dt><dd>rx {{bytes .RxBytesPerSec}}/s, tx {{bytes .TxBytesPerSec}}/s</dd>
<dt>users</dt><dd>{{.Users}}</dd>
{{if .Processes}}<dt>top</dt><dd>{{range $i, $p := .Processes}}{{if $i}}, {{end}}{{$p.Name}} {{printf "%.1f" $p.CPU}}% {{bytes $p.RSS}}{{end}}</dd>{{end}}
{{if .Checks}}<dt>checks</dt><dd>{{range $i, $c := .Checks}}{{if $i}}, {{end}}<span class="{{$c.State}}">{{$c.Name}} {{$c.State}}</span>{{end}}</dd>{{end}}
{{if .Errors}}<dt>errors</dt><dd><pre>{{range .Errors}}{{.}}
{{end}}</pre></dd>{{end}}
{{end}}
</dl>
{{if gt (len .Statuses) 1}}<table><tr><th>time</th><th>load1</th><th>cpu</th><th>mem</th></tr>
{{range .Statuses}}<tr><td>{{clock .Time}}</td><td>{{printf "%.2f" .Load1}}</td><td>{{printf "%.0f" .CPU}}%</td><td>{{percent .MemUsed .MemTotal}}</td></tr>
{{end}}</table>{{end}}
</div>
{{end}}
<p><a href="status.json">status.json</a></p>
</body></html>
`))
})

// humanBytes writes n with a binary unit: 512 B, 1.5 KiB, 3.2 GiB.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
