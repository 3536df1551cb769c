package promapi

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// promtoolPath is Debian's promtool (package prometheus, 2.42). CI installs
// it; a missing promtool fails the test rather than skipping it, so the
// compatibility it checks is never silently untested.
const promtoolPath = "/usr/bin/promtool"

// promtool runs promtool query with args against the test server, the
// viewer token given as the basic-auth password in the URL (promtool 2.42's
// query instant has no other way to send a credential).
func promtool(t *testing.T, srvURL string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(promtoolPath); err != nil {
		t.Fatalf("promtool is required (apt-get install prometheus): %v", err)
	}
	u, err := url.Parse(srvURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("grafana", viewerToken)
	full := append([]string{"query"}, args...)
	for i, a := range full {
		if a == "URL" {
			full[i] = u.String()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtoolPath, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtool(t *testing.T) {
	srv, _ := newTestServer(t)
	at := base.Add(30 * time.Minute)
	ts := at.Unix()

	t.Run("instant", func(t *testing.T) {
		got := promtool(t, srv.URL, "instant", "--time", fmt.Sprint(ts), "URL", `prophasis_value{host=~"web.*"}`)
		want := fmt.Sprintf("prophasis_value{check=\"res\", host=\"web1\", plugin=\"cpu\"} => 120 @[%d]\n"+
			"prophasis_value{check=\"res\", host=\"web2\", plugin=\"cpu\"} => 240 @[%d]\n", ts, ts)
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("instant experimental", func(t *testing.T) {
		got := promtool(t, srv.URL, "instant", "--time", fmt.Sprint(ts), "URL", `mad_over_time(prophasis_value{host="db1"}[10m])`)
		want := fmt.Sprintf("{check=\"res\", host=\"db1\", plugin=\"cpu\"} => 30 @[%d]\n", ts)
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("instant json", func(t *testing.T) {
		got := promtool(t, srv.URL, "instant", "-o", "json", "--time", fmt.Sprint(ts), "URL", `prophasis_state`)
		want := fmt.Sprintf(`[{"metric":{"__name__":"prophasis_state","check":"res","host":"web1","plugin":"cpu"},"value":[%d,"2"]}]`, ts)
		if strings.TrimSpace(got) != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("range", func(t *testing.T) {
		start := base.Add(28 * time.Minute)
		got := promtool(t, srv.URL, "range", "--start", fmt.Sprint(start.Unix()), "--end", fmt.Sprint(ts), "--step", "1m",
			"--header", "X-Prophasis-Test: 1", "URL", `prophasis_state`)
		want := fmt.Sprintf("prophasis_state{check=\"res\", host=\"web1\", plugin=\"cpu\"} =>\n0 @[%d]\n0 @[%d]\n2 @[%d]\n",
			start.Unix(), start.Unix()+60, ts)
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("series and labels", func(t *testing.T) {
		got := promtool(t, srv.URL, "series", "--match", `prophasis_state`, "URL")
		if want := "{__name__=\"prophasis_state\", check=\"res\", host=\"web1\", plugin=\"cpu\"}\n"; got != want {
			t.Errorf("series: got\n%s\nwant\n%s", got, want)
		}
		got = promtool(t, srv.URL, "labels", "URL", "host")
		if want := "db1\nweb1\nweb2\n"; got != want {
			t.Errorf("labels: got\n%s\nwant\n%s", got, want)
		}
	})
}
