package mesh

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// Material changes and deltas: what keeps the mesh's traffic small.
//
// A status is taken every Interval, but gossiped only when a reading
// changed materially (thresholds below); a change under its threshold is
// not a change, and the value peers have stays as it was. With nothing
// material for heartbeatEvery intervals the node gossips anyway, so a
// peer that hears of it only through others still sees it alive.
//
// After its first status, a node gossips a delta: the status it sent
// before, named by the low 32 bits of its sequence number, and only the
// fields that changed, in the status's own encoding:
//
//	version(1 byte) host base(4 bytes, big-endian) seq−base time_ms−base's
//	uptime_s−(base's+elapsed, zigzag) mask {field}
//
// A peer applies it to the host's latest status if that is the base;
// otherwise it asks the relay for the whole status (msgWant), and the
// push/pull digest repairs what that misses. Whole statuses still travel
// on join and in anti-entropy.

// deltaVersion is the first byte of an encoded delta.
const deltaVersion = 1

// maxHeartbeatEvery bounds the intervals without a gossiped status.
const maxHeartbeatEvery = 10

// heartbeatEvery is how many intervals may pass without a material
// change before the status is gossiped anyway: at most 10, and at least
// three heartbeats within Down.
func heartbeatEvery(interval, down time.Duration) int {
	return max(1, min(maxHeartbeatEvery, int(down/(3*interval))))
}

// Thresholds under which a reading's change is not material.
const (
	loadStep     = 0.1      // load: at least 0.1 and 10%
	loadRel      = 0.1      //
	cpuStep      = 5.0      // CPU: 5 percentage points
	memRel       = 0.01     // memory used: 1% of total, and at least memStep
	memStep      = 8 << 20  //
	rateRel      = 0.25     // network rates: 25%, and at least rateStep
	rateStep     = 16 << 10 //
	procCPUStep  = 10.0     // a top process: 10 points of CPU, or RSS by procRSSRel
	procRSSRel   = 0.25     //
	procCPUShown = 5.0      // processes under this CPU may come and go
)

// materialUpdate returns what to gossip when prev was last gossiped and
// cur is the status now (both normalized): prev with the fields of cur
// that changed materially, and cur's host, time and uptime; and whether
// any field did.
func materialUpdate(prev, cur Status) (Status, bool) {
	out := prev
	out.Host, out.Time, out.Uptime = cur.Host, cur.Time, cur.Uptime
	changed := false
	take := func(material bool, set func()) {
		if material {
			set()
			changed = true
		}
	}
	take(loadMaterial(prev.Load1, cur.Load1), func() { out.Load1 = cur.Load1 })
	take(loadMaterial(prev.Load5, cur.Load5), func() { out.Load5 = cur.Load5 })
	take(loadMaterial(prev.Load15, cur.Load15), func() { out.Load15 = cur.Load15 })
	take(prev.MemTotal != cur.MemTotal || absDiff(prev.MemUsed, cur.MemUsed) >= max(memStep, uint64(memRel*float64(cur.MemTotal))),
		func() { out.MemUsed, out.MemTotal = cur.MemUsed, cur.MemTotal })
	take(math.Abs(prev.CPU-cur.CPU) >= cpuStep, func() { out.CPU = cur.CPU })
	take(rateMaterial(prev.RxBytesPerSec, cur.RxBytesPerSec), func() { out.RxBytesPerSec = cur.RxBytesPerSec })
	take(rateMaterial(prev.TxBytesPerSec, cur.TxBytesPerSec), func() { out.TxBytesPerSec = cur.TxBytesPerSec })
	take(prev.Users != cur.Users, func() { out.Users = cur.Users })
	take(processesMaterial(prev.Processes, cur.Processes), func() { out.Processes = cur.Processes })
	take(!slices.Equal(prev.Errors, cur.Errors), func() { out.Errors = cur.Errors })
	take(!slices.Equal(prev.Checks, cur.Checks), func() { out.Checks = cur.Checks })
	return out, changed
}

func loadMaterial(a, b float64) bool {
	d := math.Abs(a - b)
	return d >= loadStep-1e-9 && d >= loadRel*max(a, b)-1e-9
}

func rateMaterial(a, b uint64) bool {
	d := absDiff(a, b)
	return d >= rateStep && float64(d) >= rateRel*float64(max(a, b))
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// processesMaterial: a process using procCPUShown or more appeared or
// left, or one moved by procCPUStep points of CPU or procRSSRel of RSS.
// The order of idle processes, which changes every interval, is not.
func processesMaterial(a, b []Process) bool {
	find := func(ps []Process, name string) (Process, bool) {
		for _, p := range ps {
			if p.Name == name {
				return p, true
			}
		}
		return Process{}, false
	}
	cmp := func(a, b []Process) bool {
		for _, p := range a {
			q, ok := find(b, p.Name)
			switch {
			case !ok:
				if p.CPU >= procCPUShown {
					return true
				}
			case math.Abs(p.CPU-q.CPU) >= procCPUStep,
				float64(absDiff(p.RSS, q.RSS)) >= procRSSRel*float64(max(p.RSS, q.RSS)) && absDiff(p.RSS, q.RSS) >= memStep:
				return true
			}
		}
		return false
	}
	return cmp(a, b) || cmp(b, a)
}

// encodeDelta returns s as a delta from base (both as peers decode them:
// at wire precision), or nil if the whole status is no bigger.
func encodeDelta(base, s Status, full []byte) []byte {
	b := make([]byte, 0, 64)
	b = append(b, deltaVersion)
	b = appendString(b, s.Host)
	b = binary.BigEndian.AppendUint32(b, uint32(base.Seq))
	b = binary.AppendUvarint(b, s.Seq-base.Seq)
	elapsed := s.Time.Sub(base.Time).Milliseconds()
	b = binary.AppendVarint(b, elapsed)
	b = binary.AppendVarint(b, int64(s.Uptime/time.Second)-predictUptime(base.Uptime, elapsed))
	var mask uint64
	var fields []byte
	var fa, fb []byte
	for f := range numFields {
		fa, fb = base.appendField(fa[:0], f), s.appendField(fb[:0], f)
		if string(fa) != string(fb) {
			mask |= 1 << f
			fields = append(fields, fb...)
		}
	}
	b = binary.AppendUvarint(b, mask)
	b = append(b, fields...)
	if len(b) >= len(full) {
		return nil
	}
	return b
}

// predictUptime is base's uptime elapsed milliseconds later, in seconds.
func predictUptime(base time.Duration, elapsedMS int64) int64 {
	return int64(base/time.Second) + elapsedMS/1000
}

// delta is a decoded delta, not yet applied.
type delta struct {
	host      string
	base      uint32
	dseq      uint64
	elapsedMS int64
	dUptime   int64
	mask      uint64
	fields    Status // the fields in mask
}

// maxDeltaElapsed bounds a delta's time step (a year): more is nonsense.
const maxDeltaElapsed = 365 * 24 * 3600 * 1000

// decodeDelta parses a delta strictly, as DecodeStatus does a status;
// errors wrap ErrBadStatus.
func decodeDelta(b []byte) (delta, error) {
	var d delta
	if len(b) > MaxStatusBytes {
		return d, fmt.Errorf("%w: delta of %d bytes, over %d", ErrBadStatus, len(b), MaxStatusBytes)
	}
	if len(b) == 0 || b[0] != deltaVersion {
		return d, fmt.Errorf("%w: unknown delta version", ErrBadStatus)
	}
	dec := decoder{b: b[1:]}
	d.host = dec.str(MaxHostLen, "host")
	if dec.err == nil && d.host == "" {
		dec.fail("empty host")
	}
	if dec.err == nil && len(dec.b) < 4 {
		dec.fail("base: truncated")
	}
	if dec.err == nil {
		d.base = binary.BigEndian.Uint32(dec.b)
		dec.b = dec.b[4:]
	}
	d.dseq = dec.uint(math.MaxUint32, "seq step")
	if dec.err == nil && d.dseq == 0 {
		dec.fail("seq step 0")
	}
	d.elapsedMS = dec.int(maxDeltaElapsed, "elapsed")
	d.dUptime = dec.int(maxDeltaElapsed/1000, "uptime step")
	d.mask = dec.uint(1<<numFields-1, "mask")
	for f := range numFields {
		if d.mask&(1<<f) != 0 {
			dec.readField(&d.fields, f)
		}
	}
	if dec.err == nil && len(dec.b) > 0 {
		dec.fail(fmt.Sprintf("%d trailing bytes", len(dec.b)))
	}
	if dec.err != nil {
		return delta{}, dec.err
	}
	return d, nil
}

// apply returns the status the delta makes of base, which must be the
// host's status with d.base as the low bits of its sequence number.
func (d delta) apply(base Status) (Status, error) {
	s := base
	s.Seq = base.Seq + d.dseq
	if s.Seq < base.Seq {
		return Status{}, fmt.Errorf("%w: sequence number overflows", ErrBadStatus)
	}
	s.Time = base.Time.Add(time.Duration(d.elapsedMS) * time.Millisecond)
	if ms := s.Time.UnixMilli(); ms < 0 || ms > 1<<53 {
		return Status{}, fmt.Errorf("%w: time out of range", ErrBadStatus)
	}
	up := predictUptime(base.Uptime, d.elapsedMS) + d.dUptime
	if up < 0 || up > 100*365*24*3600 {
		return Status{}, fmt.Errorf("%w: uptime out of range", ErrBadStatus)
	}
	s.Uptime = time.Duration(up) * time.Second
	for f := range numFields {
		if d.mask&(1<<f) == 0 {
			continue
		}
		switch f {
		case fieldLoad1:
			s.Load1 = d.fields.Load1
		case fieldLoad5:
			s.Load5 = d.fields.Load5
		case fieldLoad15:
			s.Load15 = d.fields.Load15
		case fieldMemUsed:
			s.MemUsed = d.fields.MemUsed
		case fieldMemTotal:
			s.MemTotal = d.fields.MemTotal
		case fieldCPU:
			s.CPU = d.fields.CPU
		case fieldRx:
			s.RxBytesPerSec = d.fields.RxBytesPerSec
		case fieldTx:
			s.TxBytesPerSec = d.fields.TxBytesPerSec
		case fieldUsers:
			s.Users = d.fields.Users
		case fieldProcesses:
			s.Processes = d.fields.Processes
		case fieldErrors:
			s.Errors = d.fields.Errors
		case fieldChecks:
			s.Checks = d.fields.Checks
		}
	}
	if s.MemUsed > s.MemTotal {
		return Status{}, fmt.Errorf("%w: memory used over total", ErrBadStatus)
	}
	return s, nil
}

// newerThan reports whether the delta's status is newer than seq, in
// serial-number arithmetic on the low 32 bits (RFC 1982): the delta
// carries only those of its base.
func (d delta) newerThan(seq uint64) bool { return d.newerThan32(uint32(seq)) }

// newerThan32 is newerThan on the low 32 bits of a sequence number.
func (d delta) newerThan32(seq uint32) bool {
	return int32(d.base+uint32(d.dseq)-seq) > 0
}

// int reads a zigzag varint within ±maxAbs.
func (d *decoder) int(maxAbs int64, field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(field + ": truncated or overlong number")
		return 0
	}
	if v > maxAbs || v < -maxAbs {
		d.fail(field + ": out of range")
		return 0
	}
	d.b = d.b[n:]
	return v
}
