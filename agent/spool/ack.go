package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The ack file records how far the server has acknowledged: every result
// with a sequence number below head is acknowledged (or was dropped), and
// unreported results were lost without the server having been told yet.
//
//	magic "PSA1" | head uint64 | unreported uint64 | CRC-32C of the 20 bytes before
//
// It is replaced atomically: written to ack.tmp, synced, renamed over ack,
// and the directory synced, so a crash leaves the old or the new file, never
// a mix.
const (
	ackName  = "ack"
	ackTemp  = "ack.tmp"
	ackMagic = "PSA1"
	ackSize  = 24
)

type ackState struct {
	head       uint64
	unreported uint64
}

// readAck reads the ack file of dir; a missing file is the zero state. A
// corrupt one is reported, and the caller starts from zero: resending
// results is safe, losing them is not.
func readAck(dir string) (ackState, error) {
	b, err := os.ReadFile(filepath.Join(dir, ackName))
	if errors.Is(err, fs.ErrNotExist) {
		return ackState{}, nil
	}
	if err != nil {
		return ackState{}, fmt.Errorf("read ack file: %w", err)
	}
	if len(b) != ackSize || string(b[:4]) != ackMagic ||
		crc32.Checksum(b[:20], castagnoli) != binary.LittleEndian.Uint32(b[20:]) {
		return ackState{}, fmt.Errorf("read ack file: %w", errCorrupt)
	}
	return ackState{
		head:       binary.LittleEndian.Uint64(b[4:]),
		unreported: binary.LittleEndian.Uint64(b[12:]),
	}, nil
}

func (a ackState) encode() []byte {
	b := make([]byte, 0, ackSize)
	b = append(b, ackMagic...)
	b = binary.LittleEndian.AppendUint64(b, a.head)
	b = binary.LittleEndian.AppendUint64(b, a.unreported)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// writeAck replaces the ack file of dir with a. On a full disk, where even
// the temporary file cannot be created, it overwrites the ack file in place
// instead: that needs no new block, so acknowledged segments can still be
// deleted and free space. A 24-byte write within one sector is not torn in
// practice, and if it were, the checksum would catch it and the spool
// would resend rather than lose.
func writeAck(dir string, a ackState) error {
	err := replaceAck(dir, a.encode())
	if errors.Is(diskErr(err), ErrDiskFull) {
		if ierr := overwriteAck(dir, a.encode()); ierr == nil {
			return nil
		}
	}
	return err
}

func overwriteAck(dir string, b []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, ackName), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func replaceAck(dir string, b []byte) error {
	tmp := filepath.Join(dir, ackTemp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write ack file: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ackName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write ack file: %w", err)
	}
	return nil
}

// syncDir makes the creation, renaming and removal of dir's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
