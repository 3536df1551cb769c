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
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prophasis/prophasis/rules"
)

// maxCodeFile bounds a classifier or history file: the server takes bodies
// up to 1 MiB.
const maxCodeFile = 1 << 20

// runClassify is `prophasis classify test ...`.
func runClassify(ctx context.Context, args []string) error {
	return classifyCmd(ctx, args, os.Stdout)
}

func classifyCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return errors.New("usage: prophasis classify test --plugin P [--check C] (--host H [--last N] | --history FILE.json) [-f classifier.lua]")
	}
	fs := flag.NewFlagSet("classify test", flag.ContinueOnError)
	var req rules.ClassifierTest
	fs.StringVar(&req.Plugin, "plugin", "", "the plugin whose results the classifier judges (required)")
	fs.StringVar(&req.Check, "check", "", "the check, for its classifier override and its stored results")
	fs.StringVar(&req.Host, "host", "", "replay this host's stored results")
	fs.IntVar(&req.Last, "last", 0, fmt.Sprintf("with --host: how many stored results to replay (default 20, at most %d)", rules.MaxTestResults))
	history := fs.String("history", "", "classify this history once instead: a JSON file {values, messages, timestamps, exit_codes, states}, newest first")
	source := fs.String("f", "", "the classifier (Lua) to test; default: the one configured for --check and --plugin")
	var c client
	c.flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if req.Plugin == "" {
		return errors.New("--plugin is required")
	}
	if (req.Host == "") == (*history == "") {
		return errors.New("give --host (to replay its stored results) or --history FILE.json, one of them")
	}
	if *history != "" {
		b, err := readLimited(*history)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var h rules.TestHistory
		if err := dec.Decode(&h); err != nil {
			return fmt.Errorf("%s: %w", *history, err)
		}
		req.History = &h
	}
	if *source != "" {
		b, err := readLimited(*source)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return fmt.Errorf("%s is empty", *source)
		}
		req.Source = string(b)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	env, _, err := c.do(ctx, http.MethodPost, "/classifier-test", "application/json", "", bytes.NewReader(body))
	if err != nil {
		return err
	}
	var res struct {
		Steps []rules.TestStep `json:"steps"`
	}
	if err := json.Unmarshal(env.Data, &res); err != nil {
		return fmt.Errorf("unexpected answer from the server: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tVALUE\tSTATE\tRECORDED\tMESSAGE / ERROR")
	for _, s := range res.Steps {
		recorded := "-"
		if s.Recorded != nil {
			recorded = s.Recorded.String()
		}
		note := s.Message
		if s.Error != "" {
			note = "error: " + s.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", msTime(s.Time), value(s.Value), s.State, recorded, oneLine(note, 80))
	}
	return tw.Flush()
}

// readLimited reads a file of at most maxCodeFile bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCodeFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxCodeFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxCodeFile)
	}
	return b, nil
}

// msTime shows milliseconds since the epoch as RFC 3339 in UTC; 0 is "-".
func msTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// value shows a result's value; nil (no value) is "-".
func value(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%g", *v)
}

// oneLine puts s on one line and cuts it at n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
