package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runToken is `prophasis token create HOST`: a one-time enrolment token for
// a host's agent, and the command that enrols it.
func runToken(ctx context.Context, args []string) error {
	return tokenCmd(ctx, args, os.Stdout)
}

func tokenCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: prophasis token create HOST [--ttl 24h] [--server URL] [--token T]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	var c client
	c.flags(fs)
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the enrolment token stays valid (at most 720h)")
	agentData := fs.String("agent-data-dir", "/var/lib/prophasis-agent", "the agent's data directory, for the printed command")
	// The host comes first (`token create web1 --ttl 1h`); flags may follow.
	rest := args[1:]
	if len(rest) == 0 || len(rest[0]) == 0 || rest[0][0] == '-' {
		return errors.New("usage: prophasis token create HOST [--ttl 24h]")
	}
	host := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	body, _ := json.Marshal(map[string]string{"host": host, "ttl": ttl.String()})
	env, _, err := c.do(ctx, "POST", "/enrollments", "application/json", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	var e struct {
		Host      string    `json:"host"`
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(env.Data, &e); err != nil {
		return fmt.Errorf("server answered with an unexpected enrolment: %w", err)
	}
	pin := ""
	if fp, err := caFingerprint(filepath.Join(c.dataDir, "tls", "ca.crt")); err == nil {
		// The agent checks the server's CA against this before it trusts
		// it; from then on it pins the CA itself.
		pin = " --ca-sha256 " + fp
	} else if strings.HasPrefix(c.server, "http://") {
		pin = " --allow-http"
	}
	fmt.Fprintf(stdout, "Enrolment token for %s, valid once until %s:\n  %s\n\nOn %s, enrol its agent with:\n  prophasis-agent --server %s --enroll-token %s%s --data-dir %s\n",
		e.Host, e.ExpiresAt.Format(time.RFC3339), e.Token, e.Host, c.server, e.Token, pin, *agentData)
	return nil
}

// caFingerprint is the hex SHA-256 of a PEM certificate's DER.
func caFingerprint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return "", fmt.Errorf("%s is not PEM", path)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:]), nil
}
