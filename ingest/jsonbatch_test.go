package ingest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/wire"
)

func TestParseBatchMatchesEncodingJSON(t *testing.T) {
	f := func(body string) {
		t.Helper()
		var got, want wire.Batch
		if err := parseBatch([]byte(body), &got); err != nil {
			t.Fatalf("parseBatch(%s): %v", body, err)
		}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", body, err)
		}
		if !reflect.DeepEqual(normalise(got), normalise(want)) {
			t.Fatalf("parseBatch(%s)\n got %+v\nwant %+v", body, got, want)
		}
	}
	full, _ := json.Marshal(sampleBatch())
	f(string(full))
	f(`{"results":[]}`)
	f(`{"results":null}`)
	f(` { "results" : [ { "host" : "h" , "plugin":"p","timestamp":1 } ] } `)
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1,"value":null,"metrics":null}]}`)
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1,"value":-1.5e-3,"duration":0,"exit_status":-1}]}`)
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1,"message":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00 é"}]}`)
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1,"message":"lone \ud83d surrogate"}]}`)
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1,"metrics":[{"name":"m","labels":{"a":"b","c":"d"},"value":1},{"name":"n","labels":{},"value":2}]}]}`)
	f(`{"results":[{"host":"h","host":"h2","plugin":"p","timestamp":9223372036854775807}]}`)
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1,"skipped":true,"metrics":[{"name":"m","value":1,"unit":"bytes","counter":true},{"name":"n","value":2,"counter":false}]}]}`)
}

func TestParseBatchRejects(t *testing.T) {
	f := func(body, want string) {
		t.Helper()
		var b wire.Batch
		err := parseBatch([]byte(body), &b)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("parseBatch(%s) = %v, want an error containing %q", body, err, want)
		}
	}
	f(``, "unexpected end of input")
	f(`{"results":[{"host":"h"}]`, "unexpected end")
	f(`{"results":[{"HOST":"h"}]}`, `unknown field "HOST"`)
	f(`{"results":[{"host":"h"}]} x`, "trailing data")
	f(`{"results":[{"timestamp":1.0}]}`, "1.0 is not an integer")
	f(`{"results":[{"timestamp":1e3}]}`, "is not an integer")
	f(`{"results":[{"timestamp":99999999999999999999}]}`, "out of range")
	f(`{"results":[{"timestamp":01}]}`, "leading zero")
	f(`{"results":[{"value":1e999}]}`, "out of range")
	f(`{"results":[{"value":NaN}]}`, "want a number")
	f(`{"results":[{"value":"1"}]}`, "want a number")
	f(`{"results":[{"value":-}]}`, "want a number")
	f(`{"results":[{"value":1.}]}`, "digits after '.'")
	f(`{"results":[{"exit_status":4294967296}]}`, "out of range")
	f(`{"results":[{"host":"a`+"\n"+`b"}]}`, "control character")
	f(`{"results":[{"host":"a\x"}]}`, `invalid escape \x`)
	f(`{"results":[{"host":"a\u12"}]}`, `bad \u escape`)
	f("{\"results\":[{\"host\":\"\xff\"}]}", "not valid UTF-8")
	f(`{"results":[{"host":"h",}]}`, "want a quoted field name")
	f(`{"results":[{"host" "h"}]}`, `want ':'`)
	f(`{"results":[1]}`, `want '{'`)
	f(`{"results":{}}`, `want '['`)
	f(`{"results":[{"metrics":[{"labels":{"a":1}}]}]}`, `want '"'`)
	f(`{"results":[{"skipped":1}]}`, "want true or false")
	f(`{"results":[{"skipped":tru}]}`, "want true or false")
}

// normalise makes nil and empty slices and maps compare equal.
func normalise(b wire.Batch) wire.Batch {
	if len(b.Results) == 0 {
		b.Results = nil
	}
	for i := range b.Results {
		r := &b.Results[i]
		if len(r.Metrics) == 0 {
			r.Metrics = nil
		}
		for j := range r.Metrics {
			if len(r.Metrics[j].Labels) == 0 {
				r.Metrics[j].Labels = nil
			}
		}
	}
	return b
}

// FuzzParseBatch: whatever parseBatch accepts, encoding/json decodes to the
// same batch (parseBatch may be stricter, never looser or different).
func FuzzParseBatch(f *testing.F) {
	full, _ := json.Marshal(sampleBatch())
	f.Add(full)
	f.Add([]byte(`{"results":[{"host":"h","plugin":"p","timestamp":1,"message":"\u00e9\ud83d\ude00"}]}`))
	f.Add([]byte(`{"results":[{"metrics":[{"name":"m","labels":{"a":"b"},"value":-0.5e10}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want wire.Batch
		if err := parseBatch(data, &got); err != nil {
			return
		}
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("parseBatch accepted what encoding/json refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(normalise(got), normalise(want)) {
			t.Fatalf("parseBatch(%q)\n got %+v\nwant %+v", data, got, want)
		}
	})
}

func benchBody() []byte {
	var b wire.Batch
	for i := 0; i < 500; i++ {
		v := float64(i) * 1.37
		b.Results = append(b.Results, wire.Result{Host: fmt.Sprintf("host%03d", i%100), Plugin: "load", Check: "resources",
			Timestamp: 1763640000000 + int64(i), Value: &v, Message: fmt.Sprintf("OK - load average: %.2f, 0.48, 0.41", v), Duration: 0.012})
	}
	d, _ := json.Marshal(b)
	return d
}

func BenchmarkDecodeBatch(b *testing.B) {
	d := benchBody()
	b.Run("parseBatch", func(b *testing.B) {
		b.SetBytes(int64(len(d)))
		b.ReportAllocs()
		for b.Loop() {
			var x wire.Batch
			if err := parseBatch(d, &x); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "results/s")
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(d)))
		b.ReportAllocs()
		for b.Loop() {
			var x wire.Batch
			if err := json.Unmarshal(d, &x); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "results/s")
	})
}
