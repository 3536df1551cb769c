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
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prophasis/prophasis/store"
)

const trendUsage = "usage: prophasis trend backtest (NAME | -f rule.yaml [NAME]) [--from T] [--until T] [--step D]"

// runTrend is `prophasis trend backtest ...`.
func runTrend(ctx context.Context, args []string) error {
	return trendCmd(ctx, args, os.Stdout)
}

func trendCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "backtest" {
		return errors.New(trendUsage)
	}
	fs := flag.NewFlagSet("trend backtest", flag.ContinueOnError)
	file := fs.String("f", "", "test this rule instead of a saved one: a YAML or JSON file with one trend rule's fields, or a configuration file whose trend_rules has it (then NAME picks it)")
	from := fs.String("from", "", "start: RFC 3339, Unix seconds, or a duration ago such as 2d (default: a week before --until)")
	until := fs.String("until", "", "end: RFC 3339, Unix seconds, or a duration ago (default: now)")
	step := fs.String("step", "", "evaluate every D, e.g. 10m (default: the rule's interval; widened to fit 10,000 steps)")
	var c client
	c.flags(fs)
	// The name may come before or after the flags.
	var names []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(names) > 1 {
		return fmt.Errorf("unexpected argument %q (%s)", names[1], trendUsage)
	}
	name := ""
	if len(names) == 1 {
		name = names[0]
	}
	req := map[string]any{}
	switch {
	case *file != "":
		r, err := readTrendRule(*file, name)
		if err != nil {
			return err
		}
		req["rule"] = r
	case name != "":
		req["name"] = name
	default:
		return errors.New("give the NAME of a saved trend rule, or -f FILE with a rule to try (" + trendUsage + ")")
	}
	now := time.Now()
	for key, v := range map[string]string{"from": *from, "until": *until} {
		if v == "" {
			continue
		}
		t, err := cliTime(v, now)
		if err != nil {
			return fmt.Errorf("--%s: %w", key, err)
		}
		req[key] = t
	}
	if *step != "" {
		req["step"] = *step
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	env, _, err := c.do(ctx, http.MethodPost, "/trend-rules/backtest", "application/json", "", bytes.NewReader(body))
	if err != nil {
		return err
	}
	var res struct {
		Rule    string    `json:"rule"`
		From    time.Time `json:"from"`
		Until   time.Time `json:"until"`
		Step    string    `json:"step"`
		Changes []struct {
			Labels  map[string]string `json:"labels"`
			At      time.Time         `json:"at"`
			From    string            `json:"from"`
			To      string            `json:"to"`
			Explain string            `json:"explain"`
			Error   string            `json:"error"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(env.Data, &res); err != nil {
		return fmt.Errorf("unexpected answer from the server: %w", err)
	}
	for _, ch := range res.Changes {
		before := ch.From
		if before == "" {
			before = "(start)"
		}
		note := ch.Explain
		if ch.Error != "" {
			note = strings.TrimSpace(note + " error: " + ch.Error)
		}
		fmt.Fprintf(stdout, "%s  %s  %s → %s  %s\n", ch.At.UTC().Format(time.RFC3339), series(ch.Labels), before, ch.To, oneLine(note, 200))
	}
	_, err = fmt.Fprintf(stdout, "%s: %d changes from %s to %s, every %s\n", res.Rule, len(res.Changes),
		res.From.UTC().Format(time.RFC3339), res.Until.UTC().Format(time.RFC3339), res.Step)
	return err
}

// readTrendRule reads one trend rule from a YAML or JSON file: the rule's
// fields, or a configuration document whose trend_rules lists it (name
// picks one when there are several).
func readTrendRule(path, name string) (store.TrendRule, error) {
	b, err := readLimited(path)
	if err != nil {
		return store.TrendRule{}, err
	}
	var top map[string]any
	if err := yaml.Unmarshal(b, &top); err != nil {
		return store.TrendRule{}, fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := top["trend_rules"]; ok {
		var doc struct {
			TrendRules []store.TrendRule `yaml:"trend_rules"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return store.TrendRule{}, fmt.Errorf("%s: %w", path, err)
		}
		var names []string
		for _, r := range doc.TrendRules {
			if r.Name == name || (name == "" && len(doc.TrendRules) == 1) {
				return r, nil
			}
			names = append(names, r.Name)
		}
		if name == "" {
			return store.TrendRule{}, fmt.Errorf("%s has %d trend rules (%s): name the one to test", path, len(names), strings.Join(names, ", "))
		}
		return store.TrendRule{}, fmt.Errorf("%s has no trend rule %q (it has %s)", path, name, strings.Join(names, ", "))
	}
	var r store.TrendRule
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return store.TrendRule{}, fmt.Errorf("%s: %w", path, err)
	}
	if name != "" {
		r.Name = name
	}
	return r, nil
}

// cliTime passes RFC 3339 and Unix seconds on to the server as they are and
// turns a duration ("2d", "90m") into that long before now.
func cliTime(s string, now time.Time) (string, error) {
	if d, err := store.ParseDuration(strings.TrimPrefix(s, "-")); err == nil {
		return now.Add(-d.Std()).UTC().Format(time.RFC3339), nil
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return s, nil
	}
	if strings.Trim(s, "0123456789.") == "" {
		return s, nil
	}
	return "", fmt.Errorf("%q is neither RFC 3339, Unix seconds nor a duration ago (such as 2d)", s)
}
