package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Limits of the HTTP modules.
const (
	// defaultHTTPTimeout bounds one POST when the module sets none: long
	// enough for a slow chat service, short enough that retries start soon.
	defaultHTTPTimeout = 10 * time.Second
	maxHTTPTimeout     = 2 * time.Minute
	// maxResponseBytes is how much of a response is read (then the
	// connection is dropped): receivers answer with a few bytes.
	maxResponseBytes = 64 << 10
	// maxErrorBody is how much of an error response an error quotes.
	maxErrorBody = 200
)

// StatusError is a response outside 2xx.
type StatusError struct {
	// Target names what was called, without secrets.
	Target string
	Code   int
	// Body is the start of the response, printable characters only.
	Body string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s answered %d %s", e.Target, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// newHTTPClient returns a client bounded by timeout that does not follow
// redirects: a redirected POST would be resent as a GET or to a place
// nobody configured.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// postJSON POSTs body to u with headers and classifies the outcome: 2xx is
// success; 429, 5xx and network errors are worth retrying; other statuses
// are not. target names u in errors: net/http's errors quote the whole URL,
// which may be a secret (Slack) or carry a token, so they are unwrapped.
func postJSON(ctx context.Context, client *http.Client, u string, header http.Header, body []byte, target string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("POST %s: bad request: %w", target, unwrapURLError(err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Prophasis-notify")
	}
	resp, err := client.Do(req)
	if err != nil {
		err = unwrapURLError(err)
		// The caller giving up is not the receiver's fault and not worth
		// retrying; a deadline (ours or the client's) is.
		return !errors.Is(err, context.Canceled), fmt.Errorf("POST %s: %w", target, err)
	}
	defer resp.Body.Close()
	start, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retry, &StatusError{Target: "POST " + target, Code: resp.StatusCode, Body: printable(start, maxErrorBody)}
}

// unwrapURLError drops net/http's *url.Error wrapper, which quotes the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// printable returns the start of b, at most n bytes, as one line of
// printable characters.
func printable(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n]
		s = strings.ToValidUTF8(s, "") + "…"
	}
	return s
}

// checkHTTPURL checks an endpoint URL without quoting it (it may be a
// secret).
func checkHTTPURL(field, u string) (*url.URL, error) {
	if u == "" {
		return nil, fmt.Errorf("%s is required", field)
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return nil, fmt.Errorf("%s must be an absolute http:// or https:// URL", field)
	}
	return p, nil
}

// redactURL shows a URL without its user info, query and fragment, which
// may carry tokens.
func redactURL(p *url.URL) string {
	c := *p
	c.User, c.RawQuery, c.Fragment, c.RawFragment = nil, "", "", ""
	s := c.String()
	if p.RawQuery != "" {
		s += "?…"
	}
	return s
}
