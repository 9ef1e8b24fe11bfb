//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

const crashMaxLen = 700

func crashConfig(dir string) Config {
	// Small segments and cap: rolls, deletions and ErrFull all happen
	// while the child is being killed. fsync on, as in production.
	return Config{Dir: dir, MaxBytes: 256 << 10, SegmentBytes: 16 << 10}
}

// TestCrashKill9 runs a child process (this test binary) that appends and
// delivers in a loop, kills it with SIGKILL at random moments, and after
// each kill opens the spool and checks: the pending records are a gap-free
// run from the ack position, each with its own payload (no garbage, no
// duplicate), reaching at least the last sequence number the child saw
// Append return (nothing acknowledged-as-appended lost).
func TestCrashKill9(t *testing.T) {
	if dir := os.Getenv("SPOOL_CRASH_DIR"); dir != "" {
		crashChild(dir, os.Getenv("SPOOL_CRASH_SIDE"))
		return
	}
	if testing.Short() {
		t.Skip("kills child processes")
	}
	base := t.TempDir()
	dir := filepath.Join(base, "spool")
	side := filepath.Join(base, "appended")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var reported uint64
	const rounds = 10
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKill9$")
		cmd.Env = append(os.Environ(), "SPOOL_CRASH_DIR="+dir, "SPOOL_CRASH_SIDE="+side)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Some kills land during Open's repair, most in the loop.
		wait := time.Duration(rng.IntN(300)) * time.Millisecond
		if round%4 == 1 {
			wait = time.Duration(rng.IntN(3000)) * time.Microsecond
		} else {
			// Let it make progress first, so every round appends.
			for deadline := time.Now().Add(10 * time.Second); readSide(t, side) == reported && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		time.Sleep(wait)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended on its own (%v):\n%s", round, err, stderr.String())
		}
		now := readSide(t, side)
		if now < reported {
			t.Fatalf("side file went back: %d < %d", now, reported)
		}
		reported = now

		s, err := Open(crashConfig(dir))
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		st := s.Stats()
		var es []Entry
		if err := s.Scan(func(e Entry) error { es = append(es, e); return nil }); err != nil {
			t.Fatalf("round %d: Scan: %v", round, err)
		}
		last := st.AckSeq
		if len(es) > 0 {
			checkRun(t, es, st.AckSeq+1, es[len(es)-1].Seq, crashMaxLen)
			last = es[len(es)-1].Seq
		}
		if last < reported || st.NextSeq != last+1 || st.Pending != uint64(len(es)) || st.DiskBytes > 256<<10 {
			t.Fatalf("round %d: child reported %d appended; spool has %d..%d, %+v", round, reported, st.AckSeq+1, last, st)
		}
		t.Logf("round %d: killed after %v; reported %d, on disk %d..%d, corrupt %d, %d segments", round, wait, reported, st.AckSeq+1, last, st.Corrupt, st.Segments)
		s.Close()
	}
	if reported == 0 {
		t.Fatal("the child never appended")
	}
}

func readSide(t *testing.T, path string) uint64 {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || len(b) == 0 {
		return 0
	}
	if err != nil || len(b) != 8 {
		t.Fatalf("side file: %v %q", err, b)
	}
	return binary.LittleEndian.Uint64(b)
}

// crashChild appends batches in one goroutine and delivers in another
// (Peek, check, Ack some), like the analyzer and a sender, until killed.
// After each successful Append it records the batch's last number in the
// side file: one 8-byte pwrite, which a kill cannot tear.
func crashChild(dir, side string) {
	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "child: "+format+"\n", a...)
		os.Exit(3)
	}
	s, err := Open(crashConfig(dir))
	if err != nil {
		fail("Open: %v", err)
	}
	sf, err := os.OpenFile(side, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		fail("%v", err)
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	go func() {
		for {
			select {
			case <-s.Ready():
			case <-time.After(time.Millisecond):
			}
			es, err := s.Peek(1+rng.IntN(40), 0)
			if err != nil {
				fail("Peek: %v", err)
			}
			for _, e := range es {
				if !bytes.Equal(e.Data, payload(e.Seq, crashMaxLen)) {
					fail("record %d: wrong payload", e.Seq)
				}
			}
			if len(es) > 0 && rng.IntN(3) > 0 {
				if err := s.Ack(es[rng.IntN(len(es))].Seq); err != nil {
					fail("Ack: %v", err)
				}
			}
		}
	}()
	var b [8]byte
	for {
		next := s.Stats().NextSeq
		recs := make([][]byte, 1+rng.IntN(12))
		for i := range recs {
			recs[i] = payload(next+uint64(i), crashMaxLen)
		}
		first, err := s.Append(recs...)
		if errors.Is(err, ErrFull) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil || first != next {
			fail("Append = %d, %v; want %d", first, err, next)
		}
		binary.LittleEndian.PutUint64(b[:], first+uint64(len(recs))-1)
		if _, err := sf.WriteAt(b[:], 0); err != nil {
			fail("%v", err)
		}
	}
}
