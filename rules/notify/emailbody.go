package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// graphContentID names the graph inside the message (the HTML's cid:).
const graphContentID = "graph@prophasis"

// emailFields are what both bodies show, in order.
type emailField struct{ Name, Value string }

func emailFields(a Alert) []emailField {
	f := []emailField{
		{"Rule", a.Rule},
		{"Subject", strings.TrimSpace(a.Subject.Kind + " " + a.SubjectName())},
		{"State", a.State + " (was " + a.From + ")"},
		{"Since", a.Since.UTC().Format("2006-01-02 15:04:05 MST")},
	}
	if a.Reason != "" {
		f = append(f, emailField{"Reason", a.Reason})
	}
	if a.Repeat > 0 {
		f = append(f, emailField{"Repeat", fmt.Sprint(a.Repeat)})
	}
	if a.Escalation > 0 {
		f = append(f, emailField{"Escalation", fmt.Sprint(a.Escalation)})
	}
	if a.Ack != nil {
		f = append(f, emailField{"Acknowledged", fmt.Sprintf("by %s at %s: %s", a.Ack.By, a.Ack.At.UTC().Format("2006-01-02 15:04 MST"), a.Ack.Comment)})
	}
	for _, k := range sortedLabelKeys(a.Subject.Labels) {
		f = append(f, emailField{"Label " + k, a.Subject.Labels[k]})
	}
	return f
}

func sortedLabelKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var emailHTML = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family: sans-serif; color: #222;">
<h2 style="margin: 0 0 8px 0; padding: 8px 12px; background: {{.Color}}; color: #fff;">{{.Title}}</h2>
{{if .Graph}}<p><img src="cid:{{.CID}}" width="{{.Width}}" height="{{.Height}}" alt="{{.GraphTitle}}"></p>{{end}}
<table style="border-collapse: collapse;">
{{range .Fields}}<tr><th style="text-align: left; padding: 2px 12px 2px 0; vertical-align: top;">{{.Name}}</th><td style="padding: 2px 0;">{{.Value}}</td></tr>
{{end}}</table>
{{if .URL}}<p><a href="{{.URL}}">Open in Prophasis</a></p>{{end}}
<p style="color: #888; font-size: small;">Sent by Prophasis at {{.Time}}.{{if .Test}} This is a test notification.{{end}}</p>
</body></html>
`))

// message composes the email: headers, then multipart/alternative of plain
// text and HTML; with a graph, the HTML and the PNG it shows are a
// multipart/related.
func (e *Email) message(a Alert) ([]byte, error) {
	var png []byte
	if a.Graph != nil {
		// A graph that cannot be drawn (no values) leaves the picture out;
		// the words still go.
		png, _ = RenderGraph(a.Graph, GraphWidth, GraphHeight)
	}
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	to := make([]string, len(e.to))
	for i, t := range e.to {
		to[i] = t.String()
	}
	h("From", e.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", a.Title()))
	h("Date", e.now().Format(time.RFC1123Z))
	h("Message-ID", "<"+randomToken()+"@prophasis>")
	h("MIME-Version", "1.0")
	// RFC 3834: auto-responders must not answer.
	h("Auto-Submitted", "auto-generated")
	h("X-Prophasis-Alert-Id", mime.QEncoding.Encode("utf-8", a.ID))
	alt := multipart.NewWriter(&buf)
	h("Content-Type", `multipart/alternative; boundary="`+alt.Boundary()+`"`)
	buf.WriteString("\r\n")

	text, err := alt.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	if err := writeQP(text, plainBody(a)); err != nil {
		return nil, err
	}

	html, err := htmlBody(a, png != nil)
	if err != nil {
		return nil, err
	}
	htmlHeader := textproto.MIMEHeader{
		"Content-Type":              {"text/html; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	}
	if png == nil {
		w, err := alt.CreatePart(htmlHeader)
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, html); err != nil {
			return nil, err
		}
		if err := alt.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	relBoundary := "r" + randomToken()
	part, err := alt.CreatePart(textproto.MIMEHeader{"Content-Type": {`multipart/related; boundary="` + relBoundary + `"; type="text/html"`}})
	if err != nil {
		return nil, err
	}
	rel := multipart.NewWriter(part)
	if err := rel.SetBoundary(relBoundary); err != nil {
		return nil, err
	}
	w, err := rel.CreatePart(htmlHeader)
	if err != nil {
		return nil, err
	}
	if err := writeQP(w, html); err != nil {
		return nil, err
	}
	img, err := rel.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"image/png"},
		"Content-Transfer-Encoding": {"base64"},
		"Content-ID":                {"<" + graphContentID + ">"},
		"Content-Disposition":       {`inline; filename="graph.png"`},
	})
	if err != nil {
		return nil, err
	}
	if err := writeBase64Lines(img, png); err != nil {
		return nil, err
	}
	if err := rel.Close(); err != nil {
		return nil, err
	}
	if err := alt.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// plainBody is the text/plain part.
func plainBody(a Alert) string {
	var b strings.Builder
	b.WriteString(a.Title() + "\n\n")
	for _, f := range emailFields(a) {
		fmt.Fprintf(&b, "%-13s %s\n", f.Name+":", f.Value)
	}
	if a.URL != "" {
		fmt.Fprintf(&b, "%-13s %s\n", "Link:", a.URL)
	}
	fmt.Fprintf(&b, "\nSent by Prophasis at %s.", a.Time.UTC().Format("2006-01-02 15:04:05 MST"))
	if a.Test {
		b.WriteString(" This is a test notification.")
	}
	b.WriteString("\n")
	return b.String()
}

// htmlBody is the text/html part; html/template escapes every value and
// refuses javascript: links.
func htmlBody(a Alert, graph bool) (string, error) {
	color := stateColors[a.State]
	if a.Status == StatusResolved {
		color = stateColors["ok"]
	}
	if color == "" {
		color = stateColors["unknown"]
	}
	graphTitle := ""
	if a.Graph != nil {
		graphTitle = a.Graph.Title
	}
	var b strings.Builder
	err := emailHTML.Execute(&b, map[string]any{
		"Title": a.Title(), "Color": template.CSS(color), "Graph": graph, "CID": graphContentID,
		"Width": GraphWidth, "Height": GraphHeight, "GraphTitle": graphTitle,
		"Fields": emailFields(a), "URL": a.URL, "Test": a.Test,
		"Time": a.Time.UTC().Format("2006-01-02 15:04:05 MST"),
	})
	return b.String(), err
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// writeBase64Lines writes b in base64, 76 characters a line (RFC 2045).
func writeBase64Lines(w io.Writer, b []byte) error {
	s := base64.StdEncoding.EncodeToString(b)
	for len(s) > 0 {
		n := min(76, len(s))
		if _, err := io.WriteString(w, s[:n]+"\r\n"); err != nil {
			return err
		}
		s = s[n:]
	}
	return nil
}

func randomToken() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
