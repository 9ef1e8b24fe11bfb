package testutil

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Child runs this test binary again as a helper process (a benchmark's
// Kafka broker, out of the measured process): only the tests matching run,
// no benchmarks, with env added to the environment (the helper tells its
// role by it). It returns the first line the child prints, split at commas
// (its addresses), and its process id. The child must exit when its stdin
// closes, which happens when tb ends.
func Child(tb testing.TB, run string, env ...string) ([]string, int) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.bench=^$")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(line), ","), cmd.Process.Pid
}

// ChildServe is the child's side of Child: it prints addrs on one line and
// returns when the parent closes the child's stdin (the parent's test
// ended, or the parent died).
func ChildServe(addrs []string) {
	fmt.Println(strings.Join(addrs, ","))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
