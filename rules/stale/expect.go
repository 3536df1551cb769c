package stale

import (
	"context"
	"fmt"
	"time"

	"github.com/prophasis/prophasis/store"
)

// FromStore derives the expectations from the configuration: every plugin
// of every check on every host the check targets (directly or through
// nested groups), at the shortest period of the check's schedule.
func FromStore(st store.Store) Expectations {
	return func(ctx context.Context) (map[Key]time.Duration, error) {
		checks, err := st.Checks(ctx)
		if err != nil {
			return nil, fmt.Errorf("expected checks: %w", err)
		}
		groups := map[string][]string{}
		schedules := map[string]time.Duration{}
		out := map[Key]time.Duration{}
		for _, c := range checks {
			period, ok := schedules[c.Schedule]
			if !ok {
				sch, err := st.Schedule(ctx, c.Schedule)
				if err != nil {
					return nil, fmt.Errorf("expected checks: check %q: %w", c.Name, err)
				}
				for _, iv := range sch.Intervals {
					if p := time.Duration(iv.Period); p > 0 && (period == 0 || p < period) {
						period = p
					}
				}
				schedules[c.Schedule] = period
			}
			if period <= 0 {
				continue
			}
			hosts := append([]string(nil), c.Hosts...)
			for _, g := range c.Groups {
				hs, ok := groups[g]
				if !ok {
					if hs, err = st.GroupHosts(ctx, g); err != nil {
						return nil, fmt.Errorf("expected checks: check %q: %w", c.Name, err)
					}
					groups[g] = hs
				}
				hosts = append(hosts, hs...)
			}
			for _, h := range hosts {
				for _, p := range c.Plugins {
					k := Key{Host: h, Plugin: p, Check: c.Name}
					if old, ok := out[k]; !ok || period < old {
						out[k] = period
					}
				}
			}
		}
		return out, nil
	}
}
