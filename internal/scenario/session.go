package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// clientSpec is one client: its address, identity and script.
type clientSpec struct {
	ip        string
	kind      string
	attack    string // attack type, for an attacker
	user      *user  // the principal, when it logs in
	principal string // for the ground truth
	ua        string
	browser   bool   // sends a browser's headers
	lang      string // its Accept-Language, when a browser
	detail    string
	planned   int // an attack's requests
	script    func(s *session)
}

// session runs one client's script.
type session struct {
	ctx  context.Context
	run  *runner
	c    *clientSpec
	r    *rand.Rand
	hc   *http.Client
	tr   *http.Transport
	port uint16 // of the connection the last request used

	token string // sent as a bearer token when set
	sub   string // the token's sub
	// phase is the attack type while the client sends attack traffic.
	phase string
	// retry5xx: a normal client retries a GET answered 5xx, up to twice.
	retry5xx bool
	// next is when an attack's next request is due (see step).
	next time.Duration

	log []Request
	err error
}

// runner holds what the sessions share.
type runner struct {
	clk      *clock
	d        *data
	duration time.Duration
	dial     func(ctx context.Context, local, remote string) (net.Conn, error)

	mu  sync.Mutex
	log []Request
}

func (rn *runner) newSession(ctx context.Context, c *clientSpec, seed uint64, idx int) *session {
	s := &session{ctx: ctx, run: rn, c: c, r: rng(seed, "client", idx), retry5xx: c.kind != KindAttacker}
	s.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return rn.dial(ctx, c.ip, addr)
		},
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		// A browser or client library closes an idle keep-alive connection
		// after a while (the server's timeout is longer): long pauses make
		// new connections.
		IdleConnTimeout:       rn.clk.real(30 * time.Second),
		DisableCompression:    true,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	s.hc = &http.Client{
		Transport:     s.tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// offset is the virtual time since the start.
func (s *session) offset() time.Duration { return s.run.clk.offset() }

// over reports whether the scenario has ended (or the client failed).
func (s *session) over() bool {
	return s.err != nil || s.ctx.Err() != nil || s.offset() >= s.run.duration
}

// sleep waits virtual d; false when the scenario ends before.
func (s *session) sleep(d time.Duration) bool {
	if s.err != nil || s.offset()+d >= s.run.duration {
		return false
	}
	if d > 0 {
		select {
		case <-time.After(s.run.clk.real(d)):
		case <-s.ctx.Done():
			return false
		}
	}
	return !s.over()
}

// until waits until virtual offset off; false when it is past the end.
func (s *session) until(off time.Duration) bool { return s.sleep(off - s.offset()) }

// lognormal draws a duration with the given median and spread (sigma of
// the log), clamped to [lo, hi].
func (s *session) lognormal(median time.Duration, sigma float64, lo, hi time.Duration) time.Duration {
	d := time.Duration(float64(median) * math.Exp(sigma*s.r.NormFloat64()))
	return max(lo, min(hi, d))
}

// jitter returns d scaled by a uniform factor in [1-f, 1+f].
func (s *session) jitter(d time.Duration, f float64) time.Duration {
	return time.Duration(float64(d) * (1 - f + 2*f*s.r.Float64()))
}

// routes are the API's route templates.
var routes = []string{"/api/v1/login", "/api/v1/accounts/{id}", "/api/v1/accounts/{id}/orders", "/api/v1/products",
	"/api/v1/products/{id}", "/api/v1/orders", "/api/v1/reports/{id}", "/api/v1/export", "/api/v1/admin/users",
	"/api/v1/admin/users/{id}", "/api/v1/search", "/healthz"}

// routeOf returns the route template an escaped path falls under, "*"
// when none (or when the server redirects it to its cleaned form).
func routeOf(path string) string {
	segs := strings.Split(path, "/")
	for _, sg := range segs {
		if sg == "." || sg == ".." {
			return "*"
		}
	}
next:
	for _, rt := range routes {
		rs := strings.Split(rt, "/")
		if len(rs) != len(segs) {
			continue
		}
		for i := range rs {
			if rs[i] == "{id}" {
				if segs[i] == "" {
					continue next
				}
			} else if rs[i] != segs[i] {
				continue next
			}
		}
		return rt
	}
	return "*"
}

// call sends one request and waits for the whole response. hdr, when not
// nil, edits the request headers last.
func (s *session) call(method, target string, body []byte, hdr func(http.Header)) (int, []byte) {
	if s.err != nil || s.ctx.Err() != nil {
		return 0, nil
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		s.port = uint16(ci.Conn.LocalAddr().(*net.TCPAddr).Port)
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(s.ctx, trace), method, fmt.Sprintf("http://%s%s", serverIP, target), rd)
	if err != nil {
		s.err = fmt.Errorf("%s %s: %w", method, target, err)
		return 0, nil
	}
	req.Host = apiHost
	h := req.Header
	h.Set("User-Agent", s.c.ua)
	if s.c.browser {
		h.Set("Accept", "application/json, text/plain, */*")
		h.Set("Accept-Language", s.c.lang)
		h.Set("Referer", "https://shop.example/")
	} else {
		h.Set("Accept", "application/json")
	}
	if s.token != "" {
		h.Set("Authorization", "Bearer "+s.token)
	}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	if hdr != nil {
		hdr(h)
	}
	start := time.Now()
	resp, err := s.hc.Do(req)
	if err != nil {
		s.err = fmt.Errorf("%s %s: %w", method, target, err)
		return 0, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := time.Now()
	if err != nil {
		s.err = fmt.Errorf("%s %s: reading the response: %w", method, target, err)
		return 0, nil
	}
	principal := ""
	if strings.HasPrefix(h.Get("Authorization"), "Bearer ") {
		principal = s.sub
	}
	s.log = append(s.log, Request{
		Client: s.c.ip, Port: s.port, Kind: s.c.kind, Attack: s.phase, Principal: principal,
		Method: method, Target: req.URL.RequestURI(), Route: routeOf(req.URL.EscapedPath()), Status: resp.StatusCode,
		Start: s.run.clk.virt(start), End: s.run.clk.virt(end), ReqBytes: len(body), RespBytes: len(b),
	})
	return resp.StatusCode, b
}

// get sends a GET; a normal client retries a 5xx after a short pause.
func (s *session) get(target string) (int, []byte) {
	st, b := s.call("GET", target, nil, nil)
	for try := 0; st >= 500 && s.retry5xx && try < 2; try++ {
		if !s.sleep(s.lognormal(1500*time.Millisecond, 0.5, 300*time.Millisecond, 6*time.Second)) {
			break
		}
		st, b = s.call("GET", target, nil, nil)
	}
	return st, b
}

func (s *session) postJSON(target string, v any) (int, []byte) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return s.call("POST", target, b, nil)
}

// login posts the credentials and keeps the token on success.
func (s *session) login(username, password string) bool {
	st, b := s.postJSON("/api/v1/login", map[string]string{"username": username, "password": password})
	if st != 200 {
		return false
	}
	var out struct {
		Token string `json:"access_token"`
		User  struct {
			Username string `json:"username"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		s.err = fmt.Errorf("login %s: bad response %q", username, b)
		return false
	}
	s.token, s.sub = out.Token, out.User.Username
	return true
}

// logout forgets the token and closes the idle connection.
func (s *session) logout() {
	s.token, s.sub = "", ""
	s.tr.CloseIdleConnections()
}
