package spool

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/prophasis/prophasis/wire"
)

func TestCodecRoundTrip(t *testing.T) {
	v, neg := 42.5, math.Inf(-1)
	f := func(r wire.Result) {
		t.Helper()
		var got wire.Result
		if err := decodeResult(encodeResult(nil, &r), &got, &arena{}); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("got %+v\nwant %+v", got, r)
		}
	}
	f(wire.Result{})
	f(wire.Result{Host: "h", Plugin: "p", Timestamp: -1, Value: &neg, ExitStatus: -3})
	f(wire.Result{Host: "h", Plugin: "p", Timestamp: math.MaxInt64, Value: &v, Message: "ünïcode\x00\n", Skipped: true, Duration: 1e-9})
	f(result(12345))
	f(wire.Result{Metrics: []wire.Metric{{}, {Name: "a", Labels: map[string]string{"": "", "k": "v"}, Unit: "percent", Counter: true}}})
}

func TestDecodeRejects(t *testing.T) {
	r := result(3)
	good := encodeResult(nil, &r)
	f := func(name string, p []byte) {
		t.Helper()
		var got wire.Result
		if err := decodeResult(p, &got, &arena{}); err == nil {
			t.Fatalf("%s: decoded without error", name)
		}
	}
	f("empty", nil)
	f("other version", append([]byte{2}, good[1:]...))
	f("cut", good[:len(good)-1])
	f("trailing byte", append(good[:len(good):len(good)], 0))
	f("huge metric count", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
}

// segmentBytes returns a valid segment of results numbered from first.
func segmentBytes(first uint64, rs ...wire.Result) []byte {
	var b []byte
	for i := range rs {
		b = appendRecord(b, first+uint64(i), func(b []byte) []byte { return encodeResult(b, &rs[i]) })
	}
	return b
}

func FuzzDecodeSegment(f *testing.F) {
	seg := segmentBytes(7, results(0, 3)...)
	f.Add(seg, uint64(7))
	f.Add(seg[:len(seg)-5], uint64(7))
	f.Add(seg, uint64(8))
	f.Add([]byte{}, uint64(0))
	f.Add(segmentBytes(0, wire.Result{}), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, first uint64) {
		var offs []int
		end, next, err := scanSegment(data, first, func(seq uint64, payload []byte, off int) {
			offs = append(offs, off)
			if seq != first+uint64(len(offs)-1) {
				t.Fatalf("record %d numbered %d, want %d", len(offs)-1, seq, first+uint64(len(offs)-1))
			}
			h := data[off:]
			size := binary.LittleEndian.Uint32(h)
			if int(size) != len(payload) || !bytes.Equal(payload, h[recordHeader:recordHeader+int(size)]) {
				t.Fatalf("payload of record at %d is not the bytes after its header", off)
			}
			crc := crc32.Update(crc32.Update(0, castagnoli, h[8:16]), castagnoli, payload)
			if crc != binary.LittleEndian.Uint32(h[4:]) {
				t.Fatalf("record at %d passed with a wrong checksum", off)
			}
			var r wire.Result
			if decodeResult(payload, &r, &arena{}) == nil {
				// What decodes re-encodes to something that decodes the same.
				var again wire.Result
				if err := decodeResult(encodeResult(nil, &r), &again, &arena{}); err != nil {
					t.Fatalf("re-decode: %v", err)
				}
				if !equalResults(r, again) {
					t.Fatalf("re-decoded %+v, want %+v", again, r)
				}
			}
		})
		if end > len(data) || next != first+uint64(len(offs)) {
			t.Fatalf("end %d of %d bytes, next %d after %d records from %d", end, len(data), next, len(offs), first)
		}
		if err == nil && end != len(data) {
			t.Fatalf("clean end at %d of %d bytes", end, len(data))
		}
		countValid(data, end, 0)
	})
}

// equalResults compares results, with NaN equal to NaN.
func equalResults(a, b wire.Result) bool {
	return reflect.DeepEqual(
		encodeResultSorted(a), encodeResultSorted(b))
}

// encodeResultSorted encodes r with metric labels in a fixed order.
func encodeResultSorted(r wire.Result) []byte {
	var out []byte
	for i := range r.Metrics {
		l := r.Metrics[i].Labels
		r.Metrics[i].Labels = nil
		for _, k := range slices.Sorted(maps.Keys(l)) {
			out = append(out, k...)
			out = append(out, 0)
			out = append(out, l[k]...)
			out = append(out, 0)
		}
	}
	return append(out, encodeResult(nil, &r)...)
}
