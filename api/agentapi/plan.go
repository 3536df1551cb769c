package agentapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/prophasis/prophasis/plugins/manifest"
	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// defaultTimeout bounds a plugin run whose plugin sets none.
const defaultTimeout = 10 * time.Second

// skipped is a run compilePlan left out of a plan, and why.
type skipped struct {
	check, plugin, version, reason string
}

// resolved is what one plugin version runs: the plugin row (the current
// version) or a version the registry keeps, with its parsed manifest when
// it has one (plugins created by hand have none).
type resolved struct {
	p         store.Plugin
	signature string
	manifest  *manifest.Manifest
	err       error
}

// compilePlan builds host's plan from the configuration: every plugin of
// every check that targets the host, directly or through a group (nested
// groups included), on the check's schedule. A plugin runs at the version
// the check pins, else its current one; its params are the manifest's
// defaults overlaid by the check's, and ${name} in its args is replaced by
// them. Runs the host cannot make (a package for another platform than the
// one the agent reported, a parameter left unset) are left out and
// returned as skipped. Runs are sorted by check and plugin, so the same
// configuration always gives the same plan and ETag.
func compilePlan(ctx context.Context, st store.Store, host string) (wire.Plan, string, []skipped, error) {
	plan := wire.Plan{Host: host, Runs: []wire.PlanRun{}}
	var skips []skipped
	checks, err := st.Checks(ctx)
	if err != nil {
		return plan, "", nil, fmt.Errorf("compile plan: %w", err)
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
	platform := ""
	schedules := map[string]store.Schedule{}
	versions := map[[2]string]resolved{} // plugin, version ("" for current)
	resolve := func(name, pin string) (resolved, error) {
		if r, ok := versions[[2]string{name, pin}]; ok {
			return r, nil
		}
		r, err := resolveVersion(ctx, st, name, pin)
		if err != nil {
			return r, err
		}
		versions[[2]string{name, pin}] = r
		return r, nil
	}
	agentChecked := false
	for _, c := range checks {
		targeted := slices.Contains(c.Hosts, host)
		for _, g := range c.Groups {
			if targeted {
				break
			}
			if targeted, err = inGroup(g); err != nil {
				return plan, "", nil, fmt.Errorf("compile plan: %w", err)
			}
		}
		if !targeted {
			continue
		}
		if !agentChecked {
			agentChecked = true
			if platform, err = agentPlatform(ctx, st, host); err != nil {
				return plan, "", nil, fmt.Errorf("compile plan: %w", err)
			}
		}
		sch, ok := schedules[c.Schedule]
		if !ok {
			if sch, err = st.Schedule(ctx, c.Schedule); err != nil {
				return plan, "", nil, fmt.Errorf("compile plan: check %q: %w", c.Name, err)
			}
			schedules[c.Schedule] = sch
		}
		intervals := make([]wire.Interval, len(sch.Intervals))
		for i, iv := range sch.Intervals {
			intervals[i] = wire.Interval{Start: iv.Start.UTC(), Period: wire.Millis(time.Duration(iv.Period))}
		}
		for _, name := range c.Plugins {
			r, err := resolve(name, c.Versions[name])
			if err != nil {
				return plan, "", nil, fmt.Errorf("compile plan: check %q: %w", c.Name, err)
			}
			p := r.p
			skip := func(reason string) {
				skips = append(skips, skipped{check: c.Name, plugin: name, version: p.Version, reason: reason})
			}
			if r.err != nil {
				skip(r.err.Error())
				continue
			}
			params := c.Params[name]
			args := p.Args
			if m := r.manifest; m != nil {
				if platform != "" && len(m.Platforms) > 0 && !slices.Contains(m.Platforms, platform) {
					skip(fmt.Sprintf("version %s runs on %s, not on this host's %s", p.Version, strings.Join(m.Platforms, ", "), platform))
					continue
				}
				params = manifest.Defaults(*m)
				maps.Copy(params, c.Params[name])
				if args, err = manifest.Substitute(p.Args, params); err != nil {
					skip(fmt.Sprintf("version %s: %v", p.Version, err))
					continue
				}
			}
			if len(params) == 0 {
				params = nil
			}
			timeout := time.Duration(p.Timeout)
			if timeout <= 0 {
				timeout = defaultTimeout
			}
			sha := packageOf(p)
			sig := ""
			if sha != "" {
				sig = r.signature
			}
			plan.Runs = append(plan.Runs, wire.PlanRun{
				Check:       c.Name,
				Plugin:      p.Name,
				Kind:        p.Kind,
				Version:     p.Version,
				SHA256:      sha,
				Signature:   sig,
				Entrypoint:  p.Entrypoint,
				Args:        args,
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
		return plan, "", nil, fmt.Errorf("compile plan: %w", err)
	}
	sum := sha256.Sum256(body)
	return plan, `"` + hex.EncodeToString(sum[:16]) + `"`, skips, nil
}

// resolveVersion loads plugin name at version pin ("" for its current
// version). A version whose stored manifest no longer parses is returned
// with err set, so its runs are skipped rather than failing the plan.
func resolveVersion(ctx context.Context, st store.Store, name, pin string) (resolved, error) {
	var r resolved
	p, err := st.Plugin(ctx, name)
	if err != nil {
		return r, err
	}
	version := p.Version
	if pin != "" {
		version = pin
	}
	v, err := st.PluginVersion(ctx, name, version)
	switch {
	case errors.Is(err, store.ErrNotFound) && pin == "":
		// A plugin created by hand, or whose current version was
		// deleted: the plugin row is all there is.
		r.p = p
		return r, nil
	case errors.Is(err, store.ErrNotFound):
		r.p, r.err = p, fmt.Errorf("the pinned version %s is gone", pin)
		return r, nil
	case err != nil:
		return r, err
	}
	if pin == "" && v.SHA256 != p.SHA256 {
		// The row was edited by hand after the version was made
		// current: it, not the version, is what the plugin is now.
		r.p = p
		return r, nil
	}
	// The current version runs as the plugin's row says (a copy of the
	// version, unless edited since); a pinned one as it was published.
	r.p = p
	if pin != "" {
		r.p = store.Plugin{Name: name, Version: v.Version, Description: v.Description, Kind: v.Kind, Entrypoint: v.Entrypoint,
			Args: v.Args, Timeout: v.Timeout, SHA256: v.SHA256, Classifier: v.Classifier, History: v.History}
	}
	r.signature = v.Signature
	m, err := manifest.Parse(v.Manifest)
	if err != nil {
		r.err = fmt.Errorf("version %s: stored manifest: %w", v.Version, err)
		return r, nil
	}
	r.manifest = &m
	return r, nil
}

// agentPlatform returns "GOOS/GOARCH" as host's agent reported it at
// enrolment, or "" when it did not (or has not enrolled).
func agentPlatform(ctx context.Context, st store.Store, host string) (string, error) {
	agents, err := st.Agents(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range agents {
		if a.Host == host && a.RevokedAt.IsZero() && a.OS != "" && a.Arch != "" {
			return a.OS + "/" + a.Arch, nil
		}
	}
	return "", nil
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

// maxSkipLog bounds the skipped runs remembered; past it the memory starts
// over (and each is logged once more).
const maxSkipLog = 10000

// logSkipped writes each run left out of host's plan to the system log,
// once.
func (h *handler) logSkipped(ctx context.Context, host string, skips []skipped) {
	if len(skips) == 0 {
		return
	}
	h.skipMu.Lock()
	if h.skipLog == nil || len(h.skipLog) > maxSkipLog {
		h.skipLog = map[skipped]bool{}
	}
	var entries []store.LogEntry
	for _, s := range skips {
		key := s
		key.check = host + "\x00" + s.check
		if h.skipLog[key] {
			continue
		}
		h.skipLog[key] = true
		entries = append(entries, store.LogEntry{
			Time: time.Now().UnixMilli(), Level: "warn", Component: "plan", Host: host, Plugin: s.plugin, Check: s.check,
			Message: fmt.Sprintf("plugin %s left out of the plan of %s: %s", s.plugin, host, s.reason),
		})
	}
	h.skipMu.Unlock()
	if len(entries) == 0 {
		return
	}
	if err := h.Store.AppendSystemLog(ctx, entries); err != nil {
		h.logger.Warn("system log", "err", err)
	}
	for _, e := range entries {
		h.logger.Warn("run left out of a plan", "host", host, "check", e.Check, "plugin", e.Plugin, "reason", e.Message)
	}
}
