package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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
	fmt.Fprintf(stdout, "Enrolment token for %s, valid once until %s:\n  %s\n\nOn %s, enrol its agent with:\n  prophasis-agent --server %s --enroll-token %s --data-dir %s\n",
		e.Host, e.ExpiresAt.Format(time.RFC3339), e.Token, e.Host, c.server, e.Token, *agentData)
	return nil
}
