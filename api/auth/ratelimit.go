package auth

import (
	"net"
	"sync"
	"time"
)

// Login throttling: at most loginFailures failed logins per loginWindow for
// one user name, and as many from one client address. bcrypt already makes
// each guess cost ~50 ms; this turns an online guesser's millions of tries a
// day into 14,400 per name, while a person who mistypes a few times never
// notices. The per-name limit lets anyone lock a user out for a minute at a
// time; the per-address one stops one client spraying many names.
const (
	loginFailures = 10
	loginWindow   = time.Minute
	// maxLimitKeys bounds the limiter's memory; when full, expired windows
	// are dropped, and failures of keys that still find no room are not
	// counted (the other key of the same login still is).
	maxLimitKeys = 100_000
)

// limiter counts failures per key in fixed windows that start at a key's
// first failure. Safe for concurrent use.
type limiter struct {
	limit  int
	window time.Duration
	mu     sync.Mutex
	m      map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(limit int, per time.Duration) *limiter {
	return &limiter{limit: limit, window: per, m: map[string]*window{}}
}

// blocked reports whether any key has used up its failures, and when the
// longest of their windows ends.
func (l *limiter) blocked(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	var wait time.Duration
	for _, k := range keys {
		w, ok := l.m[k]
		if !ok {
			continue
		}
		if left := w.start.Add(l.window).Sub(now); left > 0 && w.n >= l.limit {
			wait = max(wait, left)
		}
	}
	return wait > 0, wait
}

// fail counts a failure against every key and reports whether one of them
// reached the limit with it.
func (l *limiter) fail(keys ...string) (reached bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for _, k := range keys {
		w, ok := l.m[k]
		if ok && now.Sub(w.start) >= l.window {
			ok = false
		}
		if !ok {
			if len(l.m) >= maxLimitKeys {
				l.prune(now)
				if len(l.m) >= maxLimitKeys {
					continue
				}
			}
			w = &window{start: now}
			l.m[k] = w
		}
		w.n++
		if w.n == l.limit {
			reached = true
		}
	}
	return reached
}

// forget clears a key (a user who logged in starts afresh).
func (l *limiter) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}

func (l *limiter) prune(now time.Time) {
	for k, w := range l.m {
		if now.Sub(w.start) >= l.window {
			delete(l.m, k)
		}
	}
}

// clientKey is the limiter key of a client address: the IP, or for IPv6 its
// /64, which one client usually holds whole. Proxy headers are not trusted
// (anyone can send X-Forwarded-For); behind a reverse proxy every client
// shares the proxy's address, and the per-user limit is what remains.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "addr:" + host
	}
	if ip.To4() == nil {
		ip = ip.Mask(net.CIDRMask(64, 128))
	}
	return "addr:" + ip.String()
}
