package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The helpers of TestAlertingEndToEnd: the three real receivers an alert
// goes to — an SMTP server, a webhook receiver and Debian's Alertmanager —
// each started on loopback and keeping what it got.

// smtpSink is a real SMTP server (go-smtp) on loopback, plain text, that
// requires AUTH PLAIN with user and pass and keeps every message.
type smtpSink struct {
	port int
	user string
	pass string

	mu   sync.Mutex
	msgs []smtpMsg
}

// smtpMsg is one accepted message and the user that sent it.
type smtpMsg struct {
	user string
	to   []string
	data []byte
}

func startSMTP(t *testing.T, user, pass string) *smtpSink {
	t.Helper()
	ms := &smtpSink{user: user, pass: pass}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{ms: ms}, nil }))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // plain text on loopback; Prophasis allows AUTH to 127.0.0.1
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.MaxMessageBytes = 4 << 20
	s.ErrorLog = quietLog{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	ms.port, _ = strconv.Atoi(port)
	return ms
}

func (ms *smtpSink) messages() []smtpMsg {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]smtpMsg(nil), ms.msgs...)
}

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

type smtpSession struct {
	ms   *smtpSink
	user string
	to   []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, errors.New("unsupported mechanism")
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.ms.user || pass != s.ms.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ms.mu.Lock()
	s.ms.msgs = append(s.ms.msgs, smtpMsg{user: s.user, to: s.to, data: b})
	s.ms.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.to = nil }
func (s *smtpSession) Logout() error { return nil }

// email is a received message as a mail client shows it.
type email struct {
	subject string
	text    string // the plain-text and HTML parts, concatenated
	pngs    int    // parts that are valid PNG images
	raw     string
}

// parseEmail decodes a message: its subject, its text parts (transfer
// encodings undone) and how many of its parts are decodable PNGs.
func parseEmail(t *testing.T, data []byte) email {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("a received email does not parse: %v\n%s", err, data)
	}
	e := email{raw: string(data)}
	if e.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	var walk func(contentType, encoding string, body io.Reader)
	walk = func(contentType, encoding string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			t.Fatalf("content type %q: %v", contentType, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart() // undoes quoted-printable
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("multipart: %v", err)
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
		b, _ := io.ReadAll(body)
		if strings.EqualFold(encoding, "base64") {
			dec, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
				if r == '\r' || r == '\n' {
					return -1
				}
				return r
			}, string(b)))
			if err != nil {
				t.Fatalf("base64 part %s: %v", mt, err)
			}
			b = dec
		}
		switch {
		case mt == "image/png":
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Fatalf("the email's PNG does not decode: %v", err)
			}
			e.pngs++
		case strings.HasPrefix(mt, "text/"):
			e.text += string(b) + "\n"
		}
	}
	ct := msg.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	walk(ct, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return e
}

// hookAlert is the webhook's alert JSON (docs/alerting.md), the fields the
// test reads.
type hookAlert struct {
	ID      string `json:"id"`
	Rule    string `json:"rule"`
	Status  string `json:"status"`
	State   string `json:"state"`
	From    string `json:"from"`
	Reason  string `json:"reason"`
	Repeat  int    `json:"repeat"`
	Subject struct {
		Kind    string `json:"kind"`
		Host    string `json:"host"`
		Plugin  string `json:"plugin"`
		Check   string `json:"check"`
		Service string `json:"service"`
	} `json:"subject"`
	Ack *struct {
		By      string `json:"by"`
		Comment string `json:"comment"`
	} `json:"ack"`
}

// hookSink is a webhook receiver that checks each request's HMAC
// signature with the module's secret and keeps the alerts (and the raw
// bodies, to look for secrets).
type hookSink struct {
	URL    string
	secret []byte

	mu     sync.Mutex
	alerts []hookAlert
	bodies []string
	bad    []string // what was wrong with requests refused
}

func startHook(t *testing.T, secret string) *hookSink {
	t.Helper()
	h := &hookSink{secret: []byte(secret)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		refuse := func(why string) {
			h.mu.Lock()
			h.bad = append(h.bad, why)
			h.mu.Unlock()
			http.Error(w, why, http.StatusBadRequest)
		}
		mac := hmac.New(sha256.New, h.secret)
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if got := r.Header.Get("X-Prophasis-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
			refuse("bad signature " + strconv.Quote(got) + " on " + string(body))
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			refuse("content type " + ct)
			return
		}
		var a hookAlert
		if err := json.Unmarshal(body, &a); err != nil {
			refuse(err.Error())
			return
		}
		if r.Header.Get("X-Prophasis-Alert-Id") != a.ID {
			refuse("X-Prophasis-Alert-Id " + r.Header.Get("X-Prophasis-Alert-Id") + " for alert " + a.ID)
			return
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, a)
		h.bodies = append(h.bodies, string(body))
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

func (h *hookSink) received() (alerts []hookAlert, bodies, bad []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookAlert(nil), h.alerts...), append([]string(nil), h.bodies...), append([]string(nil), h.bad...)
}

// alertmanagerBin is Debian's Alertmanager (package prometheus-alertmanager,
// which .ci/run installs). The test needs it: the compatibility it checks
// is never silently untested.
const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

// startAM runs the real Alertmanager on loopback until the test ends and
// returns its base URL.
func startAM(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath(alertmanagerBin); err != nil {
		t.Fatalf("Alertmanager is required for the alerting end-to-end test (apt-get install prometheus-alertmanager): %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(alertmanagerBin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	out, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("Alertmanager not ready at %s: %v\n%s", base, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// amAlert is an alert as Alertmanager's GET /api/v2/alerts shows it.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// amList returns Alertmanager's alerts.
func amList(t *testing.T, base string) []amAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []amAlert
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list
}
