package agentapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// defaultTimeout bounds a plugin run whose plugin sets none.
const defaultTimeout = 10 * time.Second

// compilePlan builds host's plan from the configuration: every plugin of
// every check that targets the host, directly or through a group (nested
// groups included), on the check's schedule. Runs are sorted by check and
// plugin, so the same configuration always gives the same plan and ETag.
func compilePlan(ctx context.Context, st store.Store, host string) (wire.Plan, string, error) {
	plan := wire.Plan{Host: host, Runs: []wire.PlanRun{}}
	checks, err := st.Checks(ctx)
	if err != nil {
		return plan, "", fmt.Errorf("compile plan: %w", err)
	}
	members := map[string]bool{} // group -> contains host
	inGroup := func(g string) (bool, error) {
		if v, ok := members[g]; ok {
			return v, nil
		}
		hosts, err := st.GroupHosts(ctx, g)
		if err != nil {
			return false, err
		}
		members[g] = slices.Contains(hosts, host)
		return members[g], nil
	}
	schedules := map[string]store.Schedule{}
	plugins := map[string]store.Plugin{}
	for _, c := range checks {
		targeted := slices.Contains(c.Hosts, host)
		for _, g := range c.Groups {
			if targeted {
				break
			}
			if targeted, err = inGroup(g); err != nil {
				return plan, "", fmt.Errorf("compile plan: %w", err)
			}
		}
		if !targeted {
			continue
		}
		sch, ok := schedules[c.Schedule]
		if !ok {
			if sch, err = st.Schedule(ctx, c.Schedule); err != nil {
				return plan, "", fmt.Errorf("compile plan: check %q: %w", c.Name, err)
			}
			schedules[c.Schedule] = sch
		}
		intervals := make([]wire.Interval, len(sch.Intervals))
		for i, iv := range sch.Intervals {
			intervals[i] = wire.Interval{Start: iv.Start.UTC(), Period: wire.Millis(time.Duration(iv.Period))}
		}
		for _, name := range c.Plugins {
			p, ok := plugins[name]
			if !ok {
				if p, err = st.Plugin(ctx, name); err != nil {
					return plan, "", fmt.Errorf("compile plan: check %q: %w", c.Name, err)
				}
				plugins[name] = p
			}
			timeout := time.Duration(p.Timeout)
			if timeout <= 0 {
				timeout = defaultTimeout
			}
			params := map[string]string(nil)
			plan.Runs = append(plan.Runs, wire.PlanRun{
				Check:       c.Name,
				Plugin:      p.Name,
				Kind:        p.Kind,
				Version:     p.Version,
				SHA256:      packageOf(p),
				Entrypoint:  p.Entrypoint,
				Args:        p.Args,
				Params:      params,
				Intervals:   intervals,
				MaxLateness: wire.Millis(sch.EffectiveMaxLateness()),
				Timeout:     wire.Millis(timeout),
			})
		}
	}
	slices.SortFunc(plan.Runs, func(a, b wire.PlanRun) int {
		if a.Check != b.Check {
			return cmpStr(a.Check, b.Check)
		}
		return cmpStr(a.Plugin, b.Plugin)
	})
	body, err := json.Marshal(plan)
	if err != nil {
		return plan, "", fmt.Errorf("compile plan: %w", err)
	}
	sum := sha256.Sum256(body)
	return plan, `"` + hex.EncodeToString(sum[:16]) + `"`, nil
}

// packageOf returns the hash of the package the agent needs for p: none
// for builtin plugins or a program installed on the host (an absolute
// entrypoint), which run without one.
func packageOf(p store.Plugin) string {
	if p.Kind == "builtin" || path.IsAbs(p.Entrypoint) {
		return ""
	}
	return p.SHA256
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
