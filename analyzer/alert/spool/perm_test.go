//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPermissionDenied: a directory the analyzer may not use fails Open
// with a clear error. As root (permissions do not apply) the check runs
// in a child process with the nobody user.
func TestPermissionDenied(t *testing.T) {
	if dir := os.Getenv("SPOOL_PERM_CHILD"); dir != "" {
		_, err := Open(Config{Dir: dir})
		fmt.Printf("isPermission=%v\n%v\n", errors.Is(err, fs.ErrPermission), err)
		return
	}
	base, err := os.MkdirTemp("", "spoolperm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	locked := filepath.Join(base, "locked")
	if err := os.Mkdir(locked, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := []string{locked, filepath.Join(locked, "sub")} // unwritable; not creatable
	if os.Geteuid() != 0 {
		for _, dir := range cases {
			_, err := Open(Config{Dir: dir})
			checkPermErr(t, dir, errors.Is(err, fs.ErrPermission), fmt.Sprint(err))
		}
		return
	}
	// Root: copy the test binary where nobody can run it.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(locked, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "spool.test")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range cases {
		cmd := exec.Command(bin, "-test.run=^TestPermissionDenied$")
		cmd.Env = append(os.Environ(), "SPOOL_PERM_CHILD="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("cannot run a child as nobody: %v %s", err, out)
		}
		first, rest, _ := strings.Cut(string(out), "\n")
		checkPermErr(t, dir, first == "isPermission=true", rest)
	}
}

func checkPermErr(t *testing.T, dir string, isPerm bool, msg string) {
	t.Helper()
	if !isPerm || !strings.Contains(msg, "permission") || !strings.Contains(msg, dir) {
		t.Errorf("Open(%s): want a clear permission error, got %q (errors.Is ErrPermission: %v)", dir, msg, isPerm)
	}
}
