package classify

import (
	"context"
	"strconv"
	"testing"
)

const realistic = `-- critical when load was above 8 for the last 5 runs
if consecutive(values, function(v) return v > 8 end) >= 5 then return "critical" end
if values[1] > 4 then return "minor" end
return "ok"
`

func benchHistory() History {
	h := History{}
	for i := 0; i < 10; i++ {
		h.Values = append(h.Values, float64(9+i%3))
		h.Messages = append(h.Messages, "load average: 9.1 8.7 8.2")
		h.Timestamps = append(h.Timestamps, 1_700_000_000_000-int64(i)*60_000)
		h.States = append(h.States, Critical)
	}
	return h
}

// BenchmarkClassify measures one classification of a 10-result history by
// the realistic classifier of the package doc, on one goroutine and on all.
func BenchmarkClassify(b *testing.B) {
	c, err := Compile("load", realistic)
	if err != nil {
		b.Fatal(err)
	}
	h := benchHistory()
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if st, err := c.Classify(ctx, h); err != nil || st != Critical {
				b.Fatal(st, err)
			}
		}
	})
	// Many host x plugin series through one classifier, each with its own
	// values and messages, as ingest will feed it.
	hosts := make([]History, 1000)
	for i := range hosts {
		h := benchHistory()
		for j := range h.Values {
			h.Values[j] = float64((i*7+j*3)%13) + 0.5
			h.Messages[j] = "load average: " + strconv.Itoa(i) + "." + strconv.Itoa(j)
		}
		hosts[i] = h
	}
	b.Run("hosts", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := c.Classify(ctx, hosts[i%len(hosts)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if st, err := c.Classify(ctx, h); err != nil || st != Critical {
					b.Error(st, err)
					return
				}
			}
		})
	})
}
