package scenario

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// The files Run writes in its directory.
const (
	PcapFile  = "scenario.pcap"  // the capture, timestamps in virtual time
	TruthFile = "truth.json"     // the ground truth (Truth, without the log)
	LogFile   = "requests.jsonl" // every request (Request), one JSON object a line
)

// ErrUnsupported is wrapped by the errors of Run and Supported when this
// machine cannot run a scenario (not root, a tool missing, no network
// namespaces).
var ErrUnsupported = errors.New("scenario: unsupported environment")

// Tools lists the commands a scenario needs (Debian packages iproute2,
// tcpdump, ethtool).
var Tools = []string{"ip", "tcpdump", "ethtool"}

// Supported returns nil when scenarios can run here, or why not
// (wrapping ErrUnsupported).
func Supported() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root (network namespaces, tcpdump)", ErrUnsupported)
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%w: needs %s (apt-get install iproute2 tcpdump ethtool)", ErrUnsupported, t)
		}
	}
	return nil
}

// runMu serialises runs: each is timing-sensitive.
var runMu sync.Mutex

// errTooSlow: an attack could not make its requests in time.
var errTooSlow = errors.New("the machine is too slow for this speedup")

// Run runs one scenario and writes PcapFile, TruthFile and LogFile into
// dir. It takes about Duration/Speedup plus a second. When the machine
// cannot keep up (an attack made less than 90 % of its requests before
// the end), it runs the scenario again at half the speedup, twice at
// most; Truth.Options.Speedup is the speedup of the run returned.
func Run(ctx context.Context, dir string, opts Options) (Truth, error) {
	o, err := opts.normalize()
	if err != nil {
		return Truth{}, err
	}
	if err := Supported(); err != nil {
		return Truth{}, err
	}
	runMu.Lock()
	defer runMu.Unlock()
	for try := 0; ; try++ {
		t, err := runOnce(ctx, dir, o)
		if !errors.Is(err, errTooSlow) || try == 2 || o.Speedup/2 < 1 {
			return t, err
		}
		o.Speedup /= 2
	}
}

func runOnce(ctx context.Context, dir string, o Options) (Truth, error) {
	w := newWorld(o)
	w.d.customerRows(false) // formatted before the clock starts
	ns, err := newNetns()
	if err != nil {
		return Truth{}, err
	}
	defer ns.close()

	raw := filepath.Join(dir, "raw.pcap")
	defer os.Remove(raw)
	dump, err := startTcpdump(ns, raw)
	if err != nil {
		return Truth{}, err
	}
	defer dump.kill()

	clk := &clock{t0: time.Now(), speed: o.Speedup}
	clk.v0 = o.Start
	if clk.v0.IsZero() {
		clk.v0 = clk.t0.Round(0)
	}
	srv := newServer(w.d, clk)
	srv.fault.route, srv.fault.from, srv.fault.to = w.fault.route, w.fault.from, w.fault.to
	var ln net.Listener
	if err := ns.do(func() (err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf("%s:%d", serverIP, serverPort))
		return err
	}); err != nil {
		return Truth{}, fmt.Errorf("scenario: listen: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: max(clk.real(75*time.Second), 100*time.Millisecond),
		ErrorLog: log.New(io.Discard, "", 0)}
	go hs.Serve(ln)

	rn := &runner{clk: clk, d: w.d, duration: o.Duration, dial: ns.dial}
	cctx, cancel := context.WithTimeout(ctx, clk.real(o.Duration)+time.Minute)
	defer cancel()
	sessions := make([]*session, len(w.clients))
	var wg sync.WaitGroup
	for i, c := range w.clients {
		s := rn.newSession(cctx, c, w.seed, i)
		sessions[i] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.script(s)
			s.tr.CloseIdleConnections() // the client's FIN
		}()
	}
	wg.Wait()
	realDur := time.Since(clk.t0)
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	hs.Shutdown(sctx)
	scancel()
	hs.Close()

	var errs []error
	var reqs []Request
	for _, s := range sessions {
		if s.err != nil {
			errs = append(errs, fmt.Errorf("client %s (%s %s): %w", s.c.ip, s.c.kind, s.c.attack, s.err))
		}
		reqs = append(reqs, s.log...)
	}
	if err := ctx.Err(); err != nil {
		return Truth{}, err
	}
	if len(errs) > 0 {
		return Truth{}, fmt.Errorf("scenario: %d clients failed: %w", len(errs), errors.Join(errs[:min(len(errs), 5)]...))
	}
	// An attack cut short by the end of the scenario: the machine could
	// not keep up with the speedup.
	for _, s := range sessions {
		if n := countAttack(s.log); n < s.c.planned*9/10 {
			errs = append(errs, fmt.Errorf("%s made %d of its %d requests", s.c.attack, n, s.c.planned))
		}
	}
	if len(errs) > 0 {
		return Truth{}, fmt.Errorf("scenario: %w %v (traffic took %v): %w", errTooSlow, o.Speedup, realDur.Round(time.Millisecond), errors.Join(errs...))
	}
	if err := dump.stop(); err != nil {
		return Truth{}, err
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Start.Before(reqs[j].Start) })

	st, err := rewrite(raw, filepath.Join(dir, PcapFile), clk)
	if err != nil {
		return Truth{}, err
	}
	st.Real = realDur
	t := buildTruth(o, clk, w.clients, reqs, w.fault)
	t.Capture = st
	if err := t.write(dir); err != nil {
		return Truth{}, err
	}
	return t, nil
}

func countAttack(l []Request) int {
	n := 0
	for _, r := range l {
		if r.Attack != "" {
			n++
		}
	}
	return n
}

// write saves the truth and the log in dir.
func (t *Truth) write(dir string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var l bytes.Buffer
	enc := json.NewEncoder(&l)
	for _, r := range t.Log {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, LogFile), l.Bytes(), 0o644)
}

// ReadTruth reads TruthFile and LogFile from dir.
func ReadTruth(dir string) (Truth, error) {
	var t Truth
	b, err := os.ReadFile(filepath.Join(dir, TruthFile))
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("%s: %w", TruthFile, err)
	}
	f, err := os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		return t, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var r Request
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			return t, fmt.Errorf("%s: %w", LogFile, err)
		}
		t.Log = append(t.Log, r)
	}
	return t, nil
}

// ---- the network namespace ----

type netns struct {
	name   string
	fd     int // the namespace
	hostFD int // this process's own
}

var nsSeq atomic.Int64

// newNetns creates a namespace whose loopback carries the server's and
// every client's address, with MTU 1500 and no offloads (MSS-sized
// segments, as on a wire).
func newNetns() (*netns, error) {
	// Namespaces of killed runs (ours by name, whose process is gone).
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, m := range regexp.MustCompile(`(?m)^(apitap-scn-(\d+)-\d+)\b`).FindAllStringSubmatch(string(out), -1) {
			if _, err := os.Stat("/proc/" + m[2]); errors.Is(err, os.ErrNotExist) {
				exec.Command("ip", "netns", "del", m[1]).Run()
			}
		}
	}
	n := &netns{name: fmt.Sprintf("apitap-scn-%d-%d", os.Getpid(), nsSeq.Add(1)), fd: -1, hostFD: -1}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("not permitted")) {
			return nil, fmt.Errorf("%w: cannot create a network namespace: %s", ErrUnsupported, bytes.TrimSpace(out))
		}
		return nil, fmt.Errorf("scenario: ip netns add %s: %v: %s", n.name, err, out)
	}
	script := "link set lo mtu 1500 up\n" + fmt.Sprintf("route add local %s/32 dev lo table local\n", serverIP)
	for _, p := range clientNets {
		script += fmt.Sprintf("route add local %s.0/24 dev lo table local\n", p)
	}
	cmd := exec.Command("ip", "-n", n.name, "-batch", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		n.close()
		return nil, fmt.Errorf("scenario: configuring %s: %v: %s", n.name, err, out)
	}
	if out, err := exec.Command("ip", "netns", "exec", n.name, "ethtool", "-K", "lo", "tso", "off", "gso", "off", "gro", "off").CombinedOutput(); err != nil {
		n.close()
		return nil, fmt.Errorf("scenario: ethtool in %s: %v: %s", n.name, err, out)
	}
	var err error
	if n.fd, err = unix.Open("/run/netns/"+n.name, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		n.close()
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if n.hostFD, err = unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		n.close()
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return n, nil
}

// do runs f on a thread inside the namespace: sockets f creates belong to
// it (and stay there, whatever thread uses them later).
func (n *netns) do(f func() error) error {
	runtime.LockOSThread()
	if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("scenario: setns: %w", err)
	}
	err := f()
	if unix.Setns(n.hostFD, unix.CLONE_NEWNET) == nil {
		runtime.UnlockOSThread()
	} // else the thread stays locked and ends with the goroutine
	return err
}

// dial connects from local (an address of the namespace) to remote.
func (n *netns) dial(ctx context.Context, local, remote string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() (err error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err = d.DialContext(ctx, "tcp", remote)
		return err
	})
	return c, err
}

func (n *netns) close() {
	for _, fd := range []int{n.fd, n.hostFD} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	exec.Command("ip", "netns", "del", n.name).Run()
}

// ---- tcpdump ----

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type tcpdump struct {
	cmd    *exec.Cmd
	path   string
	stderr lockedBuffer
	done   chan struct{}
	err    error
}

// startTcpdump captures the server's port on the namespace's loopback
// into path, and returns once tcpdump listens.
func startTcpdump(ns *netns, path string) (*tcpdump, error) {
	// -Z root: tcpdump would otherwise drop to its own user before opening
	// the file. --immediate-mode and -U: every packet is written as it
	// arrives. -B: 64 MiB of kernel buffer, no drops on bursts.
	d := &tcpdump{path: path, done: make(chan struct{})}
	d.cmd = exec.Command("ip", "netns", "exec", ns.name, "tcpdump", "-i", "lo", "-s", "0", "-U", "--immediate-mode",
		"-B", "65536", "-Z", "root", "-n", "-w", path, fmt.Sprintf("tcp port %d", serverPort))
	d.cmd.Stderr = &d.stderr
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the
		// child: keep that thread for this goroutine until tcpdump ends.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := d.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("scenario: starting tcpdump: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.stderr.String(), "listening on") {
		select {
		case <-d.done:
			return nil, fmt.Errorf("scenario: tcpdump exited (%v): %s", d.err, d.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.kill()
			return nil, fmt.Errorf("scenario: tcpdump not listening after 10s: %s", d.stderr.String())
		}
	}
	return d, nil
}

// stop waits until the capture stops growing, stops tcpdump and checks
// that the kernel dropped nothing.
func (d *tcpdump) stop() error {
	var last int64 = -1
	for same := 0; same < 2; {
		time.Sleep(40 * time.Millisecond)
		fi, err := os.Stat(d.path)
		if err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
		if fi.Size() == last {
			same++
		} else {
			same, last = 0, fi.Size()
		}
	}
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.kill()
		return fmt.Errorf("scenario: tcpdump did not stop on SIGINT: %s", d.stderr.String())
	}
	m := regexp.MustCompile(`(\d+) packets? dropped by kernel`).FindStringSubmatch(d.stderr.String())
	if m == nil {
		return fmt.Errorf("scenario: tcpdump did not report its counters: %s", d.stderr.String())
	}
	if n, _ := strconv.Atoi(m[1]); n != 0 {
		return fmt.Errorf("scenario: tcpdump lost %d packets, the capture is not a ground truth: %s", n, d.stderr.String())
	}
	return nil
}

func (d *tcpdump) kill() {
	select {
	case <-d.done:
	default:
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// ---- the capture ----

// rewrite copies the capture with every timestamp mapped to virtual
// time: t' = v0 + (t - t0) × Speedup. Packet order does not change.
func rewrite(in, out string, clk *clock) (CaptureStats, error) {
	var st CaptureStats
	f, err := os.Open(in)
	if err != nil {
		return st, fmt.Errorf("scenario: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return st, fmt.Errorf("scenario: reading the capture: %w", err)
	}
	g, err := os.Create(out)
	if err != nil {
		return st, fmt.Errorf("scenario: %w", err)
	}
	defer g.Close()
	bw := bufio.NewWriterSize(g, 1<<20)
	wr := pcapgo.NewWriter(bw)
	if err := wr.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		return st, err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("scenario: reading the capture: %w", err)
		}
		ci.Timestamp = clk.virt(ci.Timestamp)
		if st.Packets == 0 {
			st.First = ci.Timestamp
		}
		st.Last = ci.Timestamp
		st.Packets++
		st.Bytes += int64(len(data))
		if err := wr.WritePacket(ci, data); err != nil {
			return st, err
		}
	}
	if err := bw.Flush(); err != nil {
		return st, err
	}
	return st, g.Close()
}
