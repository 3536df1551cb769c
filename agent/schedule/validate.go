package schedule

import (
	"errors"
	"fmt"

	"github.com/prophasis/prophasis/wire"
)

// ErrInvalidPlan is wrapped by every error of Validate.
var ErrInvalidPlan = errors.New("invalid plan")

// Validate checks the schedules of a plan: every run has at least one
// interval, every period is positive, max lateness is not negative, and no
// two runs share a check and plugin (the pair is a run's identity across plan
// changes). Every error wraps ErrInvalidPlan.
func Validate(runs []wire.PlanRun) error {
	seen := make(map[key]bool, len(runs))
	for i, r := range runs {
		name := fmt.Sprintf("run %d (%s/%s)", i, r.Check, r.Plugin)
		if len(r.Intervals) == 0 {
			return fmt.Errorf("%w: %s has no interval", ErrInvalidPlan, name)
		}
		for j, iv := range r.Intervals {
			if iv.Period <= 0 {
				return fmt.Errorf("%w: %s interval %d: period %s is not positive", ErrInvalidPlan, name, j, iv.Period.D())
			}
		}
		if r.MaxLateness < 0 {
			return fmt.Errorf("%w: %s: negative max lateness %s", ErrInvalidPlan, name, r.MaxLateness.D())
		}
		k := keyOf(r)
		if seen[k] {
			return fmt.Errorf("%w: %s appears twice", ErrInvalidPlan, name)
		}
		seen[k] = true
	}
	return nil
}

// key is a run's identity: a plan change keeps the position of a run whose
// key and intervals are unchanged.
type key struct{ check, plugin string }

func keyOf(r wire.PlanRun) key { return key{r.Check, r.Plugin} }
