package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// statusVersion is the first byte of an encoded status; a decoder refuses
// any other, so the format can change without misreading. Version 2 sends
// memory in MiB (version 1 in bytes).
const statusVersion = 2

// Wire format (all integers unsigned varints, strings a varint length then
// UTF-8 bytes):
//
//	version(1 byte) host seq time_ms uptime_s  fields
//
// and the fields, in this order (a delta, delta.go, carries some of them):
//
//	load1×100 load5×100 load15×100 mem_used_MiB mem_total_MiB cpu×10
//	rx tx users  nprocs {name cpu×10 rss}  nerrors {line}
//	nchecks {name state(1 byte)}
//
// A status of five processes, five 200-byte log lines and a dozen checks
// is about 1.3 KB; a quiet host's about 150 bytes.

// ErrStatusTooBig is returned by Encode when a status cannot be trimmed to
// the size asked for (only the host name and numbers are left).
var ErrStatusTooBig = errors.New("status too big")

// Encode returns s in the wire format, at most limit bytes (at most
// MaxStatusBytes whatever the limit): s is normalized first, then checks
// (ok ones first), error lines (oldest first) and processes are left out
// until it fits.
func (s Status) Encode(limit int) ([]byte, error) {
	limit = min(limit, MaxStatusBytes)
	s = s.normalize()
	for {
		b := s.appendTo(make([]byte, 0, 256))
		if len(b) <= limit {
			return b, nil
		}
		switch {
		case len(s.Checks) > 0:
			s.Checks = s.Checks[:len(s.Checks)-1]
		case len(s.Errors) > 0:
			s.Errors = s.Errors[1:]
		case len(s.Processes) > 0:
			s.Processes = s.Processes[:len(s.Processes)-1]
		default:
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrStatusTooBig, len(b), limit)
		}
	}
}

func (s Status) appendTo(b []byte) []byte {
	b = append(b, statusVersion)
	b = appendString(b, s.Host)
	b = binary.AppendUvarint(b, s.Seq)
	b = binary.AppendUvarint(b, uint64(max(s.Time.UnixMilli(), 0)))
	b = binary.AppendUvarint(b, uint64(s.Uptime/time.Second))
	for f := range numFields {
		b = s.appendField(b, f)
	}
	return b
}

// The fields of a status after its header, in wire order; a delta's mask
// has bit 1<<field set for each field it carries.
const (
	fieldLoad1 = iota
	fieldLoad5
	fieldLoad15
	fieldMemUsed
	fieldMemTotal
	fieldCPU
	fieldRx
	fieldTx
	fieldUsers
	fieldProcesses
	fieldErrors
	fieldChecks
	numFields
)

func (s *Status) appendField(b []byte, f int) []byte {
	switch f {
	case fieldLoad1:
		return binary.AppendUvarint(b, uint64(math.Round(s.Load1*100)))
	case fieldLoad5:
		return binary.AppendUvarint(b, uint64(math.Round(s.Load5*100)))
	case fieldLoad15:
		return binary.AppendUvarint(b, uint64(math.Round(s.Load15*100)))
	case fieldMemUsed:
		return binary.AppendUvarint(b, s.MemUsed>>20)
	case fieldMemTotal:
		return binary.AppendUvarint(b, s.MemTotal>>20)
	case fieldCPU:
		return binary.AppendUvarint(b, uint64(math.Round(s.CPU*10)))
	case fieldRx:
		return binary.AppendUvarint(b, s.RxBytesPerSec)
	case fieldTx:
		return binary.AppendUvarint(b, s.TxBytesPerSec)
	case fieldUsers:
		return binary.AppendUvarint(b, uint64(s.Users))
	case fieldProcesses:
		b = binary.AppendUvarint(b, uint64(len(s.Processes)))
		for _, p := range s.Processes {
			b = appendString(b, p.Name)
			b = binary.AppendUvarint(b, uint64(math.Round(p.CPU*10)))
			b = binary.AppendUvarint(b, p.RSS)
		}
	case fieldErrors:
		b = binary.AppendUvarint(b, uint64(len(s.Errors)))
		for _, e := range s.Errors {
			b = appendString(b, e)
		}
	case fieldChecks:
		b = binary.AppendUvarint(b, uint64(len(s.Checks)))
		for _, c := range s.Checks {
			b = appendString(b, c.Name)
			b = append(b, byte(c.State))
		}
	}
	return b
}

// readField reads field f into s. Memory used over total is checked by
// the caller, once both are known.
func (d *decoder) readField(s *Status, f int) {
	switch f {
	case fieldLoad1:
		s.Load1 = float64(d.uint(1e8, "load1")) / 100
	case fieldLoad5:
		s.Load5 = float64(d.uint(1e8, "load5")) / 100
	case fieldLoad15:
		s.Load15 = float64(d.uint(1e8, "load15")) / 100
	case fieldMemUsed:
		s.MemUsed = d.uint(math.MaxUint64>>20, "memory used") << 20
	case fieldMemTotal:
		s.MemTotal = d.uint(math.MaxUint64>>20, "memory total") << 20
	case fieldCPU:
		s.CPU = float64(d.uint(1000, "cpu")) / 10
	case fieldRx:
		s.RxBytesPerSec = d.uint(math.MaxUint64, "rx")
	case fieldTx:
		s.TxBytesPerSec = d.uint(math.MaxUint64, "tx")
	case fieldUsers:
		s.Users = int(d.uint(math.MaxUint16, "users"))
	case fieldProcesses:
		s.Processes = nil
		if n := d.uint(MaxProcesses, "process count"); d.err == nil && n > 0 {
			s.Processes = make([]Process, n)
			for i := range s.Processes {
				s.Processes[i] = Process{Name: d.str(MaxProcNameLen, "process name"),
					CPU: float64(d.uint(1e7, "process cpu")) / 10, RSS: d.uint(math.MaxUint64, "process rss")}
			}
		}
	case fieldErrors:
		s.Errors = nil
		if n := d.uint(MaxErrorLines, "error line count"); d.err == nil && n > 0 {
			s.Errors = make([]string, n)
			for i := range s.Errors {
				s.Errors[i] = d.str(MaxErrorLineLen, "error line")
			}
		}
	case fieldChecks:
		s.Checks = nil
		if n := d.uint(MaxChecks, "check count"); d.err == nil && n > 0 {
			s.Checks = make([]Check, n)
			for i := range s.Checks {
				s.Checks[i].Name = d.str(MaxCheckNameLen, "check name")
				s.Checks[i].State = State(d.byte("check state"))
				if d.err == nil && s.Checks[i].State > StateUnknown {
					d.fail("check state out of range")
				}
			}
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ErrBadStatus wraps every reason DecodeStatus refuses a status.
var ErrBadStatus = errors.New("bad status")

// DecodeStatus parses a status strictly: the version, every field present,
// every limit respected, strings valid printable UTF-8, no trailing bytes.
// It reads network input: anything else is an error wrapping ErrBadStatus.
func DecodeStatus(b []byte) (Status, error) {
	if len(b) > MaxStatusBytes {
		return Status{}, fmt.Errorf("%w: %d bytes, over %d", ErrBadStatus, len(b), MaxStatusBytes)
	}
	if len(b) == 0 || b[0] != statusVersion {
		return Status{}, fmt.Errorf("%w: unknown version", ErrBadStatus)
	}
	d := decoder{b: b[1:]}
	var s Status
	s.Host = d.str(MaxHostLen, "host")
	if d.err == nil && s.Host == "" {
		d.fail("empty host")
	}
	s.Seq = d.uint(math.MaxUint64, "seq")
	ms := d.uint(1<<53, "time")
	s.Time = time.UnixMilli(int64(ms))
	s.Uptime = time.Duration(d.uint(100*365*24*3600, "uptime")) * time.Second
	for f := range numFields {
		d.readField(&s, f)
	}
	if d.err == nil && s.MemUsed > s.MemTotal {
		d.fail("memory used over total")
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return Status{}, d.err
	}
	return s, nil
}

// decoder reads fields until the first error, which it keeps.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadStatus, why)
	}
}

func (d *decoder) uint(maxVal uint64, field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(field + ": truncated or overlong number")
		return 0
	}
	if v > maxVal {
		d.fail(field + ": out of range")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(field + ": truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) str(maxLen int, field string) string {
	n := d.uint(uint64(maxLen), field+" length")
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.fail(field + ": truncated")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	if !validString(s, maxLen) {
		d.fail(field + ": not printable UTF-8")
		return ""
	}
	return s
}
