package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/golang/snappy"
)

// A message block holds the messages of one AppendMessages call (at most
// maxBlockMessages): consecutive ids, one row. Encoded, then snappy-compressed:
//
//	uvarint count
//	per message: zigzag varint (ts - minTs), zigzag varint exit status,
//	             uvarint length, text bytes
//
// One row per batch instead of one per message makes an append one b-tree
// insert, and plugin output is repetitive enough that snappy shrinks a block
// several times over.

// maxBlockMessages bounds a block, so reading one message decodes at most
// this many.
const maxBlockMessages = 1000

// errCorruptBlock: a block's bytes do not decode.
var errCorruptBlock = errors.New("corrupt message block")

func encodeBlock(msgs []Message, minTs int64, buf []byte) []byte {
	buf = buf[:0]
	buf = binary.AppendUvarint(buf, uint64(len(msgs)))
	for i := range msgs {
		m := &msgs[i]
		buf = binary.AppendVarint(buf, m.Timestamp-minTs)
		buf = binary.AppendVarint(buf, int64(m.ExitStatus))
		buf = binary.AppendUvarint(buf, uint64(len(m.Text)))
		buf = append(buf, m.Text...)
	}
	return snappy.Encode(nil, buf)
}

// decodeBlock calls fn for each message of a block, in id order.
func decodeBlock(data []byte, firstID, minTs int64, fn func(Message)) error {
	raw, err := snappy.Decode(nil, data)
	if err != nil {
		return fmt.Errorf("%w %d: %v", errCorruptBlock, firstID, err)
	}
	n, k := binary.Uvarint(raw)
	if k <= 0 || n > maxBlockMessages {
		return fmt.Errorf("%w %d: bad count", errCorruptBlock, firstID)
	}
	raw = raw[k:]
	for i := range int64(n) {
		dt, k1 := binary.Varint(raw)
		if k1 <= 0 {
			return fmt.Errorf("%w %d: message %d: bad timestamp", errCorruptBlock, firstID, i)
		}
		raw = raw[k1:]
		exit, k2 := binary.Varint(raw)
		if k2 <= 0 {
			return fmt.Errorf("%w %d: message %d: bad exit status", errCorruptBlock, firstID, i)
		}
		raw = raw[k2:]
		l, k3 := binary.Uvarint(raw)
		if k3 <= 0 || l > uint64(len(raw)-k3) {
			return fmt.Errorf("%w %d: message %d: bad length", errCorruptBlock, firstID, i)
		}
		raw = raw[k3:]
		fn(Message{ID: firstID + i, Timestamp: minTs + dt, ExitStatus: int(exit), Text: string(raw[:l])})
		raw = raw[l:]
	}
	if len(raw) != 0 {
		return fmt.Errorf("%w %d: trailing bytes", errCorruptBlock, firstID)
	}
	return nil
}
