package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func newDecoder() *Ingester {
	return New(nil, nil, nil, discard(), Options{Now: func() time.Time { return testNow }})
}

func TestDecodeBatchErrors(t *testing.T) {
	in := newDecoder()
	now := testNow.UnixMilli()
	f := func(body, wantErr string) {
		t.Helper()
		_, err := in.DecodeBatch(strings.NewReader(body), "")
		if err == nil {
			t.Fatalf("decode %q: no error, want %q", body, wantErr)
		}
		if !errors.Is(err, ErrBadInput) {
			t.Fatalf("decode %q: error %v is not ErrBadInput", body, err)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("decode %q: error %q, want it to contain %q", body, err, wantErr)
		}
	}
	res := func(fields string) string {
		return fmt.Sprintf(`{"results":[{"host":"h","plugin":"p","timestamp":%d%s}]}`, now, fields)
	}
	f(``, "decode JSON batch")
	f(`{"results":[`, "decode JSON batch")
	f(`[]`, "decode JSON batch")
	f(`{"results":[]}`, "batch has no results")
	f(`{"results":null}`, "batch has no results")
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1}]} {}`, "trailing data")
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1,"colour":"red"}]}`, `unknown field "colour"`)
	f(`{"results":[{"host":"h","plugin":"p","timestamp":NaN}]}`, "decode JSON batch")
	f(`{"results":[{"host":"h","plugin":"p","timestamp":1.5}]}`, "decode JSON batch")
	f(`{"results":[{"host":"h","plugin":"p","timestamp":"now"}]}`, "decode JSON batch")
	f(`{"results":[{"host":"h","plugin":"p"}]}`, "results[0]: timestamp: 0 is not a time")
	f(`{"results":[{"host":"h","plugin":"p","timestamp":-5}]}`, "timestamp: -5 is not a time")
	f(res(`,"timestamp":`+fmt.Sprint(now+int64(11*time.Minute/time.Millisecond))), "in the future")
	f(`{"results":[{"host":"","plugin":"p","timestamp":1}]}`, "results[0]: host: must not be empty")
	f(`{"results":[{"host":"web 1","plugin":"p","timestamp":1}]}`, `host: "web 1": only letters`)
	f(`{"results":[{"host":"-web","plugin":"p","timestamp":1}]}`, `host: "-web"`)
	f(`{"results":[{"host":"h","plugin":"","timestamp":1}]}`, "plugin: must not be empty")
	f(`{"results":[{"host":"h","plugin":"a/b","timestamp":1}]}`, `plugin: "a/b"`)
	f(`{"results":[{"host":"h","plugin":"`+strings.Repeat("p", 129)+`","timestamp":1}]}`, "plugin: 129 characters")
	f(`{"results":[{"host":"h","plugin":"p","check":"x y","timestamp":1}]}`, `check: "x y"`)
	f(res(`,"duration":-1`), "duration: -1 is not")
	f(res(`,"message":"`+strings.Repeat("m", MaxMessageBytes+1)+`"`), "message: 65537 bytes")
	f(res(`,"message":"\xff"`), "decode JSON batch") // not a JSON escape
	f(res(`,"metrics":[{"name":"1x","value":1}]`), `metrics[0]: name "1x"`)
	f(res(`,"metrics":[{"name":"x","labels":{"host":"a"},"value":1}]`), `label name "host" is reserved`)
	f(res(`,"metrics":[{"name":"x","labels":{"__x":"a"},"value":1}]`), `label name "__x"`)
	f(res(`,"metrics":[{"name":"x","labels":{"a-b":"a"},"value":1}]`), `label name "a-b"`)
	f(res(`,"value":1e999`), "decode JSON batch")

	var many strings.Builder
	many.WriteString(`{"results":[`)
	for i := 0; i <= 10_000; i++ {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `{"host":"h","plugin":"p","timestamp":%d}`, now)
	}
	many.WriteString(`]}`)
	f(many.String(), "batch has 10001 results, more than the limit of 10000")
}

func TestDecodeBatchInvalidUTF8Message(t *testing.T) {
	// encoding/json replaces invalid UTF-8 in strings with U+FFFD, so an
	// invalid message can only arrive through a non-JSON path; the validator
	// still refuses one.
	r := sampleBatch().Results[0]
	r.Message = "bad \xff"
	if err := validateResult(&r, testNow.UnixMilli()); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Fatalf("validateResult = %v, want a UTF-8 error", err)
	}
}

func TestDecodeBatchTooLarge(t *testing.T) {
	in := newDecoder()
	_, err := in.DecodeBatch(bytes.NewReader(make([]byte, MaxBodyBytes+1)), "")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestDecodeBatchGzip(t *testing.T) {
	in := newDecoder()
	body, err := json.Marshal(sampleBatch())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(body)
	zw.Close()
	b, err := in.DecodeBatch(&buf, "gzip")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Results) != 3 || b.Results[2].Metrics[1].Labels["mount"] != "/var" {
		t.Fatalf("decoded %+v", b)
	}
	if _, err := in.DecodeBatch(bytes.NewReader(body), "gzip"); !errors.Is(err, ErrBadInput) {
		t.Fatalf("plain body sent as gzip: err = %v, want ErrBadInput", err)
	}
	if _, err := in.DecodeBatch(bytes.NewReader(body), "br"); err == nil || !strings.Contains(err.Error(), `"br" not supported`) {
		t.Fatalf("brotli: err = %v", err)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	body, _ := json.Marshal(sampleBatch())
	f.Add(body)
	f.Add([]byte(`{"results":[{"host":"h","plugin":"p","timestamp":1}]}`))
	f.Add([]byte(`{"results":[{"host":"h","plugin":"p","timestamp":1,"metrics":[{"name":"a","labels":{"x":"y"},"value":1}]}]}`))
	f.Add([]byte(`{}`))
	in := newDecoder()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := in.DecodeBatch(bytes.NewReader(data), "")
		if err != nil {
			if !errors.Is(err, ErrBadInput) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither bad input nor too large", err)
			}
			return
		}
		// Whatever decodes must satisfy every rule the writer relies on.
		if len(b.Results) == 0 || len(b.Results) > 10_000 {
			t.Fatalf("accepted a batch of %d results", len(b.Results))
		}
		for i := range b.Results {
			if err := validateResult(&b.Results[i], testNow.Add(10*time.Minute).UnixMilli()); err != nil {
				t.Fatalf("accepted an invalid result: %v", err)
			}
		}
	})
}
