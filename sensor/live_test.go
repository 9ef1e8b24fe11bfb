package sensor_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLiveCapture runs the apitap binary live on the namespace's loopback,
// once with AF_PACKET (TPACKET_V3) and once with libpcap, while the real
// client and server of TestNamespaceCapture talk, then stops it with
// SIGINT: every exchange the client made must be in its output, and the
// shutdown must flush them all.
func TestLiveCapture(t *testing.T) {
	if os.Getenv(nsRoleEnv) != "" {
		t.Skip("inside a helper process")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, packet sockets); CI runs it as root")
	}
	for _, tool := range []string{"ip", "tcpdump", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	bin := apitapBinary(t)
	dir := t.TempDir()
	engines := []string{"afpacket", "pcap"}
	outs := map[string]string{}
	var hooks []func(in func(...string) []string) func()
	for _, eng := range engines {
		eng := eng
		out := filepath.Join(dir, eng+".jsonl")
		outs[eng] = out
		hooks = append(hooks, func(in func(...string) []string) func() {
			// Workers 2 exercises the sharded path; the BPF filter runs in
			// the kernel for both engines.
			a := in(bin, "sensor", "--iface", "lo", "--engine", eng, "--bpf", "tcp port 8080",
				"--workers", "2", "--output", "jsonl:"+out, "--log-format", "json")
			p := nsStart(t, "sensor-"+eng, exec.Command(a[0], a[1:]...))
			p.waitFor(t, "sensor starting", true, 10*time.Second)
			return func() {
				time.Sleep(300 * time.Millisecond) // let the last packets reach the ring
				p.stop(t, syscall.SIGINT, 15*time.Second)
				if p.err != nil {
					t.Errorf("sensor %s: %v\n%s", eng, p.err, p.stderr.String())
				}
				if !strings.Contains(p.stderr.String(), "sensor stopped") {
					t.Errorf("sensor %s did not log its shutdown:\n%s", eng, p.stderr.String())
				}
			}
		})
	}
	_, calls := nsCapture(t, dir, hooks...)
	var want []string
	for _, c := range calls {
		want = append(want, fmt.Sprintf("%s %s %d", c.Method, c.Target, c.Status))
	}
	sort.Strings(want)
	for _, eng := range engines {
		got := readJSONL(t, outs[eng])
		onlyWant, onlyGot := nsMultisetDiff(want, got)
		t.Logf("%s: %d records for %d client exchanges", eng, len(got), len(want))
		if len(onlyWant) > 0 || len(onlyGot) > 0 {
			t.Errorf("%s: live records differ from the client's exchanges:\n  missing: %s\n  extra: %s",
				eng, nsHead(onlyWant, 5), nsHead(onlyGot, 5))
		}
	}
}

// readJSONL returns "method target status" of every exchange in a JSONL output.
func readJSONL(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var r struct {
			Type   string `json:"type"`
			Method string `json:"method"`
			Target string `json:"target"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Type == "loss" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %d", r.Method, r.Target, r.Status))
	}
	sort.Strings(out)
	return out
}
