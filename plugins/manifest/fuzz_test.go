package manifest

import (
	"strings"
	"testing"
)

// FuzzParseValidate feeds Parse and Validate arbitrary bytes: neither may
// panic, a valid manifest's helpers must not either, and every problem
// Validate reports names the manifest.
func FuzzParseValidate(f *testing.F) {
	f.Add([]byte(goodJSON))
	f.Add([]byte(`{"name":"x","version":"1.0.0-rc.1+b","description":"d","kind":"builtin","entrypoint":"cpu"}`))
	f.Add([]byte(`{"parameters":[{"name":"a","type":"int","default":1e400}]}`))
	f.Add([]byte(`{"args":["${a}$$","$"],"parameters":[{"name":"a","type":"duration","default":"1.5d"}]}`))
	f.Add([]byte(`{"graphs":[{"metric":"value","chart":"gauge","min":1,"max":0}]}`))
	f.Add([]byte(`{"license":"(MIT OR Apache-2.0) AND BSD-3-Clause"}`))
	f.Add([]byte(`{"x":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "manifest: ") {
				t.Fatalf("Parse error %q does not start with manifest:", err)
			}
			return
		}
		err = m.Validate()
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if line != "" && !strings.HasPrefix(line, "manifest: ") && !strings.HasPrefix(line, " ") {
					// Values are quoted with %q, so no problem spans lines.
					t.Fatalf("problem %q does not start with manifest:", line)
				}
			}
			return
		}
		_ = m.IntervalDuration()
		_ = m.TimeoutDuration()
		d := Defaults(m)
		if _, err := Substitute(m.Args, d); err != nil && len(d) == len(m.Parameters) {
			t.Fatalf("Substitute of a valid manifest's args with every parameter set: %v", err)
		}
		CompareVersions(m.Version, "1.0.0")
	})
}
