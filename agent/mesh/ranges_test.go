package mesh

import (
	"math/big"
	"net/netip"
	"strings"
	"testing"
)

func TestParseRanges(t *testing.T) {
	f := func(text string, in, out []string) {
		t.Helper()
		rs, err := ParseRanges(text)
		if err != nil {
			t.Fatalf("ParseRanges(%q): %v", text, err)
		}
		for _, a := range in {
			if !rs.Contains(netip.MustParseAddr(a)) {
				t.Errorf("%q should contain %s", text, a)
			}
		}
		for _, a := range out {
			if rs.Contains(netip.MustParseAddr(a)) {
				t.Errorf("%q should not contain %s", text, a)
			}
		}
	}
	f("192.168.0.100-199", []string{"192.168.0.100", "192.168.0.150", "192.168.0.199"}, []string{"192.168.0.99", "192.168.0.200", "192.168.1.150"})
	f("192.168.0.100-192.168.1.5", []string{"192.168.0.255", "192.168.1.0", "192.168.1.5"}, []string{"192.168.1.6"})
	f("192.168.0.", []string{"192.168.0.1", "192.168.0.254"}, []string{"192.168.0.0", "192.168.0.255", "192.168.1.1"})
	f("192.168.", []string{"192.168.0.0", "192.168.255.255"}, []string{"192.169.0.0", "10.0.0.1"})
	f("127.", []string{"127.0.0.1", "127.255.0.3"}, []string{"128.0.0.1"})
	f("10.1.0.0/24", []string{"10.1.0.0", "10.1.0.255"}, []string{"10.1.1.0"})
	f("10.1.0.7/24", []string{"10.1.0.0"}, nil) // host bits are masked
	f("10.0.0.1, 10.0.0.3\t10.0.0.5", []string{"10.0.0.1", "10.0.0.3", "10.0.0.5", "::ffff:10.0.0.5"}, []string{"10.0.0.2"})
	f("fd00::/64", []string{"fd00::1"}, []string{"fd01::1", "10.0.0.1"})
	f("", nil, []string{"10.0.0.1"})
}

func TestParseRangesErrors(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		_, err := ParseRanges(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRanges(%q) = %v, want error containing %q", text, err, want)
		}
	}
	f("192.168.0.199-100", "ends before it starts")
	f("192.168.0.1-256", "0-255")
	f("192.168.0.1-", "0-255")
	f("192.168.0.1-0x5", "0-255")
	f("192.168.0.1-fe80::1", "want a.b.c.d-e")
	f("192.168.0.256", "not an address")
	f("192.168.300.", `"300" is not a number`)
	f("1.2.3.4.", "too many dots")
	f("10.0.0.0/33", "CIDR")
	f("web1", "not an address")
	f("fe80::1%eth0", "zones")
	f("10.0.0.1,bogus", `"bogus"`)
}

func TestAddresses(t *testing.T) {
	rs := MustParseRanges("192.168.0.100-102 192.168.0.101 10.0.0.0/31")
	got, err := rs.Addresses()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.168.0.100", "192.168.0.101", "192.168.0.102", "10.0.0.0", "10.0.0.1"}
	if len(got) != len(want) {
		t.Fatalf("Addresses = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("Addresses = %v, want %v", got, want)
		}
	}
	if a, err := MustParseRanges("192.168.0.").Addresses(); err != nil || len(a) != 254 {
		t.Errorf("192.168.0. gives %d addresses, %v; want 254", len(a), err)
	}
	if a, err := MustParseRanges("10.0.0.0/16").Addresses(); err != nil || len(a) != 65536 {
		t.Errorf("/16 gives %d addresses, %v; want 65536", len(a), err)
	}
	for _, bad := range []string{"10.0.0.0/15", "10.0.0.0/16 10.1.0.0", "192.168.", "fd00::/64"} {
		if _, err := MustParseRanges(bad).Addresses(); err == nil {
			t.Errorf("Addresses of %q should be refused", bad)
		}
	}
}

func TestCIDRs(t *testing.T) {
	f := func(text string, want ...string) {
		t.Helper()
		got := MustParseRanges(text).CIDRs()
		var s []string
		for _, n := range got {
			s = append(s, n.String())
		}
		if strings.Join(s, " ") != strings.Join(want, " ") {
			t.Errorf("CIDRs(%q) = %v, want %v", text, s, want)
		}
	}
	f("192.168.0.100-199", "192.168.0.100/30", "192.168.0.104/29", "192.168.0.112/28", "192.168.0.128/26", "192.168.0.192/29")
	f("192.168.", "192.168.0.0/16")
	f("10.0.0.5", "10.0.0.5/32")
	f("0.0.0.0/0", "0.0.0.0/0")
	f("fd00::/64", "fd00::/64")
}

// FuzzParseRanges checks the parser never panics and that what it accepts
// is self-consistent: every range's ends are in it, and its CIDR cover
// contains exactly the same ends.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{"192.168.0.100-199", "192.168.0.", "192.168.", "10.1.0.0/24", "10.0.0.1", "fd00::/64", "1.2.3.4-1.2.4.4", "-", "/", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseRanges(s)
		if err != nil {
			return
		}
		for _, r := range rs {
			if !rs.Contains(r.From) || !rs.Contains(r.To) || r.To.Less(r.From) {
				t.Fatalf("%q: range %v-%v inconsistent", s, r.From, r.To)
			}
			one := Ranges{r}
			cover := one.CIDRs()
			if len(cover) == 0 || len(cover) > 256 {
				t.Fatalf("%q: %d CIDRs", s, len(cover))
			}
			if !cover[0].Contains(r.From.AsSlice()) || !cover[len(cover)-1].Contains(r.To.AsSlice()) {
				t.Fatalf("%q: cover %v misses an end", s, cover)
			}
		}
		if rs.Size().Cmp(big.NewInt(1024)) <= 0 {
			if _, err := rs.Addresses(); err != nil && !strings.Contains(err.Error(), "prefix form") {
				t.Fatalf("%q: %v", s, err)
			}
		}
	})
}
