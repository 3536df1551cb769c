package nagios

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

// show renders metrics compactly: name{k=v} value unit [counter], one per line.
func show(ms []wire.Metric) string {
	var lines []string
	for _, m := range ms {
		s := m.Name
		if len(m.Labels) > 0 {
			var kv []string
			for k, v := range m.Labels {
				kv = append(kv, k+"="+strconv.Quote(v))
			}
			sort.Strings(kv)
			s += "{" + strings.Join(kv, ",") + "}"
		}
		s += " " + strconv.FormatFloat(m.Value, 'g', -1, 64)
		if m.Unit != "" {
			s += " " + m.Unit
		}
		if m.Counter {
			s += " counter"
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

func TestParsePerfdata(t *testing.T) {
	f := func(in, want string, wantNotes int) {
		t.Helper()
		ms, notes := ParsePerfdata(in)
		if got := show(ms); got != want {
			t.Errorf("ParsePerfdata(%q):\ngot\n%s\nwant\n%s", in, got, want)
		}
		if len(notes) != wantNotes {
			t.Errorf("ParsePerfdata(%q): %d notes %q, want %d", in, len(notes), notes, wantNotes)
		}
	}
	f("", "", 0)
	f("   \n ", "", 0)
	f("procs=70;;;0;", "procs 70\nprocs_min 0", 0)
	f("users=0;5;10;0", "users 0\nusers_warn 5\nusers_crit 10\nusers_min 0", 0)
	f("load1=0.980;50.000;100.000;0; load5=1.190;40.000;80.000;0; ",
		"load1 0.98\nload1_warn 50\nload1_crit 100\nload1_min 0\nload5 1.19\nload5_warn 40\nload5_crit 80\nload5_min 0", 0)
	// Units.
	f("time=0.5s", "time 0.5 seconds", 0)
	f("rta=250ms", "rta 0.25 seconds", 0)
	f("t=1500us", "t 0.0015 seconds", 0)
	f("t=2000000ns", "t 0.002 seconds", 0)
	f("pl=5%;20;60;0;100", "pl 5 percent\npl_warn 20 percent\npl_crit 60 percent\npl_min 0 percent\npl_max 100 percent", 0)
	f("swap=0B;0;0;0;0", "swap 0 bytes\nswap_warn 0 bytes\nswap_crit 0 bytes\nswap_min 0 bytes\nswap_max 0 bytes", 0)
	f("m=2KB", "m 2048 bytes", 0)
	f("m=1.5MB;1;2", "m 1.572864e+06 bytes\nm_warn 1.048576e+06 bytes\nm_crit 2.097152e+06 bytes", 0)
	f("m=1GB m2=1TB m3=2MiB", "m 1.073741824e+09 bytes\nm2 1.099511627776e+12 bytes\nm3 2.097152e+06 bytes", 0)
	f("in=12345c", "in 12345 counter", 0)
	f("x=1furlongs", "x 1", 1)
	// Negative, signed, exponent, decimal comma.
	f("temp=-5.5;-10;-20", "temp -5.5\ntemp_warn -10\ntemp_crit -20", 0)
	f("a=+3 b=1e3 c=2.5E-1 d=.5 e=0,98", "a 3\nb 1000\nc 0.25\nd 0.5\ne 0.98", 0)
	// Labels: quoted, escaped quotes, spaces, paths.
	f("'time taken'=3s", "time_taken{label=\"time taken\"} 3 seconds", 0)
	f("'it''s'=1", "it_s{label=\"it's\"} 1", 0)
	f("'a=b'=1", "a_b{label=\"a=b\"} 1", 0)
	f("/=18863882240B;243497277849;257024904396;0;270552530944",
		"path{label=\"/\"} 1.886388224e+10 bytes\npath_warn{label=\"/\"} 2.43497277849e+11 bytes\npath_crit{label=\"/\"} 2.57024904396e+11 bytes\npath_min{label=\"/\"} 0 bytes\npath_max{label=\"/\"} 2.70552530944e+11 bytes", 0)
	f("'/var/log'=10MB /home=1KB", "path{label=\"/var/log\"} 1.048576e+07 bytes\npath{label=\"/home\"} 1024 bytes", 0)
	f("1min=3 rta-ms=4", "_1min{label=\"1min\"} 3\nrta_ms{label=\"rta-ms\"} 4", 0)
	// Ranges: upper end if finite, else lower end; ~: alone yields nothing.
	f("x=5;10:20;@5:30", "x 5\nx_warn 20\nx_crit 30", 0)
	f("x=5;10:;~:40", "x 5\nx_warn 10\nx_crit 40", 0)
	f("x=5;~:;:7", "x 5\nx_crit 7", 0)
	f("t=5ms;100ms;200", "t 0.005 seconds\nt_warn 0.1 seconds\nt_crit 0.2 seconds", 0)
	// Malformed items are skipped, each noted, the rest kept.
	f("a=U b=2", "b 2", 1)
	f("a=NaN b=inf c=-Inf d=2", "d 2", 3)
	f("a=1e999 b=1", "b 1", 1)
	f("a=1e308TB b=1", "b 1", 1)
	f("garbage a=1", "a 1", 1)
	f("=5 a=1", "a 1", 1)
	f("a= b=1", "b 1", 1)
	f("'unbalanced=1 b=2", "", 1)
	f("'x'y=1 b=2", "b 2", 1)
	f("a=1;abc;;xyz", "a 1", 2)
	f("a=1 a=2", "a 1", 1)
	f("a=1;;;;;extra", "a 1", 0)
	f("'"+strings.Repeat("x", 300)+"'=1 b=2", "b 2", 1)
}

func TestParsePerfdataLimit(t *testing.T) {
	var sb strings.Builder
	for i := range pluginout.MaxMetrics + 10 {
		sb.WriteString("m" + strconv.Itoa(i) + "=1 ")
	}
	ms, notes := ParsePerfdata(sb.String())
	if len(ms) != pluginout.MaxMetrics {
		t.Fatalf("got %d metrics, want the limit %d", len(ms), pluginout.MaxMetrics)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "10 perfdata metrics dropped") {
		t.Fatalf("notes %q, want one saying 10 were dropped", notes)
	}
}

func FuzzParsePerfdata(f *testing.F) {
	for _, s := range []string{
		"load1=0.980;50.000;100.000;0; load5=1.190;40.000;80.000;0;",
		"/=18863882240B;243497277849;257024904396;0;270552530944",
		"'time taken'=3s;@1:2;~:5;0;10 'it''s'=-1,5c",
		"a=U b=NaN 'c=1 d=1e999TB",
		"x=5;10:;~:40 y=1KB;2;3;4;5;6",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, _ := ParsePerfdata(s)
		if len(ms) > pluginout.MaxMetrics {
			t.Fatalf("%d metrics, above the limit", len(ms))
		}
		for _, m := range ms {
			if !pluginout.ValidName(m.Name) {
				t.Fatalf("invalid metric name %q from %q", m.Name, s)
			}
			if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("metric %s has value %v from %q", m.Name, m.Value, s)
			}
			for k := range m.Labels {
				if !pluginout.ValidLabelName(k) {
					t.Fatalf("invalid label name %q", k)
				}
				if !utf8.ValidString(m.Labels[k]) {
					t.Fatalf("label value %q is not UTF-8", m.Labels[k])
				}
			}
		}
	})
}
