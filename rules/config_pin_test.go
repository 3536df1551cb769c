package rules

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/store"
)

// A check that pins a plugin version is judged by that version's
// classifier; one that follows the plugin by the current one.
func TestConfigPinnedClassifier(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), slog.New(slog.DiscardHandler), store.WithCodeChecker(CodeChecker{}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, v := range []struct{ ver, state string }{{"1.0.0", "critical"}, {"2.0.0", "ok"}} {
		_, err := st.PublishPluginVersion(ctx, store.PluginVersion{Plugin: "disk", Version: v.ver,
			SHA256: strings.Repeat("a", 63) + v.ver[:1], Kind: "exec", Entrypoint: "bin/x", History: 3,
			Classifier: `return "` + v.state + `"`, Manifest: json.RawMessage(`{}`)}, true)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateHost(ctx, store.Host{Name: "h"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSchedule(ctx, store.Schedule{Name: "m", Intervals: []store.Interval{{Period: store.Duration(time.Minute)}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Check{
		{Name: "pinned", Plugins: []string{"disk"}, Hosts: []string{"h"}, Schedule: "m", Versions: map[string]string{"disk": "1.0.0"}},
		{Name: "latest", Plugins: []string{"disk"}, Hosts: []string{"h"}, Schedule: "m"},
	} {
		if _, err := st.CreateCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := newCompiler(classify.Options{}).load(ctx, st, func(check, plugin string, err error) { t.Errorf("%s/%s: %v", check, plugin, err) })
	if err != nil {
		t.Fatal(err)
	}
	pinned, latest := cfg.lookup("pinned", "disk"), cfg.lookup("latest", "disk")
	if pinned.cls == latest.cls || pinned.n != 3 {
		t.Fatalf("the pinned check shares the current classifier: %+v %+v", pinned, latest)
	}
	h := classify.History{Values: []float64{1}, Messages: []string{""}, Timestamps: []int64{1}, States: []classify.State{classify.Unknown},
		ExitStatuses: []int{0}}
	if s, err := pinned.cls.Classify(ctx, h); err != nil || s.String() != "critical" {
		t.Errorf("pinned check judged %v (%v), want version 1.0.0's critical", s, err)
	}
	if s, err := latest.cls.Classify(ctx, h); err != nil || s.String() != "ok" {
		t.Errorf("latest check judged %v (%v), want version 2.0.0's ok", s, err)
	}
}
