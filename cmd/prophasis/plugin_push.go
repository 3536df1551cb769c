package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prophasis/prophasis/plugins/archive"
)

// pluginPackagesPath is the management API's upload route.
const pluginPackagesPath = "/manage/v1/plugin-packages"

// SignatureHeader carries a package's detached signature on upload.
const signatureHeader = "X-Prophasis-Signature"

func pluginPush(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	sigFile := fs.String("signature", "", "the package's signature file (from plugin sign), sent with it")
	var c client
	c.flags(fs)
	pos, err := parseArgs(fs, args, 1, "FILE [--signature FILE.sig]")
	if err != nil {
		return err
	}
	body, err := readPackageFile(pos[0])
	if err != nil {
		return err
	}
	var sig string
	if *sigFile != "" {
		b, err := readLimited(*sigFile)
		if err != nil {
			return err
		}
		sig = strings.TrimSpace(string(b))
		if sig == "" || strings.ContainsAny(sig, "\r\n") || len(sig) > 1024 {
			return fmt.Errorf("%s: not a signature (one line KEYID:BASE64, from plugin sign)", *sigFile)
		}
	}
	token, err := c.resolveToken()
	if err != nil {
		return err
	}
	base, err := url.Parse(c.server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--server %q is not an http(s) URL", c.server)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.server, "/")+pluginPackagesPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set("Accept", "application/json")
	if sig != "" {
		req.Header.Set(signatureHeader, sig)
	}
	hc := &http.Client{Timeout: 5 * time.Minute, Transport: c.transport()}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s (is `prophasis serve` running?): %w", c.server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("server answered %s: %s", resp.Status, snippet(raw))
	}
	if env.Status != "success" || resp.StatusCode/100 != 2 {
		msg := env.Error
		if msg == "" {
			msg = snippet(raw)
		}
		return fmt.Errorf("server refused the package (%s, %s): %s", resp.Status, env.ErrorType, msg)
	}
	var ans struct {
		Plugin  string `json:"plugin"`
		Version string `json:"version"`
		SHA256  string `json:"sha256"`
		Signer  string `json:"signer"`
	}
	if err := json.Unmarshal(env.Data, &ans); err != nil {
		return fmt.Errorf("unexpected answer from the server: %s", snippet(env.Data))
	}
	fmt.Fprintf(stdout, "pushed %s %s\nsha256 %s\n", ans.Plugin, ans.Version, ans.SHA256)
	if ans.Signer != "" {
		fmt.Fprintf(stdout, "signed by key %s\n", ans.Signer)
	}
	if resp.StatusCode == http.StatusOK {
		// 201 is a new version; 200 the same package, already there.
		fmt.Fprintln(stdout, "the server already had this package: nothing changed")
	}
	if want := archive.SHA256(body); ans.SHA256 != want {
		return errors.New("the server reports another sha256 than the file's (" + want + "): the upload was altered on the way")
	}
	return nil
}
