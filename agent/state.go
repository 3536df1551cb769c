package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// stateFile holds what enrolment gave the agent, in its data directory,
// readable by the agent's user only: it holds the credential.
const stateFile = "agent.json"

// state is the agent's identity: where its server is, who it is, and the CA
// it pinned.
type state struct {
	Server     string `json:"server"`
	Host       string `json:"host"`
	Credential string `json:"credential"`
	CACert     string `json:"ca_cert,omitempty"`
	AllowHTTP  bool   `json:"allow_http,omitempty"`
}

func loadState(dir string) (state, error) {
	var s state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, err
	}
	if err != nil {
		return s, fmt.Errorf("read agent state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("agent state %s: %w", filepath.Join(dir, stateFile), err)
	}
	if s.Server == "" || s.Credential == "" || s.Host == "" {
		return s, fmt.Errorf("agent state %s is incomplete: enrol again", filepath.Join(dir, stateFile))
	}
	return s, nil
}

// save writes the state atomically with mode 0600.
func (s state) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("agent data dir: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write agent state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write agent state: %w", err)
	}
	return nil
}
