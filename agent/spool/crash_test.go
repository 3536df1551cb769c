package spool

import (
	"bufio"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The SIGKILL test runs the test binary again as a child that appends (and
// peeks and acks, from another goroutine) until the parent kills it with
// SIGKILL at a random moment. After each Append and Ack returns, the child
// records its progress in a side file of three numbers, written with one
// pwrite:
//
//	appended  results numbered below this were appended (Append returned)
//	acked     results below this were acked (Ack and Sync returned)
//	intent    no result at or above this has been passed to Ack
//
// Results are numbered by their Timestamp.
const (
	crashDirEnv   = "PROPHASIS_SPOOL_CRASH_DIR"
	crashStartEnv = "PROPHASIS_SPOOL_CRASH_START"
	progressName  = "progress"
)

func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return // not the child
	}
	start, err := strconv.Atoi(os.Getenv(crashStartEnv))
	if err != nil {
		t.Fatal(err)
	}
	if err := crashChild(dir, start); err != nil {
		t.Fatal(err)
	}
}

func crashChild(dir string, start int) error {
	s, err := Open(filepath.Join(dir, "spool"), Options{SegmentBytes: 64 << 10}, nil)
	if err != nil {
		return err
	}
	pf, err := os.OpenFile(filepath.Join(dir, progressName), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	progress := readProgressFile(dir)
	write := func(update func(p *[3]uint64)) {
		mu.Lock()
		defer mu.Unlock()
		update(&progress)
		var b [24]byte
		for i, v := range progress {
			binary.LittleEndian.PutUint64(b[i*8:], v)
		}
		if _, err := pf.WriteAt(b[:], 0); err != nil {
			panic(err)
		}
	}
	go func() {
		for {
			b, err := s.Peek(1 + rand.IntN(300))
			if err != nil {
				panic(err)
			}
			if len(b.Results) == 0 {
				continue
			}
			end := uint64(b.Results[len(b.Results)-1].Timestamp + 1)
			write(func(p *[3]uint64) { p[2] = max(p[2], end) })
			if err := s.Ack(b); err != nil {
				panic(err)
			}
			// An Ack is durable at the next sync.
			if err := s.Sync(); err != nil {
				panic(err)
			}
			write(func(p *[3]uint64) { p[1] = max(p[1], end) })
		}
	}()
	next := start
	deadline := time.Now().Add(time.Minute) // in case the parent is gone
	for time.Now().Before(deadline) {
		n := 1 + rand.IntN(20)
		if err := s.Append(results(next, next+n)...); err != nil {
			return err
		}
		next += n
		write(func(p *[3]uint64) { p[0] = uint64(next) })
		if next-n == start {
			os.Stdout.WriteString("ready\n")
		}
	}
	return nil
}

func readProgressFile(dir string) [3]uint64 {
	b, err := os.ReadFile(filepath.Join(dir, progressName))
	if err != nil || len(b) != 24 {
		panic("progress file unreadable")
	}
	var p [3]uint64
	for i := range p {
		p[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return p
}

func writeProgressFile(t *testing.T, dir string, p [3]uint64) {
	var b [24]byte
	for i, v := range p {
		binary.LittleEndian.PutUint64(b[i*8:], v)
	}
	if err := os.WriteFile(filepath.Join(dir, progressName), b[:], 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSIGKILL(t *testing.T) {
	dir := t.TempDir()
	next, head := 0, 0 // next result to append; oldest result in the spool
	for round := range 8 {
		writeProgressFile(t, dir, [3]uint64{uint64(next), uint64(head), uint64(head)})
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(next))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child said %q, %v", round, line, err)
		}
		// The random moment of the crash.
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not by SIGKILL", round, err)
		}

		p := readProgressFile(dir)
		appended, acked, intent := int(p[0]), int(p[1]), int(p[2])
		s, err := Open(filepath.Join(dir, "spool"), Options{SegmentBytes: 64 << 10}, testLogger(t))
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		got := peekAll(t, s)
		if s.Dropped() != 0 {
			t.Fatalf("round %d: %d results dropped", round, s.Dropped())
		}
		s.Close()
		t.Logf("round %d: appended up to %d, acked up to %d (intent %d); spool holds %d results from %v",
			round, appended, acked, intent, len(got), abbrev(got[:min(1, len(got))]))
		// In order and without duplicates: consecutive numbers.
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]+1 {
				t.Fatalf("round %d: result %d follows %d", round, got[i], got[i-1])
			}
		}
		if len(got) == 0 {
			// Everything was acknowledged, which the child must have meant to.
			if intent < appended {
				t.Fatalf("round %d: spool empty, but results from %d to %d were never acked", round, intent, appended)
			}
			next = max(appended, intent)
			head = next
			continue
		}
		first, last := int(got[0]), int(got[len(got)-1])
		if first < acked {
			t.Fatalf("round %d: acknowledged result %d came back", round, first)
		}
		if first > intent {
			t.Fatalf("round %d: results %d to %d lost: the spool starts at %d", round, intent, first, first)
		}
		if last < appended-1 {
			t.Fatalf("round %d: results %d to %d lost: appended, but the spool ends at %d", round, last+1, appended, last)
		}
		next, head = last+1, first
	}
}
