//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spool

import "os"

// Elsewhere there is no portable flock or access(2): a spool is trusted to
// be opened once, and an unwritable directory fails the first write.
func lockFile(*os.File) error  { return nil }
func checkAccess(string) error { return nil }

// syncDir: directories cannot be fsynced on every system (Windows).
func syncDir(*os.File) error { return nil }
