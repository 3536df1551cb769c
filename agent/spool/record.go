package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A record frames one encoded result in a segment:
//
//	length  uint32  little-endian, bytes of payload
//	crc     uint32  CRC-32C of seq and payload
//	seq     uint64  the result's sequence number
//	payload [length]byte
//
// The checksum covers the sequence number so a record copied or left over
// from elsewhere in the file cannot pass as the expected one; the length is
// not covered, but a wrong length makes the checksum fail (or runs past the
// end of the file, which reads as a torn tail).
const recordHeader = 16

// maxRecord bounds a record's payload so a corrupt length never makes the
// reader allocate or wait for gigabytes. A result's message is capped far
// below this by the runner.
const maxRecord = 16 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errShort means the bytes end inside a record: a torn write, or a
	// reader that must fetch more.
	errShort = errors.New("record cut short")
	// errCorrupt means the bytes at this offset are not a valid record.
	errCorrupt = errors.New("corrupt record")
)

// appendRecord appends to b a record with sequence number seq whose payload
// the payload function appends.
func appendRecord(b []byte, seq uint64, payload func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, recordHeader)...)
	b = payload(b)
	p := b[start+recordHeader:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(p)))
	binary.LittleEndian.PutUint64(b[start+8:], seq)
	crc := crc32.Update(0, castagnoli, b[start+8:start+16])
	crc = crc32.Update(crc, castagnoli, p)
	binary.LittleEndian.PutUint32(b[start+4:], crc)
	return b
}

// parseRecord reads the record at the start of b. It returns its sequence
// number, its payload (aliasing b) and its total length, or errShort when b
// ends inside the record, or errCorrupt.
func parseRecord(b []byte) (seq uint64, payload []byte, n int, err error) {
	if len(b) < recordHeader {
		return 0, nil, 0, errShort
	}
	size := binary.LittleEndian.Uint32(b)
	if size > maxRecord {
		return 0, nil, 0, errCorrupt
	}
	n = recordHeader + int(size)
	if len(b) < n {
		return 0, nil, 0, errShort
	}
	crc := crc32.Update(0, castagnoli, b[8:16])
	crc = crc32.Update(crc, castagnoli, b[16:n])
	if crc != binary.LittleEndian.Uint32(b[4:]) {
		return 0, nil, 0, errCorrupt
	}
	return binary.LittleEndian.Uint64(b[8:]), b[16:n], n, nil
}
