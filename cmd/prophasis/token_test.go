package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/store"
)

func TestTokenCreateCommand(t *testing.T) {
	url, st, token := testServer(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := tokenCmd(ctx, []string{"create", "web1", "--ttl", "2h", "--server", url, "--token", token}, &out); err != nil {
		t.Fatal(err)
	}
	secret := regexp.MustCompile(`phe_[A-Za-z0-9_-]+`).FindString(out.String())
	if secret == "" || !strings.Contains(out.String(), "prophasis-agent --server "+url+" --enroll-token "+secret) {
		t.Fatalf("output:\n%s", out.String())
	}
	// The printed token enrols web1's agent.
	host, _, err := st.Enroll(ctx, secret, store.AgentInfo{})
	if err != nil || host != "web1" {
		t.Fatalf("enrol with the printed token: %q, %v", host, err)
	}
	for _, bad := range [][]string{
		{},
		{"make", "web1"},
		{"create"},
		{"create", "--ttl", "1h"},
		{"create", "web 1", "--server", url, "--token", token},
		{"create", "web1", "--ttl", "1000h", "--server", url, "--token", token},
	} {
		if err := tokenCmd(ctx, bad, &out); err == nil {
			t.Errorf("token %q: no error", bad)
		}
	}
}
