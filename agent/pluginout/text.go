package pluginout

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns b as one line of clean text: invalid UTF-8 becomes U+FFFD,
// control characters (tabs and newlines included) become spaces, surrounding
// space is trimmed, and the result is cut to at most max bytes on a rune
// boundary, ending in "…" when cut (and max leaves room for it).
func Text(b []byte, max int) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == utf8.RuneError && size == 1:
			r = utf8.RuneError
		case unicode.IsControl(r):
			r = ' '
		}
		sb.WriteRune(r)
	}
	s := strings.TrimSpace(sb.String())
	if len(s) <= max {
		return s
	}
	ellipsis := "…"
	if max < len(ellipsis) { // no room for it
		ellipsis = ""
	}
	cut := max - len(ellipsis)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut]) + ellipsis
}

// FirstLine returns the first line of b that is not blank, as [Text].
func FirstLine(b []byte, max int) string {
	for len(b) > 0 {
		line := b
		if i := indexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if s := Text(line, max); s != "" {
			return s
		}
	}
	return ""
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
