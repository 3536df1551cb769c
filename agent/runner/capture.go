package runner

import (
	"fmt"
	"io"
)

// capture reads r to its end (or error) and keeps at most limit bytes; the
// rest is read and dropped, never buffered, so a plugin printing gigabytes
// costs CPU time but no memory.
func capture(r io.Reader, limit int) (kept []byte, truncated bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if room := limit - len(kept); n > room {
			truncated = true
			n = room
		}
		kept = append(kept, buf[:n]...)
		if err != nil {
			return kept, truncated
		}
	}
}

// formatSize renders an output cap for messages: "64 KiB", "1 MiB", "1000 bytes".
func formatSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
