package scenario

import (
	"fmt"
	"time"
)

var (
	browserUAs = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.113 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0",
	}
	appUAs = []string{"ShopApp/5.2.1 (iPhone; iOS 17.4.1; Scale/3.00)", "ShopApp/5.2.0 (Android 14; SM-S918B)",
		"ShopApp/5.1.7 (Android 13; Pixel 7)", "ShopApp/5.2.1 (iPad; iPadOS 17.3; Scale/2.00)"}
	languages = []string{"en-US,en;q=0.9", "en-GB,en;q=0.8", "de-DE,de;q=0.9,en;q=0.7", "fr-FR,fr;q=0.9,en;q=0.6", "es-ES,es;q=0.9"}
)

// faultSpec is the server-side fault of error_burst.
type faultSpec struct {
	route    string
	from, to time.Duration
}

// world is a scenario before it runs: the data, the clients and their
// scripts, the fault.
type world struct {
	o       Options
	seed    uint64
	d       *data
	clients []*clientSpec
	fault   faultSpec
}

// clientNets are the /24s the client addresses come from (documentation
// and carrier-grade NAT ranges), routed locally inside the namespace.
var clientNets = []string{"198.51.100", "203.0.113", "100.64.12"}

func newWorld(o Options) *world {
	seed := uint64(o.Seed)
	n := o.NormalClients
	d := newData(seed, max(600, 3*n+100))
	w := &world{o: o, seed: seed, d: d}
	r := rng(seed, "world", 0)

	perm := r.Perm(len(d.users))
	takeUser := func() *user { u := d.users[perm[0]]; perm = perm[1:]; return u }
	var pool []string
	for _, p := range clientNets {
		for h := 2; h < 255; h++ {
			pool = append(pool, fmt.Sprintf("%s.%d", p, h))
		}
	}
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	add := func(c *clientSpec) *clientSpec {
		c.ip, pool = pool[0], pool[1:]
		c.lang = pick(r, languages)
		if c.user != nil && c.principal == "" {
			c.principal = c.user.Username
		}
		w.clients = append(w.clients, c)
		return c
	}

	admins := 1
	if n >= 25 {
		admins = 2
	}
	monitor, integration := n >= 6, n >= 8
	rest := n - admins
	if monitor {
		rest--
	}
	if integration {
		rest--
	}
	browsers := rest * 3 / 10
	users := rest - browsers
	exporters := 0
	if users >= 4 {
		exporters = max(1, users/12)
	}
	for i := range users {
		c := &clientSpec{kind: KindUser, user: takeUser()}
		if r.IntN(10) < 6 {
			c.ua, c.browser = pick(r, browserUAs), true
		} else {
			c.ua = pick(r, appUAs)
		}
		exporter := i < exporters
		add(c).script = func(s *session) { w.userScript(s, exporter) }
	}
	for range browsers {
		add(&clientSpec{kind: KindBrowser, ua: pick(r, browserUAs), browser: true}).script = w.browserScript
	}
	for range admins {
		u := takeUser()
		u.Role = "admin"
		victims := []int{takeUser().ID}
		if o.Duration >= 2*time.Minute && r.IntN(2) == 0 {
			victims = append(victims, takeUser().ID)
		}
		add(&clientSpec{kind: KindAdmin, user: u, ua: pick(r, browserUAs[:4]), browser: true}).script = func(s *session) { w.adminScript(s, victims) }
	}
	if monitor {
		add(&clientSpec{kind: KindMonitor, ua: "ELB-HealthChecker/2.0"}).script = w.monitorScript
	}
	if integration {
		u := takeUser()
		u.Role = "service"
		d.rename(u, "svc-catalog-sync")
		add(&clientSpec{kind: KindIntegration, user: u, ua: "catalog-sync/1.4.2 (+https://partner.example/bot)"}).script = w.integrationScript
	}

	for _, typ := range o.Attacks {
		c := &clientSpec{kind: KindAttacker, attack: typ, ua: pick(r, browserUAs), browser: true}
		switch typ {
		case BOLAEnumeration:
			c.user = takeUser()
			c.ua, c.browser = pick(r, []string{"python-requests/2.31.0", browserUAs[0]}), false
			w.bola(c)
		case CredentialStuffing:
			var victims []*user
			for range 25 {
				victims = append(victims, takeUser())
			}
			w.credentialStuffing(c, victims)
		case BruteForce:
			target := takeUser()
			c.principal = target.Username
			c.ua, c.browser = pick(r, []string{"Mozilla/4.0 (Hydra)", "python-requests/2.31.0", "curl/8.5.0"}), false
			w.bruteForce(c, target)
		case RateAbuse:
			c.ua, c.browser = pick(r, []string{"Scrapy/2.11.1 (+https://scrapy.org)", "python-requests/2.31.0", "Go-http-client/1.1"}), false
			w.rateAbuse(c)
		case InjectionAttempt:
			c.user = takeUser()
			if r.IntN(2) == 0 {
				c.ua, c.browser = "sqlmap/1.8.4#stable (https://sqlmap.org)", false
			}
			w.injection(c)
		case UnauthenticatedAccess:
			c.ua, c.browser = "curl/8.5.0", false
			w.unauthenticated(c)
		case DataExfiltration:
			c.user = takeUser()
			w.exfiltration(c)
		case ReconScan:
			c.browser = false
			w.recon(c)
		case PrivilegeEscalation:
			c.user = takeUser()
			w.privilegeEscalation(c)
		case AuthFailureBurst:
			c.user = takeUser()
			c.ua, c.browser = pick(r, appUAs), false
			w.authFailureBurst(c)
		case ErrorBurst:
			w.fault = w.errorBurst()
			continue // no client
		}
		add(c)
	}
	return w
}

func (d *data) rename(u *user, name string) {
	delete(d.byName, u.Username)
	u.Username = name
	d.byName[name] = u
}
