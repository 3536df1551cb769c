package trend

import (
	"testing"
	"time"
)

func TestExplainFormat(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(perTime(2), "2/s")
	f(perTime(0.05), "3/min")
	f(perTime(2.1/3600), "2.1/h")
	f(perTime(-1.0/86400), "-1/d")
	f(perTime(0), "0/d")
	f(formatDuration(42*time.Second), "42s")
	f(formatDuration(9*time.Hour+12*time.Minute+20*time.Second), "9h12m")
	f(formatDuration(50*time.Hour), "2d2h")
	f(formatFloat(1234567), "1.235e+06")
	f(formatFloat(0.5), "0.5")

	var e explainer
	e.add("slope", nil, 2.1/3600)
	e.addDuration("timeleft", 100, 9*time.Hour+12*time.Minute)
	e.addDuration("timeleft", 100, 9*time.Hour+12*time.Minute) // same call in the other branch
	e.addDuration("timeleft", 0, never)
	e.add("quantile", []float64{0.9}, 42)
	f(e.String(), "slope 2.1/h, timeleft(100) 9h12m, timeleft(0) never, quantile(0.9) 42")
	e.reset()
	f(e.String(), "")
}
