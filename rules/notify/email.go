package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prophasis/prophasis/store"
)

// EmailConfig configures email over SMTP.
type EmailConfig struct {
	// Host and Port are the SMTP server's (Port 0 means 465 with TLS,
	// 587 otherwise).
	Host string `json:"host" yaml:"host"`
	Port int    `json:"port,omitempty" yaml:"port,omitempty"`
	// From is the sender address; To are the recipients (at least one,
	// at most 100).
	From string   `json:"from" yaml:"from"`
	To   []string `json:"to" yaml:"to"`
	// Username and Password authenticate (AUTH PLAIN, or LOGIN when the
	// server offers only that), only over TLS or to localhost.
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	Password Secret `json:"password,omitempty" yaml:"password,omitempty"`
	// StartTLS is "auto" (the default: upgrade when the server offers
	// it), "always" (fail unless it does) or "never".
	StartTLS string `json:"starttls,omitempty" yaml:"starttls,omitempty"`
	// TLS is implicit TLS from the first byte (SMTPS, port 465); StartTLS
	// is then moot.
	TLS bool `json:"tls,omitempty" yaml:"tls,omitempty"`
	// CAFile is a PEM file of the CAs that sign the server's certificate,
	// for a private CA; empty means the system's.
	CAFile string `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`
	// Hello is the name given in EHLO; empty means "localhost".
	Hello string `json:"hello,omitempty" yaml:"hello,omitempty"`
	// Timeout bounds one delivery, connection to QUIT; 0 means 30 s, at
	// most 5 m.
	Timeout store.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Limits of the email module.
const (
	defaultEmailTimeout = 30 * time.Second
	maxEmailTimeout     = 5 * time.Minute
	maxRecipients       = 100
)

// StartTLS modes.
var startTLSModes = []string{"auto", "always", "never"}

// Validate checks the settings.
func (c EmailConfig) Validate() error {
	if c.Host == "" {
		return errors.New("host is required")
	}
	if strings.ContainsAny(c.Host, " /\r\n") || len(c.Host) > 253 {
		return fmt.Errorf("host %q is not a host name or address", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port %d must be between 1 and 65535", c.Port)
	}
	if _, err := mailAddress("from", c.From); err != nil {
		return err
	}
	if len(c.To) == 0 {
		return errors.New("to: at least one recipient is required")
	}
	if len(c.To) > maxRecipients {
		return fmt.Errorf("to: %d recipients; the limit is %d", len(c.To), maxRecipients)
	}
	for i, t := range c.To {
		if _, err := mailAddress(fmt.Sprintf("to[%d]", i), t); err != nil {
			return err
		}
	}
	if c.StartTLS != "" && !slices.Contains(startTLSModes, c.StartTLS) {
		return fmt.Errorf("starttls %q must be one of %s", c.StartTLS, strings.Join(startTLSModes, ", "))
	}
	if c.TLS && c.StartTLS == "never" {
		return errors.New(`tls (implicit TLS) and starttls "never" contradict each other`)
	}
	if err := checkSecret("password", c.Password); err != nil {
		return err
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("password needs a username")
	}
	if strings.ContainsAny(c.Username, "\r\n\x00") || strings.ContainsAny(c.Hello, " \r\n\x00") {
		return errors.New("username and hello must be one line of text (hello without spaces)")
	}
	if c.CAFile != "" {
		if _, err := loadCAFile(c.CAFile); err != nil {
			return err
		}
	}
	_, err := timeoutOr("timeout", c.Timeout, defaultEmailTimeout, maxEmailTimeout)
	return err
}

// mailAddress parses one address ("Ops <ops@example.org>" or a bare one).
func mailAddress(field, s string) (*mail.Address, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is required", field)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not an email address: %w", field, s, err)
	}
	return a, nil
}

// maxCAFileBytes bounds a CA file: a bundle of every public CA is ~200 KiB.
const maxCAFileBytes = 1 << 20

// loadCAFile reads a PEM bundle. Only a regular file of bounded size: the
// path comes from a user, and /dev/zero or a FIFO must not hang the save.
func loadCAFile(path string) (*x509.CertPool, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("ca_file %q must be an absolute path", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	// /proc and /sys files are "regular" of size 0 and may block.
	if !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > maxCAFileBytes {
		return nil, fmt.Errorf("ca_file %s must be a regular file of 1 to %d bytes", path, maxCAFileBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCAFileBytes))
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// Email is the email notifier.
type Email struct {
	cfg     EmailConfig
	addr    string
	from    *mail.Address
	to      []*mail.Address
	tls     *tls.Config
	timeout time.Duration
	// now stamps the Date header; tests fix it.
	now func() time.Time
}

// NewEmail validates c and returns its notifier.
func NewEmail(c EmailConfig) (*Email, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	e := &Email{cfg: c, now: time.Now}
	if e.cfg.StartTLS == "" {
		e.cfg.StartTLS = "auto"
	}
	if e.cfg.Hello == "" {
		e.cfg.Hello = "localhost"
	}
	port := c.Port
	if port == 0 {
		port = 587
		if c.TLS {
			port = 465
		}
	}
	e.addr = net.JoinHostPort(c.Host, strconv.Itoa(port))
	e.from, _ = mailAddress("from", c.From)
	for _, t := range c.To {
		a, _ := mailAddress("to", t)
		e.to = append(e.to, a)
	}
	e.tls = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := loadCAFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
		e.tls.RootCAs = pool
	}
	e.timeout, _ = timeoutOr("timeout", c.Timeout, defaultEmailTimeout, maxEmailTimeout)
	return e, nil
}

// Payload implements Payloader: the message as composed for a, without the
// picture (which would make every entry of the alert history tens of
// kilobytes); each try has its own Message-ID and MIME boundaries. The
// password is never part of a message.
func (e *Email) Payload(a Alert) ([]byte, error) {
	a.Graph = nil
	return e.message(a)
}

// Notify implements Notifier: one SMTP session per alert. 4xx replies and
// network errors are worth retrying; 5xx replies (a refused recipient,
// failed authentication) and TLS failures are not.
func (e *Email) Notify(ctx context.Context, a Alert) (bool, error) {
	msg, err := e.message(a)
	if err != nil {
		return false, fmt.Errorf("email: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	retry, err := e.send(ctx, msg)
	if err != nil {
		// The deadline and a cancellation show as I/O timeouts; say what
		// happened.
		if errors.Is(ctx.Err(), context.Canceled) {
			return false, fmt.Errorf("email: %s: %w", e.addr, ctx.Err())
		}
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return true, fmt.Errorf("email: %s: gave up after %s: %w", e.addr, store.Duration(e.timeout), err)
		}
		return retry, fmt.Errorf("email: %s: %w", e.addr, err)
	}
	return false, nil
}

// send runs the SMTP session.
func (e *Email) send(ctx context.Context, msg []byte) (retry bool, err error) {
	d := &net.Dialer{}
	var conn net.Conn
	if e.cfg.TLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: e.tls}).DialContext(ctx, "tcp", e.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", e.addr)
	}
	if err != nil {
		return !isTLSError(err), fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	// Every read and write of the session stops at the deadline or when
	// ctx ends: a server that hangs mid-session cannot hold us.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		return smtpRetry(err), fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(e.cfg.Hello); err != nil {
		return smtpRetry(err), fmt.Errorf("EHLO: %w", err)
	}
	if !e.cfg.TLS && e.cfg.StartTLS != "never" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(e.tls); err != nil {
				return !isTLSError(err) && smtpRetry(err), fmt.Errorf("STARTTLS: %w", err)
			}
		} else if e.cfg.StartTLS == "always" {
			return false, errors.New(`the server does not offer STARTTLS and starttls is "always"`)
		}
	}
	if e.cfg.Username != "" {
		auth, err := e.auth(c)
		if err != nil {
			return false, err
		}
		if err := c.Auth(auth); err != nil {
			return smtpRetry(err), fmt.Errorf("AUTH as %s: %w", e.cfg.Username, err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return smtpRetry(err), fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, t := range e.to {
		if err := c.Rcpt(t.Address); err != nil {
			return smtpRetry(err), fmt.Errorf("RCPT TO %s: %w", t.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpRetry(err), fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return true, fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return smtpRetry(err), fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	return false, nil
}

// auth picks PLAIN, or LOGIN when the server offers only that.
func (e *Email) auth(c *smtp.Client) (smtp.Auth, error) {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return nil, errors.New("a username is set but the server offers no AUTH (is STARTTLS needed first?)")
	}
	list := strings.Fields(strings.ToUpper(mechs))
	switch {
	case slices.Contains(list, "PLAIN"):
		return smtp.PlainAuth("", e.cfg.Username, string(e.cfg.Password), e.cfg.Host), nil
	case slices.Contains(list, "LOGIN"):
		return &loginAuth{user: e.cfg.Username, pass: string(e.cfg.Password), host: e.cfg.Host}, nil
	}
	return nil, fmt.Errorf("the server offers AUTH %s; Prophasis speaks PLAIN and LOGIN", mechs)
}

// smtpRetry says whether an SMTP error is transient: 4xx replies and
// anything that is not a reply (the connection broke).
func smtpRetry(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	return !isTLSError(err)
}

// isTLSError reports certificate and handshake failures, which retrying
// does not fix.
func isTLSError(err error) bool {
	var (
		ve  *tls.CertificateVerificationError
		ue  x509.UnknownAuthorityError
		he  x509.HostnameError
		ce  x509.CertificateInvalidError
		rec tls.RecordHeaderError
	)
	return errors.As(err, &ve) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) || errors.As(err, &rec)
}

// loginAuth is AUTH LOGIN, which net/smtp lacks and some servers
// (Exchange Online) offer instead of PLAIN. Like smtp.PlainAuth it refuses
// to send the password unencrypted except to localhost.
type loginAuth struct {
	user, pass, host string
	step             int
}

func (a *loginAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS && s.Name != "localhost" && s.Name != "127.0.0.1" && s.Name != "::1" {
		return "", nil, errors.New("unencrypted connection")
	}
	if s.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected LOGIN challenge")
}
