package manifest

import (
	"strings"
)

// semver is a parsed semantic version (https://semver.org, 2.0.0).
type semver struct {
	major, minor, patch string // decimal, no leading zeros
	pre                 []string
}

// parseSemver parses MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] strictly: no
// "v" prefix, no leading zeros in numbers, non-empty identifiers of
// [0-9A-Za-z-].
func parseSemver(s string) (semver, bool) {
	var v semver
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !identifiers(s[i+1:], false) {
			return v, false
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		pre := s[i+1:]
		if !identifiers(pre, true) {
			return v, false
		}
		v.pre = strings.Split(pre, ".")
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for _, p := range parts {
		if !numeric(p) || (len(p) > 1 && p[0] == '0') {
			return v, false
		}
	}
	v.major, v.minor, v.patch = parts[0], parts[1], parts[2]
	return v, true
}

// identifiers checks a dot-separated list of identifiers; pre-release
// numeric identifiers must not have leading zeros.
func identifiers(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
		if pre && numeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidVersion reports whether s is a semantic version (MAJOR.MINOR.PATCH
// with an optional -prerelease and +build, no "v" prefix).
func ValidVersion(s string) bool {
	_, ok := parseSemver(s)
	return ok
}

// CompareVersions returns -1, 0 or +1 as a is lower than, equal to or
// higher than b in semantic version precedence: numbers compare
// numerically, a pre-release is lower than its release, build metadata is
// ignored ("1.0.0+a" equals "1.0.0+b"). An invalid version is lower than
// every valid one; two invalid ones compare as strings.
func CompareVersions(a, b string) int {
	va, oka := parseSemver(a)
	vb, okb := parseSemver(b)
	switch {
	case !oka && !okb:
		return strings.Compare(a, b)
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for _, p := range [][2]string{{va.major, vb.major}, {va.minor, vb.minor}, {va.patch, vb.patch}} {
		if c := compareNumeric(p[0], p[1]); c != 0 {
			return c
		}
	}
	switch {
	case len(va.pre) == 0 && len(vb.pre) == 0:
		return 0
	case len(va.pre) == 0:
		return 1
	case len(vb.pre) == 0:
		return -1
	}
	for i := 0; i < len(va.pre) && i < len(vb.pre); i++ {
		x, y := va.pre[i], vb.pre[i]
		nx, ny := numeric(x), numeric(y)
		var c int
		switch {
		case nx && ny:
			c = compareNumeric(x, y)
		case nx:
			c = -1 // numeric identifiers are lower than alphanumeric ones
		case ny:
			c = 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case len(va.pre) < len(vb.pre):
		return -1
	case len(va.pre) > len(vb.pre):
		return 1
	}
	return 0
}

// compareNumeric compares decimal strings without leading zeros of any
// length (no overflow).
func compareNumeric(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
