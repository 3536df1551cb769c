package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prophasis/prophasis/store"
)

// WebhookConfig configures a webhook: the Alert as JSON POSTed to URL.
type WebhookConfig struct {
	// URL is the receiver, http:// or https://.
	URL string `json:"url" yaml:"url"`
	// Headers are sent with every request (an Authorization token, say);
	// their values are secrets.
	Headers map[string]Secret `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Secret, when set, signs the body: the header SignatureHeader is
	// "sha256=" and the hex HMAC-SHA256 of the body under Secret.
	Secret Secret `json:"secret,omitempty" yaml:"secret,omitempty"`
	// Timeout bounds one request; 0 means 10 s, at most 2 m.
	Timeout store.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// SignatureHeader carries a webhook body's HMAC-SHA256 signature.
const SignatureHeader = "X-Prophasis-Signature"

// maxHeaders bounds WebhookConfig.Headers.
const maxHeaders = 32

// reservedHeaders are set by the webhook itself.
var reservedHeaders = []string{"Content-Type", "Content-Length", "Host", SignatureHeader}

// Validate checks the settings; errors name fields, never secrets.
func (c WebhookConfig) Validate() error {
	if _, err := checkHTTPURL("url", c.URL); err != nil {
		return err
	}
	if len(c.Headers) > maxHeaders {
		return fmt.Errorf("headers: %d headers; the limit is %d", len(c.Headers), maxHeaders)
	}
	for k, v := range c.Headers {
		if !validHeaderName(k) {
			return fmt.Errorf("headers: %q is not a valid header name", k)
		}
		for _, r := range reservedHeaders {
			if strings.EqualFold(k, r) {
				return fmt.Errorf("headers: %s is set by the webhook itself", r)
			}
		}
		if !validHeaderValue(string(v)) {
			return fmt.Errorf("headers: the value of %s is not a valid header value", k)
		}
		if err := checkSecret("headers: the value of "+k, v); err != nil {
			return err
		}
	}
	if err := checkSecret("secret", c.Secret); err != nil {
		return err
	}
	_, err := timeoutOr("timeout", c.Timeout, defaultHTTPTimeout, maxHTTPTimeout)
	return err
}

// Webhook is the webhook notifier.
type Webhook struct {
	cfg    WebhookConfig
	target string // the URL without secrets, for errors
	client *http.Client
	header http.Header
}

// NewWebhook validates c and returns its notifier.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	p, _ := checkHTTPURL("url", c.URL)
	timeout, _ := timeoutOr("timeout", c.Timeout, defaultHTTPTimeout, maxHTTPTimeout)
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, string(v))
	}
	return &Webhook{cfg: c, target: redactURL(p), client: newHTTPClient(timeout), header: h}, nil
}

// Payload implements Payloader: the body, which holds no secret.
func (w *Webhook) Payload(a Alert) ([]byte, error) { return json.Marshal(a) }

// Notify implements Notifier.
func (w *Webhook) Notify(ctx context.Context, a Alert) (bool, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("webhook: encode alert: %w", err)
	}
	h := w.header.Clone()
	if w.cfg.Secret != "" {
		h.Set(SignatureHeader, Sign([]byte(w.cfg.Secret), body))
	}
	h.Set("X-Prophasis-Alert-Id", a.ID)
	h.Set("X-Prophasis-Time", a.Time.UTC().Format(time.RFC3339))
	retry, err := postJSON(ctx, w.client, w.cfg.URL, h, body, w.target)
	if err != nil {
		return retry, fmt.Errorf("webhook: %w", err)
	}
	return false, nil
}

// Sign returns the SignatureHeader value of body under key:
// "sha256=" + hex(HMAC-SHA256(key, body)).
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether sig (a SignatureHeader value) is body's
// signature under key, in constant time.
func VerifySignature(key, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(key, body)), []byte(sig))
}

// validHeaderName reports whether k is an HTTP token (RFC 9110).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > '~' || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v holds no control characters but tab.
func validHeaderValue(v string) bool {
	for _, r := range v {
		if r == 0x7f || r < ' ' && r != '\t' {
			return false
		}
	}
	return true
}
