package mesh

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// MaxScanAddresses bounds Ranges.Addresses: a scan list longer than a /16
// is a typo (or an attack on someone else's network), not a cluster.
const MaxScanAddresses = 65536

// Range is one inclusive span of addresses of one family.
type Range struct {
	From, To netip.Addr
	// Prefix marks unagi's prefix form ("192.168."), which is meant for
	// allow lists: Addresses refuses to enumerate it.
	Prefix bool
	// text is the range as written, for errors and String.
	text string
}

// Ranges is a list of address ranges, in unagi's syntax or CIDR:
//
//	192.168.0.7          one address (IPv6 too)
//	192.168.0.100-199    .100 to .199 inclusive (also 192.168.0.100-192.168.0.199)
//	192.168.0.           .1 to .254 (unagi: network and broadcast left out)
//	192.168.             every address starting 192.168. (allow lists only)
//	10.1.0.0/24          CIDR, IPv4 or IPv6
//
// The zero value contains nothing.
type Ranges []Range

// ParseRanges parses ranges separated by commas or white space. An empty
// text gives empty Ranges. Errors name the offending item.
func ParseRanges(text string) (Ranges, error) {
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	var rs Ranges
	for _, f := range fields {
		r, err := parseRange(f)
		if err != nil {
			return nil, fmt.Errorf("address range %q: %w", f, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// MustParseRanges is ParseRanges for constants in tests and defaults; it
// panics on a malformed text.
func MustParseRanges(text string) Ranges {
	rs, err := ParseRanges(text)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return rs
}

func parseRange(s string) (Range, error) {
	if len(s) > 100 {
		return Range{}, errors.New("too long")
	}
	switch {
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Range{}, errors.New("not a CIDR prefix (want e.g. 10.1.0.0/24)")
		}
		p = p.Masked()
		return Range{From: p.Addr(), To: lastOf(p), text: s}, nil
	case strings.Contains(s, "-"):
		lo, hi, _ := strings.Cut(s, "-")
		from, err := netip.ParseAddr(lo)
		if err != nil || !from.Is4() {
			return Range{}, errors.New("want a.b.c.d-e or a.b.c.d-a.b.c.e")
		}
		var to netip.Addr
		if strings.Contains(hi, ".") || strings.Contains(hi, ":") {
			if to, err = netip.ParseAddr(hi); err != nil || !to.Is4() {
				return Range{}, errors.New("want a.b.c.d-e or a.b.c.d-a.b.c.e")
			}
		} else {
			n, err := strconv.ParseUint(hi, 10, 8)
			if err != nil || hi == "" || (len(hi) > 1 && hi[0] == '0') {
				return Range{}, errors.New("the end of the range must be a number 0-255")
			}
			b := from.As4()
			b[3] = byte(n)
			to = netip.AddrFrom4(b)
		}
		if to.Less(from) {
			return Range{}, errors.New("the range ends before it starts")
		}
		return Range{From: from, To: to, text: s}, nil
	case strings.HasSuffix(s, "."):
		parts := strings.Split(strings.TrimSuffix(s, "."), ".")
		if len(parts) > 3 {
			return Range{}, errors.New("too many dots")
		}
		var b [4]byte
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 8)
			if err != nil || (len(p) > 1 && p[0] == '0') {
				return Range{}, fmt.Errorf("%q is not a number 0-255", p)
			}
			b[i] = byte(n)
		}
		if len(parts) == 3 {
			from, to := b, b
			from[3], to[3] = 1, 254
			return Range{From: netip.AddrFrom4(from), To: netip.AddrFrom4(to), text: s}, nil
		}
		to := b
		for i := len(parts); i < 4; i++ {
			to[i] = 255
		}
		return Range{From: netip.AddrFrom4(b), To: netip.AddrFrom4(to), Prefix: true, text: s}, nil
	default:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Range{}, errors.New("not an address, a.b.c.d-e, a.b.c., a.b. or CIDR")
		}
		if a.Zone() != "" {
			return Range{}, errors.New("zones are not allowed")
		}
		return Range{From: a, To: a, text: s}, nil
	}
}

// lastOf is the last address of p.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 7; j >= 0; j-- {
			if i*8+(7-j) >= bits {
				b[i] |= 1 << j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Contains reports whether ip is in any of the ranges. IPv4-mapped IPv6
// addresses count as IPv4.
func (rs Ranges) Contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, r := range rs {
		if r.From.BitLen() == ip.BitLen() && r.From.Compare(ip) <= 0 && ip.Compare(r.To) <= 0 {
			return true
		}
	}
	return false
}

// ContainsIP is Contains for a net.IP (nil is in no range).
func (rs Ranges) ContainsIP(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	return ok && rs.Contains(a)
}

// Size is the number of addresses in the ranges (overlaps counted twice).
func (rs Ranges) Size() *big.Int {
	total := new(big.Int)
	for _, r := range rs {
		n := new(big.Int).Sub(new(big.Int).SetBytes(r.To.AsSlice()), new(big.Int).SetBytes(r.From.AsSlice()))
		total.Add(total, n.Add(n, big.NewInt(1)))
	}
	return total
}

// Addresses lists every address in the ranges, in order, without
// duplicates, for scanning. It refuses the prefix form and lists longer
// than MaxScanAddresses.
func (rs Ranges) Addresses() ([]netip.Addr, error) {
	for _, r := range rs {
		if r.Prefix {
			return nil, fmt.Errorf("address range %q: the prefix form is for allow lists; scan a.b.c. or a CIDR", r.text)
		}
	}
	if rs.Size().Cmp(big.NewInt(MaxScanAddresses)) > 0 {
		return nil, fmt.Errorf("address ranges %s: more than %d addresses to scan", rs, MaxScanAddresses)
	}
	seen := make(map[netip.Addr]bool)
	var out []netip.Addr
	for _, r := range rs {
		for a := r.From; a.IsValid() && a.Compare(r.To) <= 0; a = a.Next() {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// CIDRs is the exact list of CIDR blocks covering the ranges, for
// memberlist's Config.CIDRsAllowed.
func (rs Ranges) CIDRs() []net.IPNet {
	var out []net.IPNet
	for _, r := range rs {
		for _, p := range rangeToPrefixes(r.From, r.To) {
			out = append(out, net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
		}
	}
	return out
}

// rangeToPrefixes splits [from, to] into the fewest aligned prefixes.
func rangeToPrefixes(from, to netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for from.IsValid() && from.Compare(to) <= 0 {
		bits := from.BitLen()
		// Grow the block while it stays aligned and inside the range.
		for bits > 0 {
			p := netip.PrefixFrom(from, bits-1).Masked()
			if p.Addr() != from || to.Less(lastOf(p)) {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(from, bits)
		out = append(out, p)
		last := lastOf(p)
		if last == to {
			break
		}
		from = last.Next()
	}
	return out
}

// String writes the ranges as they were parsed, comma-separated.
func (rs Ranges) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.text
		if parts[i] == "" {
			parts[i] = r.From.String() + "-" + r.To.String()
		}
	}
	return strings.Join(parts, ",")
}
