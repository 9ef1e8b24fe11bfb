package testutil

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SelfCPU is this process's user + system CPU time, for benchmarks that
// report CPU per record rather than wall time (on a shared machine the
// steadier measure).
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ProcCPU is the user + system CPU time of process pid, from
// /proc/PID/stat; 0 when unknown.
func ProcCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (in parentheses, may hold spaces):
	// utime is field 14, stime 15, in clock ticks of 1/100 s on Linux.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fs := strings.Fields(string(b[i+1:]))
	if len(fs) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(fs[11], 10, 64)
	s, _ := strconv.ParseInt(fs[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// ClickHousePid is the local ClickHouse server's process id (the pid file
// scripts/clickhouse.sh and the Debian package write), 0 if unknown.
func ClickHousePid() int {
	b, err := os.ReadFile("/var/run/clickhouse-server/clickhouse-server.pid")
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
