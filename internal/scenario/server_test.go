package scenario

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// These tests need no root: the server and the plans, without a network.

func testServer(t *testing.T) (*server, *world, *httptest.Server) {
	t.Helper()
	o, err := Options{Seed: 3, NormalClients: 12}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(o)
	clk := &clock{t0: time.Now(), v0: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC), speed: 100}
	s := newServer(w.d, clk)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, w, hs
}

func do(t *testing.T, hs *httptest.Server, method, target, token, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, hs.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func login(t *testing.T, hs *httptest.Server, u *user) string {
	t.Helper()
	st, _, b := do(t, hs, "POST", "/api/v1/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Username, u.Password))
	var out struct {
		Token string `json:"access_token"`
	}
	if st != 200 || json.Unmarshal(b, &out) != nil || !strings.HasPrefix(out.Token, "eyJ") {
		t.Fatalf("login %s: %d %s", u.Username, st, b)
	}
	p, err := base64.RawURLEncoding.DecodeString(strings.Split(out.Token, ".")[1])
	if err != nil || !strings.Contains(string(p), fmt.Sprintf(`"sub":%q`, u.Username)) {
		t.Fatalf("token payload %s (%v)", p, err)
	}
	return out.Token
}

func TestServer(t *testing.T) {
	s, w, hs := testServer(t)
	var u, admin *user
	for _, c := range w.clients {
		if c.kind == KindUser && u == nil {
			u = c.user
		}
		if c.kind == KindAdmin {
			admin = c.user
		}
	}
	tok := login(t, hs, u)
	adminTok := login(t, hs, admin)
	other := 0
	for _, id := range w.d.accountIDs {
		if w.d.accounts[id].Owner != u.ID {
			other = id
			break
		}
	}
	missing := w.d.lastAccount + 1
	for id := w.d.firstAccount; id < w.d.lastAccount; id++ {
		if w.d.accounts[id] == nil {
			missing = id
			break
		}
	}
	expired := w.d.token(u, s.clk.now().Add(-2*tokenTTL), tokenTTL, 1)
	forged := w.d.sign(`{"alg":"none","typ":"JWT"}`, claims{Sub: u.Username, UID: u.ID, Role: "admin", Exp: s.clk.now().Add(time.Hour).Unix()})
	victim := w.d.users[len(w.d.users)-1]
	for _, c := range []struct {
		method, target, token, body string
		want                        int
		contains                    string
	}{
		{"POST", "/api/v1/login", "", fmt.Sprintf(`{"username":%q,"password":"nope"}`, u.Username), 401, "invalid_credentials"},
		{"POST", "/api/v1/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, u.Password), 200, "access_token"},
		{"POST", "/api/v1/login", "", `{"username":`, 400, "bad_request"},
		{"GET", fmt.Sprintf("/api/v1/accounts/%d", u.Accounts[0]), tok, "", 200, `"billing_address"`},
		{"GET", fmt.Sprintf("/api/v1/accounts/%d/orders", u.Accounts[0]), tok, "", 200, `"orders"`},
		{"GET", fmt.Sprintf("/api/v1/accounts/%d", other), tok, "", 403, "forbidden"},
		{"GET", fmt.Sprintf("/api/v1/accounts/%d", missing), tok, "", 404, "not_found"},
		{"GET", fmt.Sprintf("/api/v1/accounts/%d", u.Accounts[0]), "", "", 401, "unauthorized"},
		{"GET", fmt.Sprintf("/api/v1/accounts/%d", u.Accounts[0]), expired, "", 401, "token_expired"},
		{"GET", "/api/v1/accounts/abc", tok, "", 400, "bad_request"},
		{"GET", "/api/v1/products?page=2", "", "", 200, `"total_pages":24`},
		{"GET", "/api/v1/products?page=0", "", "", 400, ""},
		{"GET", "/api/v1/products?q=%27+OR+1%3D1--", "", "", 400, ""},
		{"GET", "/api/v1/products/7", "", "", 200, `"description"`},
		{"GET", "/api/v1/products/9999", "", "", 404, ""},
		{"GET", "/api/v1/products/..%2F..%2Fetc%2Fpasswd", "", "", 400, ""},
		{"POST", "/api/v1/orders", tok, fmt.Sprintf(`{"account_id":%d,"items":[{"product_id":3,"quantity":2}]}`, u.Accounts[0]), 201, `"pending"`},
		{"POST", "/api/v1/orders", tok, fmt.Sprintf(`{"account_id":%d,"items":[{"product_id":3,"quantity":2}]}`, other), 403, ""},
		{"POST", "/api/v1/orders", tok, `{"account_id":"1 OR 1=1","items":[]}`, 422, ""},
		{"GET", "/api/v1/reports/5", "", "", 200, `"top_customers"`},
		{"GET", "/api/v1/reports/500", "", "", 404, ""},
		{"GET", "/api/v1/export?fmt=csv", tok, "", 200, "customer_id,first_name"},
		{"GET", "/api/v1/export?fmt=json&limit=3", tok, "", 200, `"records":[{`},
		{"GET", "/api/v1/export", "", "", 401, ""},
		{"GET", "/api/v1/export?fmt=xml", tok, "", 400, ""},
		{"GET", "/api/v1/admin/users", tok, "", 403, "admin role required"},
		{"GET", "/api/v1/admin/users", forged, "", 401, "invalid_token"},
		{"GET", "/api/v1/admin/users?per_page=5", adminTok, "", 200, `"users"`},
		{"DELETE", fmt.Sprintf("/api/v1/admin/users/%d", victim.ID), tok, "", 403, ""},
		{"DELETE", fmt.Sprintf("/api/v1/admin/users/%d", victim.ID), adminTok, "", 204, ""},
		{"DELETE", fmt.Sprintf("/api/v1/admin/users/%d", victim.ID), adminTok, "", 404, ""},
		{"GET", "/api/v1/search?q=lamp", "", "", 200, `"results"`},
		{"GET", "/api/v1/search?q=%3Cscript%3E", "", "", 400, ""},
		{"GET", "/healthz", "", "", 200, `"ok"`},
		{"GET", "/.env", "", "", 404, `"not_found"`},
		{"PUT", "/api/v1/products", "", "", 405, `"method_not_allowed"`},
	} {
		st, h, b := do(t, hs, c.method, c.target, c.token, c.body)
		if st != c.want || !strings.Contains(string(b), c.contains) {
			t.Errorf("%s %s: %d %.200s, want %d with %q", c.method, c.target, st, b, c.want, c.contains)
		}
		if d, err := http.ParseTime(h.Get("Date")); err != nil || d.Year() != 2025 {
			t.Errorf("%s %s: Date %q is not virtual time", c.method, c.target, h.Get("Date"))
		}
		if st != 204 && !strings.Contains(h.Get("Content-Type"), "json") && !strings.Contains(h.Get("Content-Type"), "csv") {
			t.Errorf("%s %s: Content-Type %q", c.method, c.target, h.Get("Content-Type"))
		}
	}
	// A big export holds that many records; a normal one is small.
	_, _, big := do(t, hs, "GET", "/api/v1/export?fmt=csv&limit=5000", tok, "")
	_, _, norm := do(t, hs, "GET", "/api/v1/export?fmt=csv", tok, "")
	if n := strings.Count(string(big), "\n"); n != 5001 || len(big) < 50*len(norm) {
		t.Errorf("export of 5000: %d lines, %d bytes (normal %d)", n, len(big), len(norm))
	}

	// The fault: 5xx on product pages within the window only.
	s.fault.route, s.fault.from, s.fault.to = "GET /api/v1/products/{id}", 0, time.Hour
	for range 5 {
		if st, _, _ := do(t, hs, "GET", "/api/v1/products/7", "", ""); st < 500 {
			t.Errorf("in the fault window: %d", st)
		}
	}
	if st, _, _ := do(t, hs, "GET", "/api/v1/products?page=1", "", ""); st != 200 {
		t.Errorf("another route in the fault window: %d", st)
	}
	s.fault.from = time.Hour
	if st, _, _ := do(t, hs, "GET", "/api/v1/products/7", "", ""); st != 200 {
		t.Errorf("out of the fault window: %d", st)
	}
}

func TestRouteOf(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v1/accounts/12":                     "/api/v1/accounts/{id}",
		"/api/v1/accounts/12/orders":              "/api/v1/accounts/{id}/orders",
		"/api/v1/products":                        "/api/v1/products",
		"/api/v1/products/":                       "*",
		"/api/v1/products/..%2F..%2Fetc%2Fpasswd": "/api/v1/products/{id}",
		"/api/v1/reports/../../etc/passwd":        "*",
		"/wp-login.php":                           "*",
		"/healthz":                                "/healthz",
		"/api/v1/admin/users/9":                   "/api/v1/admin/users/{id}",
	} {
		if got := routeOf(path); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	o, err := Options{}.normalize()
	if err != nil || o.NormalClients != 40 || o.Duration != 5*time.Minute || o.Volume != 1 || len(o.Attacks) != len(AllAttacks) {
		t.Errorf("defaults: %+v %v", o, err)
	}
	if o, _ := (Options{Attacks: []string{}}).normalize(); len(o.Attacks) != 0 || o.Attacks == nil {
		t.Errorf("no attacks: %#v", o.Attacks)
	}
	if o, _ := (Options{Attacks: []string{ErrorBurst, BruteForce, ErrorBurst}}).normalize(); strings.Join(o.Attacks, ",") != "brute_force,error_burst" {
		t.Errorf("attacks %v, want documented order without duplicates", o.Attacks)
	}
	for _, bad := range []Options{{NormalClients: 2}, {Duration: time.Second}, {Speedup: 1000}, {Volume: 50}, {Attacks: []string{"ddos"}}} {
		if _, err := bad.normalize(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestWorld: the plan follows the seed; every client has its own address;
// no two clients share a principal.
func TestWorld(t *testing.T) {
	plan := func(seed int64) *world {
		o, err := Options{Seed: seed, NormalClients: 60}.normalize()
		if err != nil {
			t.Fatal(err)
		}
		return newWorld(o)
	}
	a, b, c := plan(1), plan(1), plan(2)
	if len(a.clients) != 60+len(AllAttacks)-1 {
		t.Fatalf("%d clients", len(a.clients))
	}
	ips, principals, diff := map[string]bool{}, map[string]bool{}, 0
	for i, x := range a.clients {
		if x.ip != b.clients[i].ip || x.principal != b.clients[i].principal || x.detail != b.clients[i].detail {
			t.Errorf("client %d differs with the same seed", i)
		}
		if x.ip != c.clients[i].ip {
			diff++
		}
		if ips[x.ip] {
			t.Errorf("address %s used twice", x.ip)
		}
		ips[x.ip] = true
		if x.user != nil {
			if principals[x.user.Username] {
				t.Errorf("principal %s used twice", x.user.Username)
			}
			principals[x.user.Username] = true
		}
		if x.kind == KindAttacker && x.planned < 3 {
			t.Errorf("%s: %d requests planned", x.attack, x.planned)
		}
	}
	if diff < len(a.clients)/2 {
		t.Errorf("seeds 1 and 2 share %d of %d addresses", len(a.clients)-diff, len(a.clients))
	}
	if a.fault.to-a.fault.from < 10*time.Second || a.fault.to > a.o.Duration {
		t.Errorf("fault window %v..%v", a.fault.from, a.fault.to)
	}
}
