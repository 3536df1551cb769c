package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/rules"
)

// runStates is `prophasis states [--host H] [--state S]`.
func runStates(ctx context.Context, args []string) error {
	return statesCmd(ctx, args, os.Stdout)
}

func statesCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("states", flag.ContinueOnError)
	host := fs.String("host", "", "only this host")
	state := fs.String("state", "", "only this state and worse (ok, minor, major, critical); unknown shows only unknown")
	var c client
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	q := url.Values{}
	if *host != "" {
		q.Set("host", *host)
	}
	if *state != "" {
		q.Set("state", *state)
	}
	path := "/states"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	env, _, err := c.do(ctx, http.MethodGet, path, "", "application/json", nil)
	if err != nil {
		return err
	}
	var res struct {
		Checks []rules.Status      `json:"checks"`
		Hosts  []rules.HostStatus  `json:"hosts"`
		Trends []rules.TrendStatus `json:"trends"`
	}
	if err := json.Unmarshal(env.Data, &res); err != nil {
		return fmt.Errorf("unexpected answer from the server: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPLUGIN\tCHECK\tSTATE\tSINCE\tMESSAGE")
	for _, s := range res.Checks {
		st := s.State.String()
		if s.Flapping {
			st += " (flapping)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Host, s.Plugin, dash(s.Check), st, msTime(s.Since), oneLine(s.Message, 60))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "HOST\tSTATE\tSINCE\tREASON")
	for _, h := range res.Hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Host, h.State, msTime(h.Since), oneLine(h.Reason, 80))
	}
	if len(res.Trends) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "TREND RULE\tSERIES\tSTATE\tSINCE\tEXPLAIN / ERROR")
		for _, tr := range res.Trends {
			note := tr.Explain
			if tr.Error != "" {
				note = "error: " + tr.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tr.Rule, series(tr.Labels), tr.State, msTime(tr.Since), oneLine(note, 60))
		}
	}
	return tw.Flush()
}

// dash shows "" as "-", so table columns stay aligned and visible.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// series shows labels as PromQL does: name{label="value", ...}, labels
// sorted.
func series(m map[string]string) string {
	var b strings.Builder
	b.WriteString(m[model.MetricNameLabel])
	b.WriteByte('{')
	first := true
	labels.FromMap(m).Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(l.Name + "=" + strconv.Quote(l.Value))
	})
	b.WriteByte('}')
	return b.String()
}
