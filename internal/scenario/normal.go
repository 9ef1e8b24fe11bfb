package scenario

import (
	"fmt"
	"math"
	"net/url"
	"time"
)

// The normal clients' behaviour. Every choice is drawn from the client's
// own generator; times are virtual.

var searchWords = []string{"lamp", "coffee", "backpack", "kitchen", "headphones", "yoga mat", "mug", "wireless",
	"gift cards", "returns", "shipping", "bottle", "keyboard", "eco", "candle", "desk", "travel", "speaker", "wallet"}

// think draws the pause before the client's next action around its pace,
// sometimes a long one (reading, away).
func (s *session) think(pace time.Duration) time.Duration {
	if s.r.IntN(25) == 0 {
		return s.lognormal(60*time.Second, 0.4, 25*time.Second, 3*time.Minute)
	}
	return s.lognormal(pace, 0.8, 400*time.Millisecond, 90*time.Second)
}

// popularProduct draws a product id, popular ones (low ids) more often.
func (s *session) popularProduct() int {
	n := len(s.run.d.products)
	return 1 + int(float64(n)*math.Pow(s.r.Float64(), 1.7))
}

// browseList fetches a catalogue page (usually an early one); it returns
// the ids on that page when it is the plain listing.
func (s *session) browseList() []int {
	page := 1 + int(math.Floor(math.Pow(s.r.Float64(), 2.5)*10))
	q := url.Values{}
	plain := true
	if page > 1 || s.r.IntN(3) == 0 {
		q.Set("page", fmt.Sprint(page))
	}
	if s.r.IntN(5) == 0 {
		q.Set("q", pick(s.r, searchWords[:10]))
		plain = false
	}
	if s.r.IntN(6) == 0 {
		q.Set("sort", pick(s.r, []string{"price", "-price", "rating", "new"}))
		plain = false
	}
	target := "/api/v1/products"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if st, _ := s.get(target); st != 200 || !plain {
		return nil
	}
	var ids []int
	for id := (page-1)*20 + 1; id <= min(page*20, len(s.run.d.products)); id++ {
		ids = append(ids, id)
	}
	return ids
}

func (s *session) viewProduct(fromPage []int) {
	id := s.popularProduct()
	if len(fromPage) > 0 && s.r.IntN(10) < 7 {
		id = pick(s.r, fromPage)
	}
	s.get(fmt.Sprintf("/api/v1/products/%d", id))
}

func (s *session) searchSomething() {
	s.get("/api/v1/search?q=" + url.QueryEscape(pick(s.r, searchWords)))
}

func (s *session) placeOrder(u *user) {
	items := []map[string]any{}
	for range 1 + s.r.IntN(3) {
		items = append(items, map[string]any{"product_id": s.popularProduct(), "quantity": 1 + s.r.IntN(2)})
	}
	o := map[string]any{
		"account_id": pick(s.r, u.Accounts),
		"items":      items,
		"shipping":   map[string]any{"method": pick(s.r, []string{"standard", "standard", "express", "pickup"})},
		"payment":    map[string]any{"method": "card_on_file"},
	}
	if s.r.IntN(5) == 0 {
		o["coupon"] = pick(s.r, []string{"SPRING10", "WELCOME5", "FREESHIP"})
	}
	s.postJSON("/api/v1/orders", o)
}

func (s *session) smallExport() {
	s.get(fmt.Sprintf("/api/v1/export?fmt=%s&limit=%d", pick(s.r, []string{"csv", "csv", "json"}), pick(s.r, []int{20, 25, 50, 50, 100})))
}

func (s *session) viewReport() {
	n := s.run.d.nReports
	s.get(fmt.Sprintf("/api/v1/reports/%d", n-int(float64(n)*math.Pow(s.r.Float64(), 3))))
}

// weighted returns an index drawn with the given weights.
func (s *session) weighted(w ...int) int {
	t := 0
	for _, x := range w {
		t += x
	}
	k := s.r.IntN(t)
	for i, x := range w {
		if k < x {
			return i
		}
		k -= x
	}
	return len(w) - 1
}

// oneOff is a single event planned at a virtual offset.
type oneOff struct {
	at time.Duration
	do func()
}

// due runs the first due event and reports whether one ran.
func due(s *session, evs []oneOff) bool {
	for i := range evs {
		if evs[i].do != nil && s.offset() >= evs[i].at {
			f := evs[i].do
			evs[i].do = nil
			f()
			return true
		}
	}
	return false
}

// arrival draws when a normal client first shows up: most early, some
// during the scenario.
func (s *session) arrival(d time.Duration) time.Duration {
	if s.r.IntN(10) < 7 {
		return time.Duration(s.r.Float64() * 0.08 * float64(d))
	}
	return time.Duration(s.r.Float64() * 0.6 * float64(d))
}

// typo returns the password with one mistake.
func typo(r interface{ IntN(int) int }, p string) string {
	b := []byte(p)
	i := r.IntN(len(b))
	if b[i] == 'x' {
		b[i] = 'z'
	} else {
		b[i] = 'x'
	}
	return string(b)
}

// userScript: a registered user. Logs in (once with a typo for some),
// then browses, looks at its accounts and orders, orders, opens reports
// and makes small exports; leaves and sometimes comes back. Some make one
// mistake each: a product that does not exist (404), someone else's
// account (403). Exporters make one bigger export.
func (w *world) userScript(s *session, exporter bool) {
	u := s.c.user
	d := w.o.Duration
	pace := time.Duration(2500+s.r.IntN(4500)) * time.Millisecond
	arrive := s.arrival(d)
	mistype := s.r.IntN(4) == 0
	var evs []oneOff
	at := func() time.Duration { return arrive + time.Duration(s.r.Float64()*float64(d-arrive)) }
	if s.r.IntN(10) < 4 {
		evs = append(evs, oneOff{at(), func() { s.get(fmt.Sprintf("/api/v1/products/%d", len(w.d.products)+1+s.r.IntN(4000))) }})
	}
	if s.r.IntN(100) < 15 {
		other := pick(s.r, w.d.accountIDs)
		for w.d.accounts[other].Owner == u.ID {
			other = pick(s.r, w.d.accountIDs)
		}
		evs = append(evs, oneOff{at(), func() { s.get(fmt.Sprintf("/api/v1/accounts/%d", other)) }})
	}
	if exporter {
		evs = append(evs, oneOff{arrive + time.Duration((0.1+0.8*s.r.Float64())*float64(d-arrive)), func() {
			s.get(fmt.Sprintf("/api/v1/export?fmt=csv&limit=%d", 250+50*s.r.IntN(8)))
		}})
	}
	if !s.until(arrive) {
		return
	}
	for {
		if mistype {
			mistype = false
			s.login(u.Username, typo(s.r, u.Password))
			if !s.sleep(s.lognormal(5*time.Second, 0.4, 2*time.Second, 15*time.Second)) {
				return
			}
		}
		if !s.login(u.Username, u.Password) {
			return
		}
		loggedIn := s.offset()
		leave := loggedIn + s.lognormal(4*time.Minute, 0.6, time.Minute, 20*time.Minute)
		// The dashboard the app opens on: the latest sales report.
		if s.sleep(s.lognormal(800*time.Millisecond, 0.5, 200*time.Millisecond, 3*time.Second)) {
			s.get(fmt.Sprintf("/api/v1/reports/%d", w.d.nReports))
		}
		var page []int
		for s.sleep(s.think(pace)) {
			if s.offset() >= leave {
				break
			}
			if s.offset()-loggedIn > tokenTTL-5*time.Minute { // refresh before expiry
				if !s.login(u.Username, u.Password) {
					return
				}
				loggedIn = s.offset()
				continue
			}
			if due(s, evs) {
				continue
			}
			switch s.weighted(20, 24, 8, 10, 10, 6, 14, 4) {
			case 0:
				page = s.browseList()
			case 1:
				s.viewProduct(page)
			case 2:
				s.searchSomething()
			case 3:
				s.get(fmt.Sprintf("/api/v1/accounts/%d", pick(s.r, u.Accounts)))
			case 4:
				s.get(fmt.Sprintf("/api/v1/accounts/%d/orders", pick(s.r, u.Accounts)))
			case 5:
				s.placeOrder(u)
			case 6:
				s.viewReport()
			case 7:
				s.smallExport()
			}
		}
		if s.over() {
			return
		}
		s.logout()
		if s.r.IntN(2) == 0 || !s.sleep(s.lognormal(2*time.Minute, 0.5, 45*time.Second, 6*time.Minute)) {
			return
		}
	}
}

// browserScript: an anonymous visitor of the catalogue and search.
func (w *world) browserScript(s *session) {
	pace := time.Duration(2000+s.r.IntN(5000)) * time.Millisecond
	if !s.until(s.arrival(w.o.Duration)) {
		return
	}
	var evs []oneOff
	if s.r.IntN(10) < 3 {
		evs = append(evs, oneOff{s.offset() + time.Duration(s.r.Float64()*float64(w.o.Duration)), func() {
			s.get(fmt.Sprintf("/api/v1/products/%d", len(w.d.products)+1+s.r.IntN(4000)))
		}})
	}
	for {
		leave := s.offset() + s.lognormal(150*time.Second, 0.6, 40*time.Second, 15*time.Minute)
		page := s.browseList()
		for s.sleep(s.think(pace)) && s.offset() < leave {
			if due(s, evs) {
				continue
			}
			switch s.weighted(40, 42, 18) {
			case 0:
				page = s.browseList()
			case 1:
				s.viewProduct(page)
			case 2:
				s.searchSomething()
			}
		}
		if s.over() {
			return
		}
		s.logout()
		if s.r.IntN(10) < 6 || !s.sleep(s.lognormal(2*time.Minute, 0.5, 45*time.Second, 6*time.Minute)) {
			return
		}
	}
}

// adminScript: a legitimate admin principal. Lists users (sometimes only
// the admins), looks at reports and its account, exports, and deletes a
// dormant user or two (each after a look at the user list).
func (w *world) adminScript(s *session, victims []int) {
	u := s.c.user
	d := w.o.Duration
	pace := time.Duration(3000+s.r.IntN(4000)) * time.Millisecond
	arrive := s.arrival(d) / 2
	var evs []oneOff
	for _, v := range victims {
		evs = append(evs, oneOff{arrive + time.Duration((0.15+0.75*s.r.Float64())*float64(d-arrive)), func() {
			s.get(fmt.Sprintf("/api/v1/admin/users?page=%d&per_page=50", 1+(v-1)/50))
			if s.sleep(s.lognormal(8*time.Second, 0.4, 3*time.Second, 30*time.Second)) {
				s.call("DELETE", fmt.Sprintf("/api/v1/admin/users/%d", v), nil, nil)
			}
		}})
	}
	if !s.until(arrive) || !s.login(u.Username, u.Password) {
		return
	}
	loggedIn := s.offset()
	if s.sleep(s.lognormal(800*time.Millisecond, 0.5, 200*time.Millisecond, 3*time.Second)) {
		s.get(fmt.Sprintf("/api/v1/reports/%d", w.d.nReports))
	}
	pages := (len(w.d.users) + 24) / 25
	for s.sleep(s.think(pace)) {
		if s.offset()-loggedIn > tokenTTL-5*time.Minute {
			if !s.login(u.Username, u.Password) {
				return
			}
			loggedIn = s.offset()
			continue
		}
		if due(s, evs) {
			continue
		}
		switch s.weighted(35, 15, 10, 10, 10, 8) {
		case 0:
			if s.r.IntN(7) == 0 {
				s.get("/api/v1/admin/users?role=admin")
			} else {
				s.get(fmt.Sprintf("/api/v1/admin/users?page=%d", 1+int(math.Pow(s.r.Float64(), 2)*float64(pages))))
			}
		case 1:
			s.viewReport()
		case 2:
			s.viewProduct(nil)
		case 3:
			s.browseList()
		case 4:
			s.get(fmt.Sprintf("/api/v1/accounts/%d", pick(s.r, u.Accounts)))
		case 5:
			s.get(fmt.Sprintf("/api/v1/export?fmt=%s&limit=%d", pick(s.r, []string{"csv", "json"}), pick(s.r, []int{50, 100})))
		}
	}
}

// monitorScript: a load balancer's health check every 10 s.
func (w *world) monitorScript(s *session) {
	next := time.Duration(s.r.Float64() * float64(10*time.Second))
	for s.until(next) {
		s.get("/healthz")
		next += s.jitter(10*time.Second, 0.03)
	}
}

// integrationScript: a partner's service account syncing products: one
// product every few seconds (in random order), and the newest page now
// and then.
func (w *world) integrationScript(s *session) {
	u := s.c.user
	if !s.until(time.Duration(s.r.Float64()*float64(5*time.Second))) || !s.login(u.Username, u.Password) {
		return
	}
	loggedIn := s.offset()
	order := s.r.Perm(len(w.d.products))
	nextList := s.offset() + s.jitter(time.Minute, 0.2)
	for i := 0; s.sleep(s.jitter(3500*time.Millisecond, 0.45)); i++ {
		if s.offset()-loggedIn > tokenTTL-5*time.Minute {
			if !s.login(u.Username, u.Password) {
				return
			}
			loggedIn = s.offset()
		}
		if s.offset() >= nextList {
			s.get("/api/v1/products?page=1&page_size=100&sort=new")
			nextList += s.jitter(time.Minute, 0.2)
			continue
		}
		s.get(fmt.Sprintf("/api/v1/products/%d", order[i%len(order)]+1))
	}
}
