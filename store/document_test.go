package store

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDocumentYAMLErrors(t *testing.T) {
	f := func(in string, parts ...string) {
		t.Helper()
		_, err := ParseDocumentYAML([]byte(in))
		wantErr(t, err, ErrInvalid, parts...)
	}
	f("", "the document is empty")
	f("  \n\n", "the document is empty")
	f("# only a comment\n", "the document is empty")
	f("hosts:\n  - name: a\n    adress: x\n", "line 3", "field adress not found")
	f("hosst: []\n", "field hosst not found")
	f("hosts: []\n---\nhosts: []\n", "more than one YAML document")
	f("hosts: {name: a}\n", "line 1", "cannot unmarshal")
	f("schedules:\n  - name: s\n    intervals:\n      - period: 5\n", `unknown or misplaced unit ""`)
	f("schedules:\n  - name: s\n    intervals:\n      - period: [1]\n", "line 4", "a duration must be a string")
	f("schedules:\n  - name: s\n    intervals:\n      - period: 1m\n        start: yesterday\n", `parsing time "yesterday"`)
	f("hosts: [\n", "line")
	f("id: 3\n", "field id not found")
	f("hosts:\n  - name: a\n    id: 7\n", "field id not found")
	f("a: &a [*a, *a]\nhosts: *a\n", "parse YAML")
	f(strings.Repeat(" ", MaxDocumentBytes+1), "the limit is")
}

func TestParseDocumentJSON(t *testing.T) {
	doc, err := ParseDocumentJSON([]byte(`{"version": 1, "hosts": [{"name": "a", "labels": {"x": "y"}}],
		"schedules": [{"name": "s", "intervals": [{"period": "1m", "start": "2025-01-01T00:00:00Z"}], "max_lateness": "10s"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Hosts[0].Labels["x"] != "y" || doc.Schedules[0].Intervals[0].Period != Duration(time.Minute) || doc.Schedules[0].MaxLateness != Duration(10*time.Second) {
		t.Fatalf("doc %+v", doc)
	}
	f := func(in string, parts ...string) {
		t.Helper()
		_, err := ParseDocumentJSON([]byte(in))
		wantErr(t, err, ErrInvalid, parts...)
	}
	f("", "empty")
	f(`{"hosts": [{"name": "a", "adress": "x"}]}`, `unknown field "adress"`)
	f(`{"hosts": []} {"hosts": []}`, "unexpected data after the document")
	f("{\n\"hosts\": [\n{\"name\": 5}]}", "line 3", "cannot unmarshal number")
	f(`{"schedules": [{"name": "s", "intervals": [{"period": 60}]}]}`, `a duration must be a string such as "30s"`)
	f(`{"hosts": [`, "unexpected EOF")
}

func TestExampleDocumentMatchesDocs(t *testing.T) {
	// docs/configuration.md shows testdata/example.yaml; keep them in step.
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	body := string(example)
	body = body[strings.Index(body, "version: 1"):]
	if !strings.Contains(string(docs), body) {
		t.Fatal("docs/configuration.md does not contain store/testdata/example.yaml (from `version: 1` on); copy it over")
	}
}

// FuzzParseDocumentYAML feeds the decoder arbitrary bytes. It must never
// panic, and a document that decodes and validates must survive a round trip
// through YAML unchanged (what export writes, apply reads back the same).
//
//	go test ./store -run '^$' -fuzz FuzzParseDocumentYAML -fuzztime 30s
func FuzzParseDocumentYAML(f *testing.F) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, name := range []string{"testdata/rules.yaml", "testdata/alerting.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"hosts: []\n",
		"version: 1\nhosts:\n  - name: a\n    labels: {a: b}\n",
		"groups:\n  - name: g\n    groups: [g]\n",
		"schedules:\n  - name: s\n    intervals: [{period: 1w2d, start: 2025-01-01T00:00:00+01:00}]\n",
		"services:\n  - name: s\n    redundancy_groups: [{name: r, k: 1, members: [{host: h}]}]\n",
		"alert_rules:\n  - name: a\n    to: [critical]\n    modules: [m]\n    delay: 0\n",
		"schedules:\n  - name: s\n    intervals: [{period: 1m}]\nchecks:\n  - name: c\n    plugins: [p]\n    schedule: s\n    attempts: 2\n    flapping: {window: 5, start: 0.5}\n    classifiers: {p: \"return 'ok'\\n\"}\n",
		"trend_rules:\n  - name: t\n    selector: up\n    window: 1h\n    interval: 0\n    expr: x\n    disabled: true\n",
		"silences:\n  - name: s\n    start: 2026-01-01T00:00:00.5+01:00\n    end: 2026-01-02T00:00:00Z\n",
		"silences:\n  - name: s\n    weekly: {days: [sun, mon], at: '23:59', duration: 7d, timezone: Asia/Kolkata}\n",
		"a: &a [*a]\n",
		"hosts: !!binary aGVsbG8=\n",
		"{\"hosts\": [{\"name\": \"x\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseDocumentYAML(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parse error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := doc.validate(); err != nil {
			return
		}
		out, err := doc.YAML()
		if err != nil {
			t.Fatalf("encode a valid document: %v", err)
		}
		again, err := ParseDocumentYAML(out)
		if err != nil {
			t.Fatalf("re-parse encoded document: %v\n%s", err, out)
		}
		if err := again.validate(); err != nil {
			t.Fatalf("re-parsed document invalid: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(doc, again) {
			t.Fatalf("round trip changed the document\nbefore: %+v\nafter:  %+v\nYAML:\n%s", doc, again, out)
		}
	})
}
