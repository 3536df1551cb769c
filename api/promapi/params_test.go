package promapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestParseTime(t *testing.T) {
	f := func(in string, want time.Time) {
		t.Helper()
		got, err := parseTime(in)
		if err != nil {
			t.Errorf("parseTime(%q): %v", in, err)
			return
		}
		if !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, want %v", in, got, want)
		}
	}
	f("0", time.Unix(0, 0))
	f("1435781451", time.Unix(1435781451, 0))
	f("1435781451.781", time.UnixMilli(1435781451781))
	f("1435781451.7814", time.UnixMilli(1435781451781)) // rounded to the millisecond
	f("1435781451.7816", time.UnixMilli(1435781451782))
	f("-1.5", time.UnixMilli(-1500))
	f("1e9", time.Unix(1e9, 0))
	f("2015-07-01T20:10:51.781Z", time.UnixMilli(1435781451781))
	f("2015-07-01T22:10:51+02:00", time.Unix(1435781451, 0))
	f(minTimeFormatted, minTime)
	f(maxTimeFormatted, maxTime)

	for _, in := range []string{"", "now", "2015-07-01", "2015-07-01 20:10:51Z", "1h", "0x", "1,5"} {
		if _, err := parseTime(in); err == nil || err.Error() != `cannot parse "`+in+`" to a valid timestamp` {
			t.Errorf("parseTime(%q): err %v", in, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	f := func(in string, want time.Duration) {
		t.Helper()
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	f("15", 15*time.Second)
	f("0.5", 500*time.Millisecond)
	f("1e-3", time.Millisecond)
	f("-1", -time.Second) // refused later as "zero or negative", as in Prometheus
	f("15s", 15*time.Second)
	f("1m30s", 90*time.Second)
	f("100ms", 100*time.Millisecond)
	f("1d", 24*time.Hour)
	f("1w", 7*24*time.Hour)
	f("1y", 365*24*time.Hour)
	for _, in := range []string{"", "1.5m", "-1m", "1h-1m", "fast", "1M"} {
		if _, err := parseDuration(in); err == nil || err.Error() != `cannot parse "`+in+`" to a valid duration` {
			t.Errorf("parseDuration(%q): err %v", in, err)
		}
	}
	for _, in := range []string{"1e10", "-1e300", "Inf"} {
		if _, err := parseDuration(in); err == nil || !strings.HasSuffix(err.Error(), "It overflows int64") {
			t.Errorf("parseDuration(%q): err %v", in, err)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"0", "1435781451.781", "-1.5", "1e9", "NaN", "Inf", "2015-07-01T20:10:51.781Z",
		"2015-07-01T22:10:51+02:00", minTimeFormatted, maxTimeFormatted, "", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s)
		if err != nil {
			if want := fmt.Sprintf("cannot parse %q to a valid timestamp", s); err.Error() != want {
				t.Fatalf("parseTime(%q): error %q, want %q", s, err, want)
			}
			return
		}
		if v, ferr := strconv.ParseFloat(s, 64); ferr == nil && math.Abs(v) < 1e12 {
			// Seconds as a float: the result is that instant, to the millisecond.
			if d := float64(got.UnixMilli()) - v*1000; math.Abs(d) > 1 {
				t.Fatalf("parseTime(%q) = %v (%d ms), off by %v ms", s, got, got.UnixMilli(), d)
			}
			return
		}
		if y := got.Year(); y >= 0 && y <= 9999 && ferrIsSyntax(s) {
			// An RFC 3339 time formats back to the same instant.
			again, err := parseTime(got.Format(time.RFC3339Nano))
			if err != nil || !again.Equal(got) {
				t.Fatalf("parseTime(%q) = %v; formatted back: %v, %v", s, got, again, err)
			}
		}
	})
}

// ferrIsSyntax reports whether s is not a number at all.
func ferrIsSyntax(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err != nil
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"15", "0.5", "1e-3", "15s", "1m30s", "1d", "1w", "1y", "1e300", "-1", "NaN", "", "5m0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseDuration(s)
		if err != nil {
			msg := err.Error()
			if want := fmt.Sprintf("cannot parse %q to a valid duration", s); msg != want && msg != want+". It overflows int64" {
				t.Fatalf("parseDuration(%q): unexpected error %q", s, msg)
			}
			return
		}
		if v, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			if math.IsNaN(v) {
				return // NaN converts to an unspecified duration, as in Prometheus
			}
			want := v * float64(time.Second)
			if d := math.Abs(float64(got) - want); d > 1 && d > math.Abs(want)*1e-9 {
				t.Fatalf("parseDuration(%q) = %v, want %v ns", s, got, want)
			}
			return
		}
		// A Prometheus duration is never negative and formats back to itself.
		if got < 0 {
			t.Fatalf("parseDuration(%q) = %v < 0", s, got)
		}
		again, err := parseDuration(model.Duration(got).String())
		if err != nil || again != got {
			t.Fatalf("parseDuration(%q) = %v; formatted as %q back: %v, %v", s, got, model.Duration(got).String(), again, err)
		}
	})
}
