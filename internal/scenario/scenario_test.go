package scenario

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/pcaptest"
	"github.com/apitap/apitap/sensor"
)

// keepEnv names a directory to copy the scenarios' files into (debugging,
// or making captures by hand with TestByHand).
const keepEnv = "APITAP_SCENARIO_KEEP"

// keep copies a scenario's files into $APITAP_SCENARIO_KEEP/name.
func keep(t *testing.T, pcap, name string) {
	dst := os.Getenv(keepEnv)
	if dst == "" {
		return
	}
	dst = filepath.Join(dst, name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{PcapFile, TruthFile, LogFile} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(pcap), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("kept %s, %s and %s in %s", PcapFile, TruthFile, LogFile, dst)
}

// small is the package's scenario: every attack at half volume, so that a
// minute of it stays light for two busy cores.
var small = Options{Seed: 1, NormalClients: 10, Duration: 60 * time.Second, Speedup: 50, Volume: 0.5}

func key(ip, method, target string, status int) string {
	return fmt.Sprintf("%s %s %s %d", ip, method, target, status)
}

// summary tells, per client kind (attack type for attackers), how many
// exchanges the capture holds.
func summary(tr Truth, ex []*flow.Exchange) string {
	kind := map[string]string{}
	for _, c := range tr.Clients {
		kind[c.IP] = c.Kind
		if c.Attack != "" {
			kind[c.IP] = c.Attack
		}
	}
	n, clients := map[string]int{}, map[string]map[string]bool{}
	for _, e := range ex {
		k := kind[e.Client.Addr().String()]
		n[k]++
		if clients[k] == nil {
			clients[k] = map[string]bool{}
		}
		clients[k][e.Client.Addr().String()] = true
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(n)) {
		fmt.Fprintf(&b, "\n  %-24s %3d clients %5d exchanges", k, len(clients[k]), n[k])
	}
	return b.String()
}

func TestScenario(t *testing.T) {
	began := time.Now()
	path, tr := Generate(t, small)
	took := time.Since(began)
	keep(t, path, "seed1")
	// A known key: the sensor names a JWT's subject by its fingerprint.
	const hmacKey = "scenario-key-0123456789"
	ex, err := pcaptest.ExchangesWith(path, func(c *sensor.Config) { c.Exchange.HMACKey = []byte(hmacKey) })
	if err != nil {
		t.Fatal(err)
	}
	subject := func(user string) string {
		m := hmac.New(sha256.New, []byte(hmacKey))
		m.Write([]byte("jwt-sub\x00" + user))
		return "fp:" + hex.EncodeToString(m.Sum(nil)[:16])
	}
	t.Logf("generated in %v (traffic %v real): %d requests, %d packets, %d exchanges; per client kind:%s",
		took.Round(time.Millisecond), tr.Capture.Real.Round(time.Millisecond), tr.Requests, tr.Capture.Packets, len(ex), summary(tr, ex))
	if took > 20*time.Second {
		t.Errorf("the scenario took %v to generate, want a few seconds", took)
	}

	// The capture covers the virtual duration: timestamps were stretched.
	span := tr.Capture.Last.Sub(tr.Capture.First)
	if span < small.Duration*80/100 || span > small.Duration+20*time.Second {
		t.Errorf("the capture spans %v, the scenario %v", span, small.Duration)
	}
	if tr.Capture.First.Before(tr.Start) || tr.Capture.Last.After(tr.End.Add(20*time.Second)) {
		t.Errorf("capture %v..%v outside the scenario %v..%v", tr.Capture.First, tr.Capture.Last, tr.Start, tr.End)
	}
	if want := time.Duration(float64(small.Duration) / tr.Options.Speedup); tr.Capture.Real > want*3/2 {
		t.Errorf("the traffic took %v of real time, want about %v", tr.Capture.Real, want)
	}

	// The capture holds exactly the requests the clients made, with their
	// addresses, and at the times the log says (virtual).
	want := map[string][]Request{}
	for _, r := range tr.Log {
		k := key(r.Client, r.Method, r.Target, r.Status)
		want[k] = append(want[k], r)
	}
	var unexpected []string
	got := map[string][]*flow.Exchange{}
	for _, e := range ex {
		if e.Flags&(flow.FlagGap|flow.FlagNoResponse|flow.FlagNoRequest|flow.FlagMidstream|flow.FlagMalformed) != 0 {
			t.Errorf("damaged exchange in a clean capture: %s %s flags %v", e.Method, e.Target, e.Flags)
		}
		if e.Server.String() != tr.Server || e.Host != tr.Host {
			t.Errorf("exchange to %v (host %q), want %s (%s)", e.Server, e.Host, tr.Server, tr.Host)
		}
		k := key(e.Client.Addr().String(), e.Method, e.Target, e.Status)
		got[k] = append(got[k], e)
	}
	// Same requests in both, paired in time order.
	worst := time.Duration(0)
	for k, l := range got {
		w := want[k]
		sort.Slice(l, func(i, j int) bool { return l[i].Start.Before(l[j].Start) })
		for i, e := range l {
			if i >= len(w) {
				unexpected = append(unexpected, k)
				continue
			}
			worst = max(worst, w[i].Start.Sub(e.Start).Abs())
		}
		want[k] = w[min(len(w), len(l)):]
	}
	var missing []string
	for k, l := range want {
		for range l {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	if len(missing)+len(unexpected) > 0 {
		t.Fatalf("capture and log differ: %d requests missing from the capture, %d exchanges not in the log\n missing: %s\n unexpected: %s",
			len(missing), len(unexpected), head(missing, 10), head(unexpected, 10))
	}
	// Client and capture clocks agree (request start in the client vs the
	// first byte on the wire), stretched by Speedup. A stretching bug is
	// minutes off; scheduling on a loaded 2-core machine is tens of real
	// milliseconds, a few virtual seconds (2.2 s seen in a CI dry run).
	if worst > 10*time.Second {
		t.Errorf("an exchange's capture time is %v away from the client's (virtual)", worst)
	}
	t.Logf("capture and client times agree within %v (virtual)", worst.Round(time.Millisecond))

	// Every attack is there, from its own client, with its requests.
	byClient := map[string][]*flow.Exchange{}
	for _, e := range ex {
		byClient[e.Client.Addr().String()] = append(byClient[e.Client.Addr().String()], e)
	}
	if len(tr.Attacks) != len(AllAttacks) {
		t.Fatalf("%d attacks in the truth, want %d", len(tr.Attacks), len(AllAttacks))
	}
	seenIP := map[string]string{}
	for _, a := range tr.Attacks {
		t.Logf("%-22s client %-15s principal %-22q %-6s %-28s %4d requests %v..%v statuses %v",
			a.Type, a.Client, a.Principal, a.Method, a.Path, a.Requests, a.First.Sub(tr.Start).Round(100*time.Millisecond), a.Last.Sub(tr.Start).Round(100*time.Millisecond), a.Statuses)
		if a.Requests < 3 {
			t.Errorf("%s: only %d requests", a.Type, a.Requests)
			continue
		}
		if a.Type == ErrorBurst {
			if a.Client != "" || len(a.Affected) == 0 || a.Path != "/api/v1/products/{id}" {
				t.Errorf("error_burst: client %q, affected %v, path %s", a.Client, a.Affected, a.Path)
			}
			for _, ip := range a.Affected {
				if !tr.IsNormal(ip) {
					t.Errorf("error_burst: 5xx sent to %s, not a normal client", ip)
				}
			}
			n := 0
			for _, e := range ex {
				if e.Status >= 500 {
					n++
				}
			}
			if n != a.Requests {
				t.Errorf("error_burst: %d 5xx exchanges in the capture, the truth says %d", n, a.Requests)
			}
			continue
		}
		if a.Client == "" || tr.IsNormal(a.Client) || seenIP[a.Client] != "" {
			t.Errorf("%s: client %q is not an attacker of its own (also %q)", a.Type, a.Client, seenIP[a.Client])
		}
		seenIP[a.Client] = a.Type
		n := 0
		for _, e := range byClient[a.Client] {
			if !e.Start.Before(a.First) && !e.Start.After(a.Last.Add(2*time.Second)) && slices.ContainsFunc(a.Endpoints, func(p Endpoint) bool {
				return p.Method == e.Method && (p.Path == routeOf(e.Path))
			}) {
				n++
			}
		}
		if n < a.Requests {
			t.Errorf("%s: %d exchanges from %s on its endpoints in its window, the truth says %d", a.Type, n, a.Client, a.Requests)
		}
		if a.Last.Sub(a.First) > small.Duration || a.First.Before(tr.Start) {
			t.Errorf("%s: window %v..%v outside the scenario", a.Type, a.First, a.Last)
		}
		if a.Principal != "" && a.Type != BruteForce {
			subs := 0
			for _, e := range byClient[a.Client] {
				for _, c := range e.Credentials {
					if c.JWT != nil && c.JWT.Sub == subject(a.Principal) {
						subs++
						break
					}
				}
			}
			if subs < a.Requests {
				t.Errorf("%s: %d exchanges carry a token for %q, want at least %d", a.Type, subs, a.Principal, a.Requests)
			}
		}
	}
	checkStatuses(t, tr)

	// Normal clients: several kinds, each with think times between
	// requests (seconds, not milliseconds).
	kinds := map[string]int{}
	for _, c := range tr.Clients {
		if c.Kind == KindAttacker {
			continue
		}
		kinds[c.Kind]++
		if c.Requests == 0 {
			if c.Kind == KindUser || c.Kind == KindMonitor {
				t.Errorf("normal client %s (%s) made no request", c.IP, c.Kind)
			}
			continue
		}
		if c.Kind == KindUser || c.Kind == KindBrowser {
			var gaps []time.Duration
			l := byClient[c.IP]
			for i := 1; i < len(l); i++ {
				gaps = append(gaps, l[i].Start.Sub(l[i-1].End))
			}
			if len(gaps) == 0 {
				continue
			}
			slices.Sort(gaps)
			if med := gaps[len(gaps)/2]; med < time.Second || med > 40*time.Second {
				t.Errorf("normal client %s (%s): median think time %v over %d requests", c.IP, c.Kind, med, len(l))
			}
		}
	}
	for _, k := range []string{KindUser, KindBrowser, KindAdmin, KindMonitor, KindIntegration} {
		if kinds[k] == 0 {
			t.Errorf("no normal client of kind %s", k)
		}
	}
	if len(tr.NormalIPs) != small.NormalClients || len(tr.AdminIPs) == 0 {
		t.Errorf("%d normal IPs (want %d), %d admin IPs", len(tr.NormalIPs), small.NormalClients, len(tr.AdminIPs))
	}
	// Fast attacks are much faster than anyone normal.
	for _, typ := range []string{RateAbuse, ReconScan} {
		a := tr.Attack(typ)
		if rate := float64(a.Requests) / a.Last.Sub(a.First).Seconds(); rate < 3 {
			t.Errorf("%s: %.1f requests/s", typ, rate)
		}
	}
}

// checkStatuses checks what each attack got from the server, and the noise
// of the normal clients.
func checkStatuses(t *testing.T, tr Truth) {
	t.Helper()
	share := func(a *Attack, codes ...int) float64 {
		n := 0
		for _, c := range codes {
			n += a.Statuses[c]
		}
		return float64(n) / float64(a.Requests)
	}
	for _, c := range []struct {
		typ   string
		codes []int
		min   float64
	}{
		{BOLAEnumeration, []int{403, 404}, 0.95},
		{CredentialStuffing, []int{401}, 0.9},
		{BruteForce, []int{401}, 0.95},
		{RateAbuse, []int{200}, 1},
		{InjectionAttempt, []int{200, 400, 401, 404, 422}, 1},
		{UnauthenticatedAccess, []int{200}, 1},
		{DataExfiltration, []int{200}, 1},
		{ReconScan, []int{404, 405}, 0.95},
		{PrivilegeEscalation, []int{401, 403}, 1},
		{AuthFailureBurst, []int{401}, 1},
		{ErrorBurst, []int{500, 503, 504}, 1},
	} {
		a := tr.Attack(c.typ)
		if a == nil {
			continue
		}
		if s := share(a, c.codes...); s < c.min {
			t.Errorf("%s: statuses %v: %.2f in %v, want at least %.2f", c.typ, a.Statuses, s, c.codes, c.min)
		}
	}
	// The unauthenticated requests carry no token; the exfiltration moves
	// far more than any normal export.
	maxNormalExport, exfil := 0, 0
	for _, r := range tr.Log {
		if r.Attack == UnauthenticatedAccess && r.Principal != "" {
			t.Errorf("unauthenticated_access request with a token: %+v", r)
		}
		if r.Route == "/api/v1/export" && r.Status == 200 {
			if r.Attack == DataExfiltration {
				exfil += r.RespBytes
			} else if tr.IsNormal(r.Client) {
				maxNormalExport = max(maxNormalExport, r.RespBytes)
			}
		}
		if r.Kind != KindAttacker && r.Attack != "" {
			t.Errorf("a normal client's request marked as attack: %+v", r)
		}
		if r.Kind != KindAttacker && r.Status >= 500 && r.Route != "/api/v1/products/{id}" {
			t.Errorf("5xx outside the fault: %+v", r)
		}
	}
	if exfil < 20*maxNormalExport {
		t.Errorf("exfiltration moved %d bytes, the largest normal export is %d", exfil, maxNormalExport)
	}
}

func head(l []string, n int) string {
	if len(l) > n {
		return strings.Join(l[:n], "\n  ") + fmt.Sprintf("\n  ... and %d more", len(l)-n)
	}
	return strings.Join(l, "\n  ")
}

// TestSeeds: another seed (and volume) gives another scenario; the same
// options give the cached one.
func TestSeeds(t *testing.T) {
	p1, t1 := Generate(t, small)
	o := Options{Seed: 2, NormalClients: 8, Duration: 40 * time.Second, Volume: 0.25, Speedup: 50,
		Attacks: []string{BOLAEnumeration, RateAbuse, ErrorBurst}, Start: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)}
	p2, t2 := Generate(t, o)
	keep(t, p2, "seed2")
	b1, err := os.ReadFile(p1)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := os.ReadFile(p2)
	if err != nil {
		t.Fatal(err)
	}
	if string(b1) == string(b2) {
		t.Fatal("two seeds gave the same capture")
	}
	same := 0
	for _, c := range t2.Clients {
		if t1.Client(c.IP) != nil {
			same++
		}
	}
	if same > len(t2.Clients)/2 {
		t.Errorf("%d of %d client addresses shared by two seeds", same, len(t2.Clients))
	}
	if len(t2.Attacks) != 3 || t2.Attack(BOLAEnumeration) == nil || t2.Attack(CredentialStuffing) != nil {
		t.Errorf("attacks %+v, want the three selected", t2.Attacks)
	}
	b1a, b2a := t1.Attack(BOLAEnumeration), t2.Attack(BOLAEnumeration)
	if b2a.Requests >= b1a.Requests*3/4 {
		t.Errorf("volume 0.25: %d BOLA requests, volume 0.5: %d", b2a.Requests, b1a.Requests)
	}
	ex := pcaptest.MustExchanges(t, p2)
	if len(ex) != t2.Requests {
		t.Errorf("%d exchanges in the capture, %d requests made", len(ex), t2.Requests)
	}
	for _, e := range ex {
		if e.Start.Before(o.Start) || e.End.After(o.Start.Add(o.Duration+10*time.Second)) {
			t.Fatalf("exchange at %v..%v, the scenario starts at %v and lasts %v", e.Start, e.End, o.Start, o.Duration)
		}
	}
	t.Logf("seed 2: %d requests, capture %v..%v; per client kind:%s", t2.Requests,
		t2.Capture.First.Format(time.TimeOnly), t2.Capture.Last.Format(time.TimeOnly), summary(t2, ex))

	// The same options again: the cached run, in a new directory.
	p3, t3 := Generate(t, small)
	if p3 == p1 || t3.Requests != t1.Requests {
		t.Errorf("the cached scenario: %s (first %s), %d requests (first %d)", p3, p1, t3.Requests, t1.Requests)
	}
	if b3, err := os.ReadFile(p3); err != nil || string(b3) != string(b1) {
		t.Errorf("the cached capture differs (%v)", err)
	}
	if _, err := ReadTruth(filepath.Dir(p3)); err != nil {
		t.Error(err)
	}
}

// TestByHand makes a scenario with options from the environment and keeps
// it; skipped unless APITAP_SCENARIO_KEEP is set. Example:
//
//	APITAP_SCENARIO_KEEP=/tmp/scn APITAP_SCENARIO_SEED=7 APITAP_SCENARIO_DURATION=5m \
//	  go test ./internal/scenario -run ByHand -v
func TestByHand(t *testing.T) {
	if os.Getenv(keepEnv) == "" {
		t.Skip("set " + keepEnv + " (and APITAP_SCENARIO_SEED, _CLIENTS, _DURATION, _SPEEDUP, _VOLUME, _ATTACKS)")
	}
	var o Options
	env := func(name string, parse func(string) error) {
		if v := os.Getenv("APITAP_SCENARIO_" + name); v != "" {
			if err := parse(v); err != nil {
				t.Fatalf("APITAP_SCENARIO_%s=%q: %v", name, v, err)
			}
		}
	}
	env("SEED", func(v string) (err error) { o.Seed, err = strconv.ParseInt(v, 10, 64); return })
	env("CLIENTS", func(v string) (err error) { o.NormalClients, err = strconv.Atoi(v); return })
	env("DURATION", func(v string) (err error) { o.Duration, err = time.ParseDuration(v); return })
	env("SPEEDUP", func(v string) (err error) { o.Speedup, err = strconv.ParseFloat(v, 64); return })
	env("VOLUME", func(v string) (err error) { o.Volume, err = strconv.ParseFloat(v, 64); return })
	env("ATTACKS", func(v string) error {
		o.Attacks = []string{}
		if v != "none" {
			o.Attacks = strings.Split(v, ",")
		}
		return nil
	})
	began := time.Now()
	path, tr := Generate(t, o)
	keep(t, path, fmt.Sprintf("seed%d", tr.Options.Seed))
	ex := pcaptest.MustExchanges(t, path)
	t.Logf("%d requests, %d exchanges, %d packets, capture %v..%v, generated in %v; per client kind:%s",
		tr.Requests, len(ex), tr.Capture.Packets, tr.Capture.First.Format(time.DateTime), tr.Capture.Last.Format(time.DateTime),
		time.Since(began).Round(time.Millisecond), summary(tr, ex))
	for _, a := range tr.Attacks {
		t.Logf("%-22s %-15s %-22q %-6s %-28s %5d requests %v..%v  %s", a.Type, a.Client, a.Principal, a.Method, a.Path, a.Requests,
			a.First.Sub(tr.Start).Round(time.Second), a.Last.Sub(tr.Start).Round(time.Second), a.Detail)
	}
}
