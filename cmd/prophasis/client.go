package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prophasis/prophasis/server"
)

// client is what the operator commands (apply, export, token) share: where the server is and the token.
type client struct {
	server, token, dataDir string
}

func (c *client) flags(fs *flag.FlagSet) {
	d := server.Defaults()
	fs.StringVar(&c.server, "server", "http://"+d.Listen, "URL of the running Prophasis server")
	fs.StringVar(&c.token, "token", "", "API token (default: $PROPHASIS_TOKEN, else DATA-DIR/"+server.AdminTokenFile+")")
	fs.StringVar(&c.dataDir, "data-dir", d.DataDir, "the server's data directory, to read "+server.AdminTokenFile+" from")
}

// resolveToken picks the token: the flag, then $PROPHASIS_TOKEN, then the
// admin token file the server wrote on its first start.
func (c *client) resolveToken() (string, error) {
	if c.token != "" {
		return c.token, nil
	}
	if t := strings.TrimSpace(os.Getenv("PROPHASIS_TOKEN")); t != "" {
		return t, nil
	}
	path := filepath.Join(c.dataDir, server.AdminTokenFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no API token: pass --token, set PROPHASIS_TOKEN, or point --data-dir at the server's data directory (%w)", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("no API token: %s is empty", path)
	}
	return t, nil
}

// envelope is the management API's answer.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// do sends one request to the management API. A JSON answer is returned
// decoded (an error envelope becomes an error); any other answer is
// returned raw.
func (c *client) do(ctx context.Context, method, path, contentType, accept string, body io.Reader) (envelope, []byte, error) {
	token, err := c.resolveToken()
	if err != nil {
		return envelope{}, nil, err
	}
	base, err := url.Parse(c.server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return envelope{}, nil, fmt.Errorf("--server %q is not an http(s) URL", c.server)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.server, "/")+"/manage/v1"+path, body)
	if err != nil {
		return envelope{}, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	// Applying thousands of hosts is one transaction on the server; give it time.
	hc := &http.Client{Timeout: 5 * time.Minute, Transport: c.transport()}
	resp, err := hc.Do(req)
	if err != nil {
		return envelope{}, nil, fmt.Errorf("cannot reach the server at %s (is `prophasis serve` running?): %w", c.server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4*maxDocument))
	if err != nil {
		return envelope{}, nil, fmt.Errorf("read answer: %w", err)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if resp.StatusCode != http.StatusOK {
			return envelope{}, nil, fmt.Errorf("server answered %s: %s", resp.Status, snippet(raw))
		}
		return envelope{}, raw, nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return envelope{}, nil, fmt.Errorf("server answered %s with malformed JSON: %s", resp.Status, snippet(raw))
	}
	if env.Status != "success" {
		msg := env.Error
		if msg == "" {
			msg = snippet(raw)
		}
		return envelope{}, nil, fmt.Errorf("server refused (%s, %s):\n%s", resp.Status, env.ErrorType, msg)
	}
	return env, raw, nil
}

// transport trusts, besides the system's roots, the CA a --tls-auto server
// made in its data directory, so the operator commands work on the server
// host without extra flags.
func (c *client) transport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	pem, err := os.ReadFile(filepath.Join(c.dataDir, "tls", "ca.crt"))
	if err != nil {
		return tr
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if pool.AppendCertsFromPEM(pem) {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
