package mesh

// DefaultHistory is how many statuses of each host a peer keeps (unagi's -H).
const DefaultHistory = 10

// ring keeps the last statuses of one host, oldest overwritten first.
// It is not safe for concurrent use: the Mesh's lock guards it.
type ring struct {
	buf  []Status
	next int // where the next status goes
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]Status, max(n, 1))} }

// add appends s, dropping the oldest status when the ring is full.
func (r *ring) add(s Status) {
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// latest returns the newest status, or false if there is none.
func (r *ring) latest() (Status, bool) {
	if !r.full && r.next == 0 {
		return Status{}, false
	}
	return r.buf[(r.next-1+len(r.buf))%len(r.buf)], true
}

// list returns the statuses newest first, in a new slice.
func (r *ring) list() []Status {
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]Status, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}

// find returns the status numbered seq, if the ring still has it.
func (r *ring) find(seq uint64) (Status, bool) {
	for _, s := range r.buf {
		if s.Seq == seq && s.Host != "" {
			return s, true
		}
	}
	return Status{}, false
}
