// Package client is the agent's side of the agent API: enrolment, the plan
// long poll, plugin package downloads and pushing results, over HTTPS with the server's CA pinned
// (plain HTTP only when the user asked for it). It imports wire and the
// standard library only; the agent package drives it.
package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// ErrPermanent marks a refusal that retrying cannot fix (4xx: bad input, a
// revoked credential). Test with errors.Is.
var ErrPermanent = errors.New("refused by the server")

// StatusError is a refusal by the server: its HTTP status and message. A
// 4xx status is ErrPermanent (errors.Is).
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Msg)
}

// Is makes 4xx refusals match ErrPermanent.
func (e *StatusError) Is(target error) bool {
	return target == ErrPermanent && e.Code >= 400 && e.Code < 500
}

// maxAnswer bounds what the agent reads of an answer; maxPackage a plugin
// package (the server accepts at most 32 MiB).
const (
	maxAnswer  = 8 << 20
	maxPackage = 32 << 20
)

// Options say how to reach the server.
type Options struct {
	// Server is the base URL, https://host:port (http:// only with AllowHTTP).
	Server string
	// CACert is the PEM CA to trust instead of the system's (pinned at
	// enrolment). Empty: the system roots.
	CACert []byte
	// CASHA256 is the hex SHA-256 of the CA certificate's DER, checked at
	// enrolment when the agent has no CA yet (trust on first use, verified).
	CASHA256 string
	// AllowHTTP permits a plain http:// server URL.
	AllowHTTP bool
	// UserAgent names the agent's version.
	UserAgent string
}

// Client talks to one server. Safe for concurrent use.
type Client struct {
	base       string
	http       *http.Client
	credential string
	userAgent  string
}

// New returns a client; credential is the agent's (empty for enrolment).
func New(o Options, credential string) (*Client, error) {
	u, err := url.Parse(o.Server)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("server %q is not an https:// URL", o.Server)
	}
	if u.Scheme == "http" && !o.AllowHTTP {
		return nil, fmt.Errorf("server %q is plain HTTP: credentials and results would cross the network unencrypted; use https:// or allow plain HTTP explicitly", o.Server)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if len(o.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CACert) {
			return nil, errors.New("the pinned CA certificate is not valid PEM")
		}
		tr.TLSClientConfig.RootCAs = pool
	} else if o.CASHA256 != "" {
		want := strings.ToLower(strings.TrimPrefix(o.CASHA256, "sha256:"))
		// Verify the chain against the CA the server presents, then check
		// that CA is the one the admin named.
		tr.TLSClientConfig.InsecureSkipVerify = true
		tr.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyPinnedChain(cs, u.Hostname(), want)
		}
	}
	return &Client{
		base:       strings.TrimSuffix(o.Server, "/"),
		http:       &http.Client{Transport: tr},
		credential: credential,
		userAgent:  o.UserAgent,
	}, nil
}

// verifyPinnedChain accepts a server certificate chain whose root (the last
// certificate sent) has the wanted SHA-256 and signs the leaf for host.
func verifyPinnedChain(cs tls.ConnectionState, host, wantSHA string) error {
	certs := cs.PeerCertificates
	if len(certs) < 2 {
		return errors.New("the server sent no CA certificate to check against the fingerprint")
	}
	ca := certs[len(certs)-1]
	sum := sha256.Sum256(ca.Raw)
	if hex.EncodeToString(sum[:]) != wantSHA {
		return fmt.Errorf("the server's CA has fingerprint %x, not the expected %s: refusing to enrol", sum, wantSHA)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	inter := x509.NewCertPool()
	for _, c := range certs[1 : len(certs)-1] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: pool, Intermediates: inter})
	return err
}

// envelope is the server's answer.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// do sends a request and decodes the envelope into out. A 4xx answer is
// ErrPermanent; network errors and 5xx are retryable.
func (c *Client) do(ctx context.Context, req *http.Request, out any) (*http.Response, error) {
	if c.credential != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.credential)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp, fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return resp, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, &StatusError{Code: resp.StatusCode, Msg: "answer is not JSON"})
	}
	if env.Status != "success" {
		return resp, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, &StatusError{Code: resp.StatusCode, Msg: env.Error})
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return resp, fmt.Errorf("%s %s: unexpected answer: %w", req.Method, req.URL.Path, err)
		}
	}
	return resp, nil
}

// Enroll trades a one-time enrolment token for the agent's credential.
func (c *Client) Enroll(ctx context.Context, token string, req wire.EnrollRequest) (wire.EnrollResponse, error) {
	body, _ := json.Marshal(req)
	r, err := http.NewRequest(http.MethodPost, c.base+"/agent/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return wire.EnrollResponse{}, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	var out wire.EnrollResponse
	if _, err := c.do(ctx, r, &out); err != nil {
		return out, err
	}
	if out.Credential == "" {
		return out, errors.New("enrol: the server sent no credential")
	}
	return out, nil
}

// Plan long-polls the agent's plan: with the ETag of the plan it has, the
// server answers when the plan changes or after wait. changed is false when
// the plan stayed the same.
func (c *Client) Plan(ctx context.Context, etag string, wait time.Duration) (plan wire.Plan, newETag string, changed bool, err error) {
	r, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/agent/v1/plan?wait=%s", c.base, wait), nil)
	if err != nil {
		return plan, etag, false, err
	}
	if etag != "" {
		r.Header.Set("If-None-Match", etag)
	}
	resp, err := c.do(ctx, r, &plan)
	if err != nil {
		return plan, etag, false, err
	}
	if resp.StatusCode == http.StatusNotModified {
		return plan, etag, false, nil
	}
	return plan, resp.Header.Get("ETag"), true, nil
}

// Push sends a batch of results, gzip-compressed. The response says which
// results the server stored (or already had) and which it can never store.
func (c *Client) Push(ctx context.Context, results []wire.Result) (wire.BatchResponse, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(wire.Batch{Results: results}); err != nil {
		return wire.BatchResponse{}, fmt.Errorf("encode batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return wire.BatchResponse{}, fmt.Errorf("compress batch: %w", err)
	}
	r, err := http.NewRequest(http.MethodPost, c.base+"/agent/v1/results", &buf)
	if err != nil {
		return wire.BatchResponse{}, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Encoding", "gzip")
	var out wire.BatchResponse
	_, err = c.do(ctx, r, &out)
	return out, err
}

// Plugin downloads the plugin package called sha256 (a .tar.gz, at most
// maxPackage bytes). It does not check the hash: the caller must, before
// using the bytes. A 404 (the server has no such package) is ErrPermanent.
func (c *Client) Plugin(ctx context.Context, sha256 string) ([]byte, error) {
	r, err := http.NewRequest(http.MethodGet, c.base+"/agent/v1/plugins/"+url.PathEscape(sha256), nil)
	if err != nil {
		return nil, err
	}
	if c.credential != "" {
		r.Header.Set("Authorization", "Bearer "+c.credential)
	}
	if c.userAgent != "" {
		r.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(r.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("download plugin package: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPackage+1))
	if err != nil {
		return nil, fmt.Errorf("download plugin package: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var env envelope
		msg := "answer is not JSON"
		if json.Unmarshal(body, &env) == nil {
			msg = env.Error
		}
		return nil, fmt.Errorf("download plugin package: %w", &StatusError{Code: resp.StatusCode, Msg: msg})
	}
	if len(body) > maxPackage {
		return nil, fmt.Errorf("download plugin package: larger than %d bytes", maxPackage)
	}
	return body, nil
}
