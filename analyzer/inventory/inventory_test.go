package inventory

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
)

var t0 = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

func newInv(t *testing.T, mut func(*Config)) *Inventory {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Specs = []string{filepath.Join("testdata", "shop.yaml")}
	if mut != nil {
		mut(&cfg)
	}
	inv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func req(host, method, path string, status int, at time.Duration, client string) *flow.Exchange {
	return &flow.Exchange{Start: t0.Add(at), End: t0.Add(at + 2*time.Millisecond),
		Client: netip.MustParseAddrPort(client + ":40000"), Server: netip.MustParseAddrPort("10.0.0.1:443"),
		Host: host, HostPort: 443, Method: method, Path: path, PathDecoded: path, Status: status,
		Response: flow.Body{ContentType: "application/json", Data: []byte(`{"id":1,"name":"x"}`), WireBytes: 19}}
}

func feed(inv *Inventory, es ...*flow.Exchange) {
	for _, e := range es {
		c := inv.Classify(e)
		inv.Learn(e)
		inv.Add(c, e, e.Client.Addr().String())
	}
}

func entry(t *testing.T, inv *Inventory, method, host, path string) Entry {
	t.Helper()
	for _, e := range inv.Entries() {
		if e.Method == method && e.Host == host && e.Path == path {
			return e
		}
	}
	var have []string
	for _, e := range inv.Entries() {
		have = append(have, e.Method+" "+e.Host+e.Path+" "+e.State)
	}
	t.Fatalf("no entry %s %s%s; have %v", method, host, path, have)
	return Entry{}
}

func TestStates(t *testing.T) {
	inv := newInv(t, func(c *Config) {
		c.Retired = []Retired{{Host: "shop.example.com", Method: "DELETE", Path: "/api/carts/{id}"}}
	})
	const h = "shop.example.com"
	feed(inv,
		req(h, "GET", "/api/users/42", 200, 0, "10.1.0.1"),
		req(h, "GET", "/api/users/43", 403, time.Second, "10.1.0.2"),
		req(h, "GET", "/api/users/me", 200, 2*time.Second, "10.1.0.1"),
		req(h, "GET", "/api/v1/orders", 200, 3*time.Second, "10.1.0.3"),
		req(h, "GET", "/api/admin/debug", 200, 4*time.Second, "10.1.0.4"),
		req(h, "DELETE", "/api/carts/991", 204, 5*time.Second, "10.1.0.5"),
		req("other.example.com", "GET", "/health", 200, 6*time.Second, "10.1.0.6"),
	)
	cases := []struct{ method, host, path, state string }{
		{"GET", h, "/api/users/{userId}", Documented},
		{"GET", h, "/api/users/me", Documented},
		{"GET", h, "/api/v1/orders", Zombie},
		{"GET", h, "/api/admin/debug", Shadow},
		{"DELETE", h, "/api/carts/{cartId}", Zombie},
		{"GET", "other.example.com", "/health", Shadow},
		{"POST", h, "/api/orders", Dormant},
		{"GET", h, "/api/reports/{reportId}", Dormant},
	}
	for _, c := range cases {
		e := entry(t, inv, c.method, c.host, c.path)
		if e.State != c.state {
			t.Errorf("%s %s%s: state %s, want %s", c.method, c.host, c.path, e.State, c.state)
		}
	}
	u := entry(t, inv, "GET", h, "/api/users/{userId}")
	if u.Requests != 2 || u.StatusCodes["403"] != 1 || u.Clients != 2 || u.Spec != filepath.Join("testdata", "shop.yaml") || u.Port != 443 {
		t.Fatalf("users entry %+v", u)
	}
	if d := entry(t, inv, "POST", h, "/api/orders"); d.Requests != 0 || d.FirstSeen != nil {
		t.Fatalf("dormant entry %+v", d)
	}
	// Findings: the shadow and zombie endpoints, with their callers.
	kinds := map[string]int{}
	for _, e := range inv.Entries() {
		if f, ok := FindingOf(e); ok {
			kinds[f.Kind]++
			if len(f.Clients) == 0 || f.FirstSeen.IsZero() {
				t.Errorf("finding without clients or first seen: %+v", f)
			}
		}
	}
	if kinds["shadow_endpoint"] != 2 || kinds["zombie_endpoint"] != 2 {
		t.Fatalf("findings %v", kinds)
	}
}

// A path that only answers 404 is a probe; once it answers something
// else it is an endpoint and its 404s come with it.
func TestProbes(t *testing.T) {
	inv := newInv(t, nil)
	for i := range 5 {
		feed(inv, req("x.example", "GET", "/wp-login.php", 404, time.Duration(i)*time.Second, "10.9.0.1"))
		feed(inv, req("x.example", "GET", fmt.Sprintf("/backup%d.zip", i), 404, time.Duration(i)*time.Second, "10.9.0.1"))
	}
	for _, e := range inv.Entries() {
		if e.Host == "x.example" {
			t.Fatalf("a 404-only path became an endpoint: %+v", e)
		}
	}
	ps := inv.Probes()
	if len(ps) != 6 || ps[0].Path != "/wp-login.php" || ps[0].Requests != 5 {
		t.Fatalf("probes %+v", ps)
	}
	feed(inv, req("x.example", "GET", "/wp-login.php", 200, 10*time.Second, "10.9.0.2"))
	e := entry(t, inv, "GET", "x.example", "/wp-login.php")
	if e.Requests != 6 || e.StatusCodes["404"] != 5 || e.StatusCodes["200"] != 1 || e.Clients != 2 {
		t.Fatalf("entry after the first 200: %+v", e)
	}
	if len(inv.Probes()) != 5 {
		t.Fatal("the probe was not taken over")
	}
}

func TestDormantClockStopsWhileBlind(t *testing.T) {
	run := func(blind bool) string {
		inv := newInv(t, func(c *Config) { c.DormantAfter = 7 * 24 * time.Hour })
		feed(inv, req("shop.example.com", "POST", "/api/orders", 201, 0, "10.0.0.9"))
		if blind {
			inv.Blind(t0.Add(24*time.Hour), t0.Add(5*24*time.Hour))
		}
		feed(inv, req("shop.example.com", "GET", "/api/users/1", 200, 10*24*time.Hour, "10.0.0.9"))
		return entry(t, inv, "POST", "shop.example.com", "/api/orders").State
	}
	if s := run(false); s != Dormant {
		t.Fatalf("unseen for 10 days: %s, want dormant", s)
	}
	if s := run(true); s != Documented {
		t.Fatalf("unseen for 10 days of which 4 blind: %s, want documented", s)
	}
}

// Slugs learned one by one fold into one template once the position is
// known to be a parameter, whatever the order of arrival.
func TestOrderIndependence(t *testing.T) {
	var traffic []*flow.Exchange
	words := []string{"red-shoes", "blue-hat", "green-scarf", "wool-socks", "rain-coat", "sun-glasses", "leather-belt",
		"silk-tie", "denim-jacket", "linen-shirt", "cotton-tee", "straw-hat", "suede-boots", "knit-cap", "tweed-vest",
		"fleece-top", "cargo-pants", "polo-shirt", "trench-coat", "ankle-boots", "bow-tie", "beanie", "parka", "sandals",
		"loafers", "mittens", "poncho", "kilt", "sarong", "tunic"}
	for i, w := range words {
		for k := range 1 + i%3 {
			traffic = append(traffic, req("shop.example.com", "GET", "/catalog/products/"+w, 200, time.Duration(i*10+k)*time.Second, fmt.Sprint("10.2.0.", i)))
		}
		traffic = append(traffic, req("shop.example.com", "GET", "/catalog/search", 200, time.Duration(i)*time.Second, "10.3.0.1"))
	}
	view := func(seed uint64) string {
		inv := newInv(t, nil)
		tr := slices.Clone(traffic)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(tr), func(i, j int) { tr[i], tr[j] = tr[j], tr[i] })
		feed(inv, tr...)
		inv.Canonicalize()
		var out []string
		for _, e := range inv.Entries() {
			if e.State != Dormant {
				out = append(out, fmt.Sprintf("%s %s %d %d", e.Method, e.Path, e.Requests, e.Clients))
			}
		}
		return fmt.Sprint(out)
	}
	a, b := view(1), view(2)
	if a != b {
		t.Fatalf("order changed the inventory:\n%s\n%s", a, b)
	}
	if want := "GET /catalog/products/{productId} 60 30"; !strings.Contains(a, want) {
		t.Fatalf("inventory %s lacks %q", a, want)
	}
}

// A stored entry comes back whole in a new inventory (an analyzer restart).
func TestRestore(t *testing.T) {
	inv := newInv(t, nil)
	for i := range 20 {
		feed(inv, req("shop.example.com", "GET", fmt.Sprintf("/api/users/%d", i), 200+i%2*200, time.Duration(i)*time.Second, fmt.Sprint("10.4.0.", i)))
	}
	before := entry(t, inv, "GET", "shop.example.com", "/api/users/{userId}")
	inv2 := newInv(t, nil)
	if err := inv2.Restore(before.MarshalState()); err != nil {
		t.Fatal(err)
	}
	after := entry(t, inv2, "GET", "shop.example.com", "/api/users/{userId}")
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if string(b1) != string(b2) {
		t.Fatalf("restored entry differs:\n%s\n%s", b1, b2)
	}
	feed(inv2, req("shop.example.com", "GET", "/api/users/99", 200, time.Minute, "10.4.0.99"))
	if e := entry(t, inv2, "GET", "shop.example.com", "/api/users/{userId}"); e.Requests != 21 || e.Clients != 21 {
		t.Fatalf("after restore + 1: %+v", e)
	}
	if err := inv2.Restore([]byte("{not json")); err == nil {
		t.Fatal("a corrupt state was accepted")
	}
}

func TestGraphQLSubEndpoints(t *testing.T) {
	inv := newInv(t, nil)
	for i, q := range []string{"query GetUser { u }", "mutation Pay { p }", "query GetUser { u }"} {
		e := req("gql.example.com", "POST", "/graphql", 200, time.Duration(i)*time.Second, "10.5.0.1")
		e.Request = flow.Body{ContentType: "application/json", Data: []byte(fmt.Sprintf(`{"query":%q}`, q))}
		feed(inv, e)
	}
	ops := map[string]uint64{}
	for _, e := range inv.Entries() {
		if e.Host == "gql.example.com" {
			ops[e.Operation] = e.Requests
		}
	}
	if ops["query GetUser"] != 2 || ops["mutation Pay"] != 1 || len(ops) != 2 {
		t.Fatalf("operations %v", ops)
	}
}

func TestBoundedEndpoints(t *testing.T) {
	inv := newInv(t, func(c *Config) { c.MaxEndpoints = 10; c.MaxProbes = 5 })
	for i := range 100 {
		feed(inv, req(fmt.Sprintf("h%d.example", i), "GET", "/x", 200, 0, "10.6.0.1"))
		feed(inv, req("scan.example", "GET", fmt.Sprintf("/q%d/y/z%c", i, 'a'+i%26), 404, 0, "10.6.0.1"))
	}
	st := inv.Stats()
	if st.Endpoints > 10 || st.Probes > 5 || st.EndpointOverflow == 0 || st.ProbeOverflow == 0 {
		t.Fatalf("stats %+v", st)
	}
}
