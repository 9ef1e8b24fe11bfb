//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package spool

import (
	"io/fs"
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking flock: two processes appending
// to one spool would interleave frames. The kernel drops it when the
// process dies, so kill -9 never leaves a stale lock.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// checkAccess makes a directory the analyzer cannot write fail Open with a
// clear error instead of failing the first Append.
func checkAccess(dir string) error {
	const rwx = 0x4 | 0x2 | 0x1 // R_OK | W_OK | X_OK
	if err := syscall.Access(dir, rwx); err != nil {
		return &fs.PathError{Op: "access", Path: dir, Err: err}
	}
	return nil
}

// syncDir makes created, renamed and deleted names durable.
func syncDir(d *os.File) error { return d.Sync() }
