package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/store"
)

// receiver is a real HTTP server that records requests and answers with
// the statuses it is given, then 200.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.headers = append(r.headers, req.Header.Clone())
	code := http.StatusOK
	if len(r.statuses) > 0 {
		code, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	w.WriteHeader(code)
	io.WriteString(w, "answer\x00 with\ncontrol characters")
}

func (r *receiver) requests() ([][]byte, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies, r.headers
}

func TestWebhook(t *testing.T) {
	r := newReceiver(t)
	w, err := NewWebhook(WebhookConfig{URL: r.srv.URL + "/in?token=tok3n", Secret: "s3cr3t", Headers: map[string]Secret{"Authorization": "Bearer tok3n"}})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	if retry, err := w.Notify(context.Background(), a); err != nil || retry {
		t.Fatalf("Notify: %v %v", retry, err)
	}
	bodies, headers := r.requests()
	if len(bodies) != 1 {
		t.Fatalf("%d requests", len(bodies))
	}
	var got Alert
	if err := json.Unmarshal(bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.State != "critical" || got.Subject.Host != "web1" || !got.Since.Equal(a.Since) {
		t.Fatalf("body %s", bodies[0])
	}
	h := headers[0]
	if h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "Bearer tok3n" || h.Get("X-Prophasis-Alert-Id") != a.ID {
		t.Fatalf("headers %v", h)
	}
	sig := h.Get(SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") || !VerifySignature([]byte("s3cr3t"), bodies[0], sig) {
		t.Fatalf("signature %q does not verify", sig)
	}
	if VerifySignature([]byte("other"), bodies[0], sig) || VerifySignature([]byte("s3cr3t"), append(bodies[0], ' '), sig) {
		t.Fatal("a signature verified under the wrong key or body")
	}
	// The example of docs/alerting.md, checked there with Python and openssl.
	if got := Sign([]byte("key"), []byte("{}")); got != "sha256=a777724d943eb48dc69bca8a4a6d57a04db3f9ec7e1de4e581e860265bdf3032" {
		t.Fatalf("Sign(key, {}) = %s", got)
	}
	// Without a secret, no signature header.
	w2, _ := NewWebhook(WebhookConfig{URL: r.srv.URL})
	w2.Notify(context.Background(), a)
	if _, headers := r.requests(); headers[1].Get(SignatureHeader) != "" {
		t.Fatal("unsigned webhook sent a signature")
	}
}

func TestWebhookStatuses(t *testing.T) {
	f := func(code int, wantRetry bool) {
		t.Helper()
		r := newReceiver(t, code)
		w, _ := NewWebhook(WebhookConfig{URL: r.srv.URL + "/?token=tok3n", Secret: "s3cr3t"})
		retry, err := w.Notify(context.Background(), testAlert())
		if err == nil {
			t.Fatalf("%d: no error", code)
		}
		if retry != wantRetry {
			t.Fatalf("%d: retry %v, want %v (%v)", code, retry, wantRetry, err)
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Code != code {
			t.Fatalf("%d: error %v is not a StatusError", code, err)
		}
		if strings.Contains(err.Error(), "tok3n") || strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("error quotes a secret: %v", err)
		}
		if !strings.Contains(err.Error(), "answer with control characters") {
			t.Fatalf("error lacks the cleaned response: %v", err)
		}
	}
	f(500, true)
	f(503, true)
	f(429, true)
	f(400, false)
	f(404, false)
	f(301, false) // redirects are not followed
}

func TestWebhookNetworkErrors(t *testing.T) {
	// A port nobody listens on: refused, worth retrying.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	w, _ := NewWebhook(WebhookConfig{URL: "http://" + addr + "/p?token=tok3n"})
	retry, err := w.Notify(context.Background(), testAlert())
	if err == nil || !retry || strings.Contains(err.Error(), "tok3n") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("refused: %v %v", retry, err)
	}

	// A receiver that never answers: the module's timeout bounds the wait.
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	w, _ = NewWebhook(WebhookConfig{URL: srv.URL, Timeout: store.Duration(200 * time.Millisecond)})
	start := time.Now()
	retry, err = w.Notify(context.Background(), testAlert())
	if took := time.Since(start); err == nil || !retry || took > 5*time.Second {
		t.Fatalf("hanging receiver: %v %v after %s", retry, err, took)
	}

	// The caller cancelling is not worth retrying.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if retry, err := w.Notify(ctx, testAlert()); err == nil || retry {
		t.Fatalf("cancelled: %v %v", retry, err)
	}
}

func TestSlack(t *testing.T) {
	r := newReceiver(t, 404)
	s, err := NewSlack(SlackConfig{URL: Secret(r.srv.URL + "/services/T000/B000/XXXX"), Channel: "#ops", Username: "prophasis"})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := s.Notify(context.Background(), testAlert())
	if err == nil || retry || strings.Contains(err.Error(), "T000") || strings.Contains(err.Error(), "XXXX") {
		t.Fatalf("404: %v %v (the URL's path is the secret)", retry, err)
	}
	a := testAlert()
	a.Status, a.State, a.From = StatusResolved, "ok", "critical"
	if _, err := s.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	bodies, _ := r.requests()
	var m struct {
		Channel, Username, Text string
		Attachments             []struct {
			Color, Title, Text string
			TitleLink          string `json:"title_link"`
			Fields             []struct {
				Title, Value string
				Short        bool
			}
		}
	}
	if err := json.Unmarshal(bodies[1], &m); err != nil {
		t.Fatal(err)
	}
	if m.Channel != "#ops" || m.Username != "prophasis" || m.Text != "[RESOLVED] web1 disk/res: critical → ok" ||
		len(m.Attachments) != 1 || m.Attachments[0].Color != "#2eb886" || m.Attachments[0].Text != "disk 97% full" ||
		m.Attachments[0].TitleLink != a.URL || m.Attachments[0].Title != "web1 disk/res" {
		t.Fatalf("message %s", bodies[1])
	}
	fields := map[string]string{}
	for _, f := range m.Attachments[0].Fields {
		fields[f.Title] = f.Value
	}
	if fields["State"] != "critical → ok" || fields["Host"] != "web1" || fields["Rule"] != "disk-full" || fields["Check"] != "disk/res" {
		t.Fatalf("fields %v", fields)
	}
	p, _ := s.Payload(a)
	if string(p) != string(bodies[1]) {
		t.Fatalf("Payload differs from what was sent:\n%s\n%s", p, bodies[1])
	}
}
