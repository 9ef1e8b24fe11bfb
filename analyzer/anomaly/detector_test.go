package anomaly

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

const host = "shop.example.com"

func ip(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i%250 + 1)}) }

// stream builds a time-ordered event stream.
type stream struct{ evs []Event }

func (s *stream) add(e Event) {
	if e.Host == "" {
		e.Host = host
	}
	if e.Method == "" {
		e.Method = "GET"
	}
	if e.RawPath == "" {
		e.RawPath = e.Path
	}
	if e.Status == 0 {
		e.Status = 200
	}
	if e.RespBytes == 0 && e.Status < 300 {
		e.RespBytes = 800
	}
	s.evs = append(s.evs, e)
}

func (s *stream) run(t *testing.T, cfg Config) []Finding {
	t.Helper()
	sort.SliceStable(s.evs, func(i, j int) bool { return s.evs[i].Time.Before(s.evs[j].Time) })
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []Finding
	for i := range s.evs {
		d.Observe(&s.evs[i])
		if i%500 == 0 {
			out = append(out, d.Findings(true)...)
		}
	}
	out = append(out, d.Findings(true)...)
	return out
}

// normal adds n clients × duration of ordinary use: each user logs in,
// browses the catalogue, reads its own accounts, places orders, with
// think times of a few seconds and a little noise (a 404, one typo at
// login, a 403).
func normal(s *stream, r *rand.Rand, n int, dur time.Duration) {
	for c := range n {
		user := fmt.Sprintf("user%03d", c)
		pr := "jwt:" + user
		at := t0.Add(time.Duration(r.IntN(30)) * time.Second)
		if c%7 == 0 { // a typo first
			s.add(Event{Time: at, Client: ip(c), Method: "POST", Path: "/api/v1/login", User: user, Status: 401})
			at = at.Add(3 * time.Second)
		}
		s.add(Event{Time: at, Client: ip(c), Method: "POST", Path: "/api/v1/login", User: user, Status: 200})
		for at.Before(t0.Add(dur)) {
			at = at.Add(time.Duration(1+r.ExpFloat64()*4) * time.Second)
			e := Event{Time: at, Client: ip(c), Principal: pr, Authenticated: true}
			switch k := r.IntN(10); {
			case k < 5:
				e.Path, e.RawPath = "/api/v1/products", "/api/v1/products"
			case k < 8:
				id := strconv.Itoa(1000 + c*3 + r.IntN(3)) // its own accounts
				e.Path, e.RawPath, e.IDs = "/api/v1/accounts/{id}", "/api/v1/accounts/"+id, []string{id}
			case k < 9:
				e.Method, e.Path = "POST", "/api/v1/orders"
				e.Status = 201
			default:
				e.Path, e.RawPath, e.Status = "/api/v1/prodcts", "/api/v1/prodcts", 404
			}
			if r.IntN(200) == 0 {
				e.Path, e.RawPath, e.IDs, e.Status = "/api/v1/accounts/{id}", "/api/v1/accounts/1", []string{"1"}, 403
			}
			s.add(e)
		}
	}
}

func has(fs []Finding, typ, client string) bool {
	for _, f := range fs {
		if f.Type == typ && f.ClientIP == client {
			return true
		}
	}
	return false
}

// check: every attack found with its type and client, nothing on a
// normal client (index < n).
func check(t *testing.T, fs []Finding, n int, want map[string]string) {
	t.Helper()
	for typ, client := range want {
		if !has(fs, typ, client) {
			t.Errorf("%s from %s not found", typ, client)
		}
	}
	for _, f := range fs {
		for c := range n {
			if f.ClientIP == ip(c).String() {
				t.Errorf("finding on a normal client: %+v", f)
			}
		}
	}
}

func TestDetections(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			s := &stream{}
			const n = 40
			normal(s, r, n, 10*time.Minute)
			at := t0.Add(2 * time.Minute)
			// bola: a user reads 300 other users' accounts.
			for i := range 300 {
				id := strconv.Itoa(1000 + r.IntN(n*3))
				st := 403
				if i%10 == 0 {
					st = 404
				}
				s.add(Event{Time: at.Add(time.Duration(i) * 300 * time.Millisecond), Client: ip(100), Principal: "jwt:mallory",
					Authenticated: true, Path: "/api/v1/accounts/{id}", RawPath: "/api/v1/accounts/" + id, IDs: []string{id}, Status: st})
			}
			// credential stuffing: 200 user names, mostly failing.
			for i := range 200 {
				st := 401
				if i == 77 {
					st = 200
				}
				s.add(Event{Time: at.Add(time.Duration(i) * 500 * time.Millisecond), Client: ip(101), Method: "POST",
					Path: "/api/v1/login", User: fmt.Sprintf("victim%d@mail.example", i), Status: st})
			}
			// brute force: one account, 80 passwords.
			for i := range 80 {
				s.add(Event{Time: at.Add(time.Duration(i) * time.Second), Client: ip(102), Method: "POST",
					Path: "/api/v1/login", User: "admin", Status: 401})
			}
			// rate abuse: the catalogue at 10 requests a second.
			for i := range 3000 {
				s.add(Event{Time: at.Add(time.Duration(i) * 100 * time.Millisecond), Client: ip(103), Path: "/api/v1/products"})
			}
			// injection probes.
			for i := range 6 {
				s.add(Event{Time: at.Add(time.Duration(i) * 2 * time.Second), Client: ip(104), Path: "/api/v1/products",
					Status: 500, VerboseError: i == 3, Injections: []Injection{{Class: "sqli", Rule: "sqli.union_select", Location: "request.query"}}})
			}
			// unauthenticated access to an endpoint that always gets credentials.
			for i := range 10 {
				s.add(Event{Time: at.Add(5*time.Minute + time.Duration(i)*time.Second), Client: ip(105),
					Path: "/api/v1/products", RespBytes: 5000})
			}
			// recon: 150 missing paths.
			for i := range 150 {
				p := fmt.Sprintf("/scan/%d.php", i)
				s.add(Event{Time: at.Add(time.Duration(i) * 200 * time.Millisecond), Client: ip(106), Path: p, RawPath: p, Status: 404})
			}
			// privilege escalation: a user calling admin functions.
			for i := range 5 {
				s.add(Event{Time: at.Add(time.Duration(i) * 3 * time.Second), Client: ip(107), Principal: "jwt:eve",
					Authenticated: true, Method: "DELETE", Path: "/api/v1/admin/users/{id}", IDs: []string{strconv.Itoa(i)}, Status: 403})
			}
			// exfiltration: a client pulling sensitive records.
			for i := range 30 {
				s.add(Event{Time: at.Add(time.Duration(i) * 5 * time.Second), Client: ip(108), Principal: "jwt:exporter",
					Authenticated: true, Path: "/api/v1/export", RespBytes: 2 << 20, Sensitive: 500})
			}
			fs := s.run(t, DefaultConfig())
			check(t, fs, n, map[string]string{
				BOLAEnumeration: ip(100).String(), CredentialStuffing: ip(101).String(), BruteForce: ip(102).String(),
				RateAbuse: ip(103).String(), InjectionAttempt: ip(104).String(), UnauthenticatedAccess: ip(105).String(),
				ReconScan: ip(106).String(), PrivilegeEscalation: ip(107).String(), DataExfiltration: ip(108).String(),
			})
			// The stuffing also shows as a burst of 401s on the login
			// endpoint, attributed to the client behind most of it.
			burst := false
			for _, f := range fs {
				if f.Type == AuthFailureBurst && f.Path == "/api/v1/login" {
					burst = true
					if f.ClientIP != ip(101).String() && f.ClientIP != ip(102).String() && f.ClientIP != "" {
						t.Errorf("burst attributed to %s", f.ClientIP)
					}
				}
			}
			if !burst {
				t.Errorf("no auth_failure_burst on the login endpoint")
			}
			for _, f := range fs {
				if f.Type == InjectionAttempt && f.Severity != "critical" {
					t.Errorf("an injection answered with a leaked error is critical: %+v", f)
				}
				if f.WindowEnd.Before(f.WindowStart) || f.Count == 0 || f.ID == "" || f.Summary == "" {
					t.Errorf("finding fields: %+v", f)
				}
			}
		})
	}
}

// TestEpisodes: one finding per episode, updated while it lasts; a new
// episode after a quiet gap.
func TestEpisodes(t *testing.T) {
	s := &stream{}
	for burst := range 2 {
		base := t0.Add(time.Duration(burst) * time.Hour)
		for i := range 300 {
			p := fmt.Sprintf("/x/%d", i)
			s.add(Event{Time: base.Add(time.Duration(i) * time.Second), Client: ip(9), Path: p, RawPath: p, Status: 404})
		}
	}
	fs := s.run(t, DefaultConfig())
	ids := map[string]Finding{}
	for _, f := range fs {
		if f.Type == ReconScan {
			ids[f.ID] = f
		}
	}
	if len(ids) != 2 {
		t.Fatalf("want 2 recon episodes, got %d: %+v", len(ids), fs)
	}
	n := 0
	for _, f := range fs {
		if f.Type == ReconScan {
			n++
		}
	}
	// Each episode is reported at least once with its final state, at most
	// once per report_every of capture time.
	if n < 2 || n > 16 {
		t.Errorf("%d updates for 2 episodes of 5 minutes", n)
	}
}

func TestBurst(t *testing.T) {
	s := &stream{}
	r := rand.New(rand.NewPCG(5, 5))
	normal(s, r, 20, 20*time.Minute)
	for i := range 200 { // the orders endpoint fails for a minute
		s.add(Event{Time: t0.Add(12*time.Minute + time.Duration(i)*300*time.Millisecond), Client: ip(i % 20),
			Principal: "jwt:user000", Method: "POST", Path: "/api/v1/orders", Status: 503})
	}
	fs := s.run(t, DefaultConfig())
	var got *Finding
	for i := range fs {
		if fs[i].Type == ErrorBurst {
			got = &fs[i]
		}
		if fs[i].Type != ErrorBurst && fs[i].Type != AuthFailureBurst {
			t.Errorf("unexpected %+v", fs[i])
		}
	}
	if got == nil || got.Path != "/api/v1/orders" || got.ClientIP != "" {
		t.Fatalf("error burst: %+v", got)
	}
}

// TestErrorBurstMin: a short outage (12 5xx in 18 s on an endpoint that
// never fails, as the scenario's error burst at volume 0.6) is an error
// burst at the default error_burst_min (10), not at 20; as many 401s stay
// under burst_min (20): clients retrying with an expired token.
func TestErrorBurstMin(t *testing.T) {
	build := func(status int) *stream {
		s := &stream{}
		normal(s, rand.New(rand.NewPCG(7, 7)), 20, 20*time.Minute)
		for i := range 12 {
			s.add(Event{Time: t0.Add(12*time.Minute + time.Duration(i)*1500*time.Millisecond), Client: ip(i % 6),
				Principal: fmt.Sprintf("jwt:user%03d", i%6), Method: "POST", Path: "/api/v1/orders", Status: status})
		}
		return s
	}
	count := func(fs []Finding, typ string) int {
		n := 0
		for _, f := range fs {
			if f.Type == typ {
				n++
			}
		}
		return n
	}
	if n := count(build(503).run(t, DefaultConfig()), ErrorBurst); n != 1 {
		t.Errorf("12 × 503 at the default: %d error bursts, want 1", n)
	}
	cfg := DefaultConfig()
	cfg.ErrorBurstMin = 20
	if n := count(build(503).run(t, cfg), ErrorBurst); n != 0 {
		t.Errorf("12 × 503 with error_burst_min 20: %d error bursts, want 0", n)
	}
	if n := count(build(401).run(t, DefaultConfig()), AuthFailureBurst); n != 0 {
		t.Errorf("12 × 401 at the default: %d auth failure bursts, want 0", n)
	}
}

// TestBoundedState: a flood of spoofed client addresses cannot grow the
// state past its caps; the overflow is counted.
func TestBoundedState(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxClients, cfg.MaxEpisodes = 1000, 50
	d, _ := New(cfg)
	for i := range 20000 {
		e := Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Host: host, Method: "GET", Path: "/p",
			Client: netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)}), Status: 404, RawPath: fmt.Sprint("/p", i)}
		d.Observe(&e)
	}
	st := d.Stats()
	if st.Clients > 1000 || st.Actors > 1000 || st.ClientOverflow == 0 || st.ActorOverflow == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func BenchmarkObserve(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	s := &stream{}
	normal(s, r, 200, 30*time.Minute)
	d, _ := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		e := s.evs[i%len(s.evs)]
		e.Time = t0.Add(time.Duration(i) * time.Millisecond)
		d.Observe(&e)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestBaselinePersists: an endpoint's learned baseline survives a
// restart through SaveEndpoint/LoadEndpoint, so a client that was normal
// before is judged against the same p99 after.
func TestBaselinePersists(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	s := &stream{}
	normal(s, r, 40, 20*time.Minute)
	d1, _ := New(DefaultConfig())
	for i := range s.evs {
		d1.Observe(&s.evs[i])
	}
	blob := d1.SaveEndpoint(host, "GET", "/api/v1/products", "")
	if blob == nil {
		t.Fatal("no baseline")
	}
	d2, _ := New(DefaultConfig())
	if err := d2.LoadEndpoint(host, "GET", "/api/v1/products", "", blob); err != nil {
		t.Fatal(err)
	}
	e1, e2 := d1.eps[epKey{host, "GET", "/api/v1/products", ""}], d2.eps[epKey{host, "GET", "/api/v1/products", ""}]
	if e1.rate.quantile(0.99) != e2.rate.quantile(0.99) || e1.rate.total == 0 || e2.requests != e1.requests || e2.authd != e1.authd {
		t.Fatalf("restored %+v, want %+v", e2, e1)
	}
	if err := d2.LoadEndpoint(host, "GET", "/x", "", []byte(`{"rate":[[999,1]]}`)); err == nil {
		t.Error("a bucket out of range must be an error")
	}
	if d1.SaveEndpoint(host, "GET", "/never", "") != nil {
		t.Error("an unknown endpoint has no baseline")
	}
}

// An unauthenticated_access episode is reported only once the client has
// unauth_min_events unauthenticated 2xx answers: a few are an anonymous
// visitor of a mostly authenticated page, not broken access control.
func TestUnauthMinEvents(t *testing.T) {
	d, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	at := t0
	for i := range 50 { // the endpoint's baseline: always authenticated
		d.Observe(&Event{Time: at.Add(time.Duration(i) * time.Second), Client: ip(1), Host: "h", Method: "GET",
			Path: "/search", Status: 200, RespBytes: 100, Authenticated: true, Principal: "p"})
	}
	unauth := func(n int) {
		for i := range n {
			at = at.Add(time.Second)
			d.Observe(&Event{Time: at.Add(time.Minute + time.Duration(i)*time.Second), Client: ip(200), Host: "h", Method: "GET",
				Path: "/search", Status: 200, RespBytes: 100})
		}
	}
	unauth(9)
	if has(d.Findings(false), UnauthenticatedAccess, ip(200).String()) {
		t.Fatal("reported after 9 unauthenticated answers")
	}
	unauth(1)
	if !has(d.Findings(true), UnauthenticatedAccess, ip(200).String()) {
		t.Fatal("not reported after 10 unauthenticated answers")
	}
}

// An endpoint that answers the unauthenticated requests of several
// clients is public: a visitor with many anonymous answers there is not
// broken access control (a scenario run flagged two anonymous shoppers of
// a product page most users view logged in, with 11 and 13 answers).
func TestUnauthPublicEndpoint(t *testing.T) {
	run := func(cfg Config, visitors int) bool {
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		at := t0
		for i := range 50 { // the endpoint's baseline: always authenticated
			d.Observe(&Event{Time: at.Add(time.Duration(i) * time.Second), Client: ip(1), Host: "h", Method: "GET",
				Path: "/products/{id}", Status: 200, RespBytes: 100, Authenticated: true, Principal: "p"})
		}
		at = at.Add(time.Minute)
		for v := range visitors { // other anonymous visitors, one page each
			at = at.Add(time.Second)
			d.Observe(&Event{Time: at, Client: ip(100 + v), Host: "h", Method: "GET", Path: "/products/{id}", Status: 200, RespBytes: 100})
		}
		for range 15 {
			at = at.Add(time.Second)
			d.Observe(&Event{Time: at, Client: ip(200), Host: "h", Method: "GET", Path: "/products/{id}", Status: 200, RespBytes: 100})
		}
		return has(d.Findings(false), UnauthenticatedAccess, ip(200).String())
	}
	if !run(DefaultConfig(), 1) {
		t.Fatal("one other anonymous visitor: the endpoint is not public yet, the 15 answers are a finding")
	}
	if run(DefaultConfig(), 2) {
		t.Fatal("three anonymous clients answered 2xx: the endpoint is public, no finding")
	}
	cfg := DefaultConfig()
	cfg.UnauthPublicClients = 10
	if !run(cfg, 2) {
		t.Fatal("unauth_public_clients 10: three anonymous clients do not make the endpoint public")
	}
}
