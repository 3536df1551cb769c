package store

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSilenceCRUD(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	changed := st.ConfigChanged()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	s := must[Silence](t)(st.CreateSilence(ctx, Silence{
		Name: "move", Description: "rack move", Scope: Scope{Hosts: []string{"web2", "web1"}, Groups: []string{"all"}, Plugins: []string{"load"}},
		Start: start, End: start.Add(8 * time.Hour), Comment: "CHG-42", CreatedBy: "ann",
	}))
	if s.ID == 0 || !s.Start.Equal(start) || s.Start.Location() != time.UTC || !slices.Equal(s.Scope.Hosts, []string{"web1", "web2"}) ||
		s.CreatedBy != "ann" || s.Comment != "CHG-42" || s.Weekly != nil {
		t.Fatalf("created %+v", s)
	}
	select {
	case <-changed:
	default:
		t.Fatal("creating a silence did not wake ConfigChanged's watchers")
	}
	if got := must[Silence](t)(st.Silence(ctx, "move")); !reflect.DeepEqual(got, s) {
		t.Fatalf("read back %+v\nwant %+v", got, s)
	}
	_, err := st.CreateSilence(ctx, s)
	wantErr(t, err, ErrConflict, `silence "move" already exists`)

	// Weekly; days in week order.
	w := must[Silence](t)(st.CreateSilence(ctx, Silence{Name: "patch", Scope: Scope{Services: []string{"shop"}},
		Weekly: &Weekly{Days: []string{"sun", "mon"}, At: "23:30", Duration: Duration(3 * time.Hour), Timezone: "America/New_York"}}))
	if !slices.Equal(w.Weekly.Days, []string{"mon", "sun"}) || !slices.Equal(w.Weekly.Weekdays(), []time.Weekday{time.Monday, time.Sunday}) {
		t.Fatalf("weekly %+v", w.Weekly)
	}
	if at, err := w.Weekly.Clock(); err != nil || at != 23*time.Hour+30*time.Minute {
		t.Fatalf("clock %v %v", at, err)
	}
	if loc, err := w.Weekly.Location(); err != nil || loc.String() != "America/New_York" {
		t.Fatalf("location %v %v", loc, err)
	}
	if loc, err := (&Weekly{}).Location(); err != nil || loc != time.UTC {
		t.Fatalf("default location %v %v", loc, err)
	}

	// Renames follow; what a silence names cannot be deleted.
	must[Host](t)(st.UpdateHost(ctx, "web1", Host{Name: "web1-new"}))
	must[Service](t)(st.UpdateService(ctx, "shop", Service{Name: "store", Dependencies: []Member{{Service: "db"}}}))
	if got := must[Silence](t)(st.Silence(ctx, "move")); !slices.Equal(got.Scope.Hosts, []string{"web1-new", "web2"}) {
		t.Fatalf("scope after rename %+v", got.Scope)
	}
	if got := must[Silence](t)(st.Silence(ctx, "patch")); !slices.Equal(got.Scope.Services, []string{"store"}) {
		t.Fatalf("scope after rename %+v", got.Scope)
	}
	wantErr(t, st.DeletePlugin(ctx, "load"), ErrConflict, "silence move")
	wantErr(t, st.DeleteService(ctx, "store"), ErrConflict, "silence patch")

	// Update: one-off to weekly and back, rename.
	up := must[Silence](t)(st.UpdateSilence(ctx, "move", Silence{Name: "moved", Weekly: &Weekly{Days: []string{"sat"}, At: "00:00", Duration: Duration(7 * 24 * time.Hour)}}))
	if up.Name != "moved" || !up.Start.IsZero() || up.Weekly == nil || up.CreatedBy != "" {
		t.Fatalf("updated %+v", up)
	}
	list := must[[]Silence](t)(st.Silences(ctx))
	if len(list) != 2 || list[0].Name != "moved" || list[1].Name != "patch" {
		t.Fatalf("list %+v", list)
	}
	wantErr(t, st.DeleteSilence(ctx, "move"), ErrNotFound, `silence "move" not found`)
	if err := st.DeleteSilence(ctx, "moved"); err != nil {
		t.Fatal(err)
	}
	must[Plugin](t)(st.Plugin(ctx, "load"))
}

func TestSilenceValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	seed(t, st)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	weekly := func() *Weekly { return &Weekly{Days: []string{"mon"}, At: "02:00", Duration: Duration(time.Hour)} }
	f := func(s Silence, parts ...string) {
		t.Helper()
		if s.Name == "" {
			s.Name = "x"
		}
		_, err := st.CreateSilence(ctx, s)
		wantErr(t, err, ErrInvalid, parts...)
	}
	f(Silence{Name: "a b", Start: t0, End: t0.Add(time.Hour)}, `silence "a b": name must match`)
	f(Silence{}, `silence "x": give start and end (a one-off silence) or weekly (a recurring one)`)
	f(Silence{Start: t0}, "end is required with start")
	f(Silence{End: t0}, "start is required with end")
	f(Silence{Start: t0, End: t0}, "end 2026-12-01T09:00:00Z must be after start 2026-12-01T09:00:00Z")
	f(Silence{Start: t0, End: t0.Add(-time.Hour)}, "must be after start")
	f(Silence{Start: time.Unix(-10, 0), End: t0}, "must be after 1970")
	f(Silence{Start: t0, End: t0.Add(time.Hour), Weekly: weekly()}, "give either start and end (one-off) or weekly (recurring), not both")
	f(Silence{Weekly: &Weekly{At: "02:00", Duration: Duration(time.Hour)}}, "weekly.days needs at least one day (mon, tue, wed, thu, fri, sat, sun)")
	f(Silence{Weekly: &Weekly{Days: []string{"monday"}, At: "02:00", Duration: Duration(time.Hour)}}, `weekly.days: "monday" is not one of mon`)
	f(Silence{Weekly: &Weekly{Days: []string{"mon", "mon"}, At: "02:00", Duration: Duration(time.Hour)}}, `weekly.days lists "mon" twice`)
	for _, at := range []string{"", "2:00", "24:00", "12:60", "12:00:00", "noon"} {
		f(Silence{Weekly: &Weekly{Days: []string{"mon"}, At: at, Duration: Duration(time.Hour)}}, `weekly.at "`+at+`" must be a 24-hour time HH:MM`)
	}
	f(Silence{Weekly: &Weekly{Days: []string{"mon"}, At: "02:00"}}, "weekly.duration 0s must be more than 0s and at most 7d")
	f(Silence{Weekly: &Weekly{Days: []string{"mon"}, At: "02:00", Duration: Duration(7*24*time.Hour + time.Minute)}}, "weekly.duration 1w1m")
	for _, tz := range []string{"Mars/Olympus", "Local", "../../etc/passwd"} {
		f(Silence{Weekly: &Weekly{Days: []string{"mon"}, At: "02:00", Duration: Duration(time.Hour), Timezone: tz}},
			`weekly.timezone "`+tz+`" is not a known IANA time zone`)
	}
	f(Silence{Weekly: &Weekly{Days: []string{"mon"}, At: "02:00", Duration: Duration(time.Hour), Timezone: strings.Repeat("A", 65)}},
		"weekly.timezone is 65 bytes long; the limit is 64")
	f(Silence{Weekly: weekly(), Comment: strings.Repeat("c", 4097)}, "comment is 4097 bytes long; the limit is 4096")
	f(Silence{Weekly: weekly(), CreatedBy: strings.Repeat("c", 257)}, "created_by is 257 bytes long")
	f(Silence{Weekly: weekly(), Scope: Scope{Hosts: []string{"ghost"}}}, `silence "x": unknown host "ghost"`)
	f(Silence{Weekly: weekly(), Scope: Scope{Checks: []string{"cpu", "cpu"}}}, `scope.checks lists "cpu" twice`)
	if list := must[[]Silence](t)(st.Silences(ctx)); len(list) != 0 {
		t.Fatalf("refused silences were stored: %+v", list)
	}
	// An empty scope silences everything; a 7-day window is the most.
	must[Silence](t)(st.CreateSilence(ctx, Silence{Name: "all", Weekly: &Weekly{Days: []string{"sun"}, At: "00:00", Duration: Duration(7 * 24 * time.Hour)}}))
}

func TestSilenceDocumentErrors(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	f := func(yml string, parts ...string) {
		t.Helper()
		doc, err := ParseDocumentYAML([]byte(yml))
		if err == nil {
			_, err = st.Apply(ctx, doc, false)
		}
		wantErr(t, err, ErrInvalid, parts...)
	}
	f("silences:\n  - name: s\n    weekly: {days: [mon], at: '02:00', duration: 1h}\n    scope: {hosts: [ghost]}\n", `silence "s": unknown host "ghost"`)
	f("silences:\n  - name: s\n    weekly: {days: [mon], at: '02:00', duration: 1h}\n    scope: {plugins: [ghost]}\n", `silence "s": unknown plugin "ghost"`)
	f("silences:\n  - name: s\n    weekly: {days: [mon], at: '02:00', duration: 1h, every: 2}\n", `field every not found`)
	f("silences:\n  - name: s\n    start: tomorrow\n    end: 2026-01-01T00:00:00Z\n", "parse YAML")
	f("silences:\n  - name: s\n    weekly: {days: [mon], at: '02:00', duration: 1h}\n  - name: s\n    weekly: {days: [mon], at: '02:00', duration: 1h}\n",
		`silence "s" is defined twice`)
	if list := must[[]Silence](t)(st.Silences(ctx)); len(list) != 0 {
		t.Fatalf("refused silences were stored: %+v", list)
	}
}
