package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"image/png"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prophasis/prophasis/store"
)

// testCA is a CA and a server certificate it signed for 127.0.0.1, with
// the CA's PEM in a file for EmailConfig.CAFile.
type testCA struct {
	caFile string
	server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	return testCA{caFile: p, server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// mailServer is a real SMTP server (go-smtp) on loopback that requires
// AUTH when user is set and records what it accepts.
type mailServer struct {
	addr  string
	port  int
	user  string
	pass  string
	mechs []string
	// rcptErr, if set, refuses every recipient.
	rcptErr error

	mu   sync.Mutex
	msgs []received
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

type serverOpts struct {
	tls      *tls.Config // STARTTLS offered when set
	implicit bool        // TLS from the first byte
	user     string
	pass     string
	mechs    []string // default PLAIN
}

func newMailServer(t *testing.T, o serverOpts) *mailServer {
	t.Helper()
	ms := &mailServer{user: o.user, pass: o.pass, mechs: o.mechs}
	if ms.mechs == nil {
		ms.mechs = []string{sasl.Plain}
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &mailSession{ms: ms, c: c}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.MaxMessageBytes = 1 << 20
	s.ErrorLog = nopLogger{}
	var l net.Listener
	var err error
	if o.implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", o.tls)
	} else {
		s.TLSConfig = o.tls
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	ms.addr = l.Addr().String()
	_, port, _ := net.SplitHostPort(ms.addr)
	ms.port, _ = strconv.Atoi(port)
	return ms
}

func (ms *mailServer) received() []received {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]received(nil), ms.msgs...)
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type mailSession struct {
	ms   *mailServer
	c    *smtp.Conn
	user string
	from string
	to   []string
}

func (s *mailSession) AuthMechanisms() []string { return s.ms.mechs }

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.ms.user || pass != s.ms.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, errors.New("unsupported mechanism")
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.ms.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ms.rcptErr != nil {
		return s.ms.rcptErr
	}
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.ms.mu.Lock()
	s.ms.msgs = append(s.ms.msgs, received{from: s.from, to: s.to, data: b, tls: isTLS, user: s.user})
	s.ms.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if resp != nil { // an initial response is the username
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

func emailConfig(ms *mailServer, ca testCA) EmailConfig {
	return EmailConfig{
		Host: "127.0.0.1", Port: ms.port, From: "Prophasis <prophasis@example.org>",
		To: []string{"ops@example.org", "Night Shift <night@example.org>"}, Username: "alerts", Password: "hunter2",
		CAFile: ca.caFile, Timeout: store.Duration(10 * time.Second),
	}
}

func TestEmailSTARTTLSAndAuth(t *testing.T) {
	ca := newTestCA(t)
	ms := newMailServer(t, serverOpts{tls: &tls.Config{Certificates: []tls.Certificate{ca.server}}, user: "alerts", pass: "hunter2"})
	e, err := NewEmail(emailConfig(ms, ca))
	if err != nil {
		t.Fatal(err)
	}
	a := TestAlert(time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC))
	a.Test = false
	a.URL = "https://prophasis.example.org/hosts/test-host"
	if retry, err := e.Notify(context.Background(), a); err != nil {
		t.Fatalf("Notify: %v (retry %v)", err, retry)
	}
	got := ms.received()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := got[0]
	if !m.tls || m.user != "alerts" || m.from != "prophasis@example.org" || strings.Join(m.to, ",") != "ops@example.org,night@example.org" {
		t.Fatalf("envelope: tls %v user %q from %q to %v", m.tls, m.user, m.from, m.to)
	}
	if bytes.Contains(m.data, []byte("hunter2")) {
		t.Fatal("the message contains the password")
	}
	checkMessage(t, m.data, a, true)

	// The history's payload is the message without the picture.
	p, err := e.Payload(a)
	if err != nil || bytes.Contains(p, []byte("image/png")) || bytes.Contains(p, []byte("hunter2")) {
		t.Fatalf("payload: %v\n%s", err, p)
	}
	checkMessage(t, p, Alert{ID: a.ID, Rule: a.Rule, Status: a.Status, State: a.State, From: a.From, Subject: a.Subject,
		Since: a.Since, Time: a.Time, Reason: a.Reason, URL: a.URL}, false)
}

// messageParts parses a message as a mail client would: its decoded
// subject, plain text, HTML and graph (nil when there is none).
func messageParts(t *testing.T, data []byte) (subject string, plain, html, pic []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Auto-Submitted") != "auto-generated" || msg.Header.Get("Message-Id") == "" || msg.Header.Get("Date") == "" {
		t.Fatalf("headers %v", msg.Header)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", mt, err)
	}
	alt := multipart.NewReader(msg.Body, params["boundary"])
	first, err := alt.NextPart() // decodes quoted-printable
	if err != nil || !strings.HasPrefix(first.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("first part: %v %v", err, first.Header)
	}
	plain, _ = io.ReadAll(first)
	second, err := alt.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ = mime.ParseMediaType(second.Header.Get("Content-Type"))
	switch mt {
	case "text/html":
		html, _ = io.ReadAll(second)
	case "multipart/related":
		rel := multipart.NewReader(second, params["boundary"])
		hp, err := rel.NextPart()
		if err != nil || !strings.HasPrefix(hp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("related part: %v %v", err, hp.Header)
		}
		html, _ = io.ReadAll(hp)
		img, err := rel.NextPart()
		if err != nil || img.Header.Get("Content-Type") != "image/png" || img.Header.Get("Content-Id") != "<graph@prophasis>" {
			t.Fatalf("image part: %v %v", err, img.Header)
		}
		b64, _ := io.ReadAll(img)
		if pic, err = decodeBase64Lines(b64); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("second part is %s", mt)
	}
	if _, err := alt.NextPart(); err != io.EOF {
		t.Fatalf("a third part: %v", err)
	}
	return subject, plain, html, pic
}

// checkMessage checks the message sent for a.
func checkMessage(t *testing.T, data []byte, a Alert, wantGraph bool) {
	t.Helper()
	subject, text, html, pic := messageParts(t, data)
	if subject != a.Title() {
		t.Fatalf("subject %q, want %q", subject, a.Title())
	}
	for _, want := range []string{a.Title(), "Rule:         " + a.Rule, "Reason:       " + a.Reason, "Link:         " + a.URL} {
		if !strings.Contains(string(text), want) {
			t.Fatalf("plain text lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"<h2", a.Rule, a.Reason, `href="` + a.URL + `"`} {
		if !bytes.Contains(html, []byte(want)) {
			t.Fatalf("HTML lacks %q:\n%s", want, html)
		}
	}
	if !wantGraph {
		if pic != nil {
			t.Fatal("unexpected graph")
		}
		return
	}
	img, err := png.Decode(bytes.NewReader(pic))
	if err != nil || img.Bounds().Dx() != GraphWidth || img.Bounds().Dy() != GraphHeight {
		t.Fatalf("graph: %v", err)
	}
	if !bytes.Contains(html, []byte(`src="cid:graph@prophasis"`)) {
		t.Fatalf("the HTML does not show the graph:\n%s", html)
	}
}

func TestEmailNoGraphAndEscaping(t *testing.T) {
	ms := newMailServer(t, serverOpts{})
	e, err := NewEmail(EmailConfig{Host: "127.0.0.1", Port: ms.port, From: "p@example.org", To: []string{"ops@example.org"}, StartTLS: "never"})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	a.Reason = `<script>alert(1)</script> & "quotes"`
	a.URL = "javascript:alert(1)"
	if _, err := e.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	m := ms.received()[0]
	if m.tls {
		t.Fatal(`starttls "never" used TLS`)
	}
	_, text, html, pic := messageParts(t, m.data)
	if pic != nil || bytes.Contains(m.data, []byte("multipart/related")) {
		t.Fatal("an alert without a graph has a picture")
	}
	if !bytes.Contains(html, []byte("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;")) || bytes.Contains(html, []byte("<script>")) {
		t.Fatalf("HTML not escaped:\n%s", html)
	}
	if !bytes.Contains(html, []byte(`href="#ZgotmplZ"`)) {
		t.Fatalf("a javascript: link survived:\n%s", html)
	}
	if !bytes.Contains(text, []byte(a.Reason)) {
		t.Fatalf("the plain text lacks the reason as it is:\n%s", text)
	}
}

func TestEmailImplicitTLSAndLogin(t *testing.T) {
	ca := newTestCA(t)
	ms := newMailServer(t, serverOpts{tls: &tls.Config{Certificates: []tls.Certificate{ca.server}}, implicit: true,
		user: "alerts", pass: "hunter2", mechs: []string{sasl.Login}})
	c := emailConfig(ms, ca)
	c.TLS = true
	e, err := NewEmail(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if got := ms.received(); len(got) != 1 || !got[0].tls || got[0].user != "alerts" {
		t.Fatalf("received %+v", got)
	}
}

func TestEmailFailures(t *testing.T) {
	ca := newTestCA(t)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{ca.server}}
	f := func(name string, c EmailConfig, wantRetry bool, wantErr string) {
		t.Helper()
		e, err := NewEmail(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		start := time.Now()
		retry, err := e.Notify(context.Background(), testAlert())
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if retry != wantRetry || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%s: retry %v error %q, want retry %v and %q", name, retry, err, wantRetry, wantErr)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "wrong-pass") {
			t.Fatalf("%s: error %q quotes the password", name, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%s: took %s", name, took)
		}
	}

	ms := newMailServer(t, serverOpts{tls: tlsConf, user: "alerts", pass: "hunter2"})
	c := emailConfig(ms, ca)
	c.Password = "wrong-pass"
	f("wrong password", c, false, "535")

	c = emailConfig(ms, ca)
	c.CAFile = ""
	f("untrusted certificate", c, false, "certificate")

	plain := newMailServer(t, serverOpts{})
	c = emailConfig(plain, ca)
	c.StartTLS = "always"
	f("no STARTTLS", c, false, `does not offer STARTTLS and starttls is "always"`)
	c.StartTLS = "auto"
	f("no AUTH without TLS", c, false, "offers no AUTH")

	temp := newMailServer(t, serverOpts{})
	temp.rcptErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	c = EmailConfig{Host: "127.0.0.1", Port: temp.port, From: "p@example.org", To: []string{"a@example.org"}}
	f("4xx", c, true, "451")
	temp.rcptErr = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	f("5xx", c, false, "550")

	// A server that accepts and then says nothing: bounded by the timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	f("hanging server", EmailConfig{Host: "127.0.0.1", Port: p, From: "p@example.org", To: []string{"a@example.org"},
		Timeout: store.Duration(300 * time.Millisecond)}, true, "gave up after 300ms")

	// Nobody listening.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	_, port, _ = net.SplitHostPort(l2.Addr().String())
	l2.Close()
	p, _ = strconv.Atoi(port)
	f("refused", EmailConfig{Host: "127.0.0.1", Port: p, From: "p@example.org", To: []string{"a@example.org"}}, true, "refused")
}

func decodeBase64Lines(b []byte) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
}
