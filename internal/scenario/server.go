package scenario

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clock maps real time to virtual (capture) time: the run is Speedup
// times faster than the scenario it stands for.
type clock struct {
	t0    time.Time // real start
	v0    time.Time // virtual start
	speed float64
}

// offset is the virtual time elapsed since the start.
func (c *clock) offset() time.Duration { return time.Duration(float64(time.Since(c.t0)) * c.speed) }

func (c *clock) now() time.Time { return c.v0.Add(c.offset()) }

// virt maps a real (wall-clock) instant to virtual time.
func (c *clock) virt(t time.Time) time.Time {
	return c.v0.Add(time.Duration(float64(t.Sub(c.t0)) * c.speed))
}

// real returns the real duration standing for virtual d.
func (c *clock) real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.speed) }

const (
	serverIP   = "10.77.0.1"
	serverPort = 80
	apiHost    = "api.shop.example"
	issuer     = "https://auth.shop.example"
	tokenTTL   = time.Hour
)

// server is the shop's API.
type server struct {
	d     *data
	clk   *clock
	fault struct {
		route    string        // the pattern answering 5xx
		from, to time.Duration // the window, virtual offsets
		n        atomic.Int64
	}
	reqID atomic.Uint64

	mu      sync.Mutex
	deleted map[int]bool    // user ids deleted by an admin
	created map[int][]order // orders placed during the run, by account
	nextOID int             // next order id
	mux     *http.ServeMux  // the routes
}

func newServer(d *data, clk *clock) *server {
	s := &server{d: d, clk: clk, deleted: map[int]bool{}, created: map[int][]order{}, nextOID: 9000001, mux: http.NewServeMux()}
	route := s.mux.HandleFunc
	route("POST /api/v1/login", s.login)
	route("GET /api/v1/accounts/{id}", s.account)
	route("GET /api/v1/accounts/{id}/orders", s.accountOrders)
	route("GET /api/v1/products", s.products)
	route("GET /api/v1/products/{id}", s.product)
	route("POST /api/v1/orders", s.placeOrder)
	route("GET /api/v1/reports/{id}", s.report)
	route("GET /api/v1/export", s.export)
	route("GET /api/v1/admin/users", s.adminUsers)
	route("DELETE /api/v1/admin/users/{id}", s.adminDelete)
	route("GET /api/v1/search", s.search)
	route("GET /healthz", s.healthz)
	return s
}

// ServeHTTP adds the common headers and answers unrouted requests (404,
// or 405 for a route's path with another method) in JSON.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Date", s.clk.now().UTC().Format(http.TimeFormat))
	h.Set("Server", "shop-api/2.14.3")
	id := s.reqID.Add(1)
	h.Set("X-Request-Id", fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(s.d.seed)^uint32(id*2654435761), id&0xffff, id%4096, (id*7)%4096, id*0x9e3779b1&0xffffffffffff))
	handler, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // sets the path values
		return
	}
	// ServeMux's own answer tells 404 from 405 (with Allow).
	rec := &statusRecorder{header: http.Header{}}
	handler.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		h.Set("Allow", allow)
	}
	switch rec.status {
	case http.StatusMethodNotAllowed:
		s.fail(w, 405, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
	case http.StatusNotFound:
		s.fail(w, 404, "not_found", "no route for "+r.Method+" "+r.URL.Path)
	default: // a redirect to the cleaned path
		handler.ServeHTTP(w, r)
	}
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }

func (s *server) send(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (s *server) fail(w http.ResponseWriter, status int, code, msg string) {
	if status == 401 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shop", error="invalid_token"`)
	}
	s.send(w, status, map[string]any{"error": code, "message": msg, "status": status})
}

// ---- tokens ----

var b64 = base64.RawURLEncoding

type claims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Aud   string `json:"aud"`
	UID   int    `json:"uid"`
	Role  string `json:"role"`
	Scope string `json:"scope"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
	Jti   string `json:"jti"`
}

// token signs claims for u, issued at iat (virtual), HS256.
func (d *data) token(u *user, iat time.Time, ttl time.Duration, jti uint64) string {
	scope := "shop:read shop:write"
	if u.Role == "admin" {
		scope += " admin"
	}
	c := claims{Iss: issuer, Sub: u.Username, Aud: "shop-api", UID: u.ID, Role: u.Role, Scope: scope,
		Iat: iat.Unix(), Exp: iat.Add(ttl).Unix(), Jti: fmt.Sprintf("%016x", jti)}
	return d.sign(`{"alg":"HS256","typ":"JWT","kid":"shop-2024-1"}`, c)
}

func (d *data) sign(header string, c claims) string {
	p, _ := json.Marshal(c)
	msg := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(p)
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(msg))
	return msg + "." + b64.EncodeToString(m.Sum(nil))
}

var (
	errNoToken = errors.New("missing bearer token")
	errBad     = errors.New("invalid token")
	errExpired = errors.New("token expired")
)

// auth returns the caller of r from its bearer token.
func (s *server) auth(r *http.Request) (*user, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNoToken
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, errBad
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errBad
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if h, err := b64.DecodeString(parts[0]); err != nil || json.Unmarshal(h, &hdr) != nil || hdr.Alg != "HS256" {
		return nil, errBad // alg "none" and the like
	}
	m := hmac.New(sha256.New, s.d.secret)
	m.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return nil, errBad
	}
	raw, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errBad
	}
	var c claims
	if json.Unmarshal(raw, &c) != nil || c.UID < 1 || c.UID > len(s.d.users) {
		return nil, errBad
	}
	if s.clk.now().Unix() >= c.Exp {
		return nil, errExpired
	}
	u := s.d.users[c.UID-1]
	s.mu.Lock()
	gone := s.deleted[u.ID]
	s.mu.Unlock()
	if gone || u.Username != c.Sub {
		return nil, errBad
	}
	return u, nil
}

// authed answers 401 and returns nil when r has no valid token.
func (s *server) authed(w http.ResponseWriter, r *http.Request) *user {
	u, err := s.auth(r)
	if err != nil {
		code := "invalid_token"
		switch err {
		case errNoToken:
			code = "unauthorized"
		case errExpired:
			code = "token_expired"
		}
		s.fail(w, 401, code, err.Error())
		return nil
	}
	return u
}

// ---- handlers ----

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err := json.Unmarshal(body, &in); err != nil || in.Username == "" {
		s.fail(w, 400, "bad_request", "expected a JSON body with username and password")
		return
	}
	u := s.d.byName[in.Username]
	if u == nil {
		u = s.d.byEmail[strings.ToLower(in.Username)]
	}
	s.mu.Lock()
	gone := u != nil && s.deleted[u.ID]
	s.mu.Unlock()
	if u == nil || gone || !hmac.Equal([]byte(u.Password), []byte(in.Password)) {
		s.fail(w, 401, "invalid_credentials", "invalid username or password")
		return
	}
	now := s.clk.now()
	s.send(w, 200, map[string]any{
		"access_token": s.d.token(u, now, tokenTTL, s.reqID.Load()*31+uint64(u.ID)),
		"token_type":   "Bearer",
		"expires_in":   int(tokenTTL.Seconds()),
		"scope":        "shop:read shop:write",
		"user":         map[string]any{"id": u.ID, "username": u.Username, "role": u.Role, "accounts": u.Accounts},
	})
}

func money(cents int) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

func (s *server) accountJSON(a *account, u *user) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "owner": map[string]any{"id": u.ID, "username": u.Username, "name": u.Name, "email": u.Email, "phone": u.Phone},
		"status": a.Status, "currency": a.Currency, "balance": money(a.Balance), "plan": u.Plan,
		"created_at":      a.Created.Format(time.RFC3339),
		"billing_address": map[string]any{"street": a.Street, "city": a.City, "postal_code": a.Postcode, "country": a.Country},
	}
}

// ownAccount resolves {id} for the caller: 400, 401, 404 or 403 when it
// cannot.
func (s *server) ownAccount(w http.ResponseWriter, r *http.Request) (*account, *user) {
	u := s.authed(w, r)
	if u == nil {
		return nil, nil
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		s.fail(w, 400, "bad_request", "account id must be a positive integer")
		return nil, nil
	}
	a := s.d.accounts[id]
	if a == nil {
		s.fail(w, 404, "not_found", fmt.Sprintf("account %d not found", id))
		return nil, nil
	}
	if a.Owner != u.ID {
		s.fail(w, 403, "forbidden", fmt.Sprintf("account %d does not belong to you", id))
		return nil, nil
	}
	return a, u
}

func (s *server) account(w http.ResponseWriter, r *http.Request) {
	if a, u := s.ownAccount(w, r); a != nil {
		w.Header().Set("Cache-Control", "private, no-store")
		s.send(w, 200, s.accountJSON(a, u))
	}
}

func orderJSON(o order) map[string]any {
	items := make([]map[string]any, len(o.Items))
	for i, it := range o.Items {
		items[i] = map[string]any{"product_id": it.Product, "name": it.Name, "quantity": it.Quantity, "unit_price": money(it.Price)}
	}
	return map[string]any{"id": o.ID, "account_id": o.Account, "status": o.Status, "created_at": o.Created.Format(time.RFC3339),
		"items": items, "total": money(o.Total), "currency": o.Currency}
}

func (s *server) accountOrders(w http.ResponseWriter, r *http.Request) {
	a, _ := s.ownAccount(w, r)
	if a == nil {
		return
	}
	list := s.d.orders(a)
	s.mu.Lock()
	list = append(list, s.created[a.ID]...)
	s.mu.Unlock()
	out := make([]map[string]any, len(list))
	for i := range list {
		out[len(list)-1-i] = orderJSON(list[i]) // newest first
	}
	w.Header().Set("Cache-Control", "private, no-store")
	s.send(w, 200, map[string]any{"account_id": a.ID, "orders": out, "count": len(out)})
}

func productJSON(p *product, full bool) map[string]any {
	m := map[string]any{"id": p.ID, "sku": p.SKU, "name": p.Name, "category": p.Category, "price": money(p.Price),
		"currency": "USD", "in_stock": p.Stock > 0, "rating": p.Rating}
	if full {
		m["stock"] = p.Stock
		m["reviews"] = p.Reviews
		m["description"] = fmt.Sprintf("The %s is part of our %s collection. Free returns within 30 days.", strings.ToLower(p.Name), p.Category)
		m["images"] = []string{fmt.Sprintf("https://cdn.shop.example/p/%d/1.jpg", p.ID), fmt.Sprintf("https://cdn.shop.example/p/%d/2.jpg", p.ID)}
		m["shipping"] = map[string]any{"weight_g": 100 + p.ID*37%4000, "ships_in_days": 1 + p.ID%4}
	}
	return m
}

// intParam parses an optional positive integer query parameter.
func intParam(r *http.Request, name string, def, max int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, false
	}
	return n, true
}

func (s *server) products(w http.ResponseWriter, r *http.Request) {
	page, ok1 := intParam(r, "page", 1, 100000)
	size, ok2 := intParam(r, "page_size", 20, 100)
	if !ok1 || !ok2 {
		s.fail(w, 400, "bad_request", "page must be >= 1 and page_size in [1, 100]")
		return
	}
	q := strings.ToLower(r.URL.Query().Get("q"))
	if len(q) > 100 || strings.ContainsAny(q, "<>;'\"`$") {
		s.fail(w, 400, "bad_request", "invalid characters in q")
		return
	}
	var list []*product
	for _, p := range s.d.products {
		if q == "" || strings.Contains(strings.ToLower(p.Name), q) || p.Category == q {
			list = append(list, p)
		}
	}
	switch r.URL.Query().Get("sort") {
	case "", "relevance":
	case "price":
		sort.SliceStable(list, func(i, j int) bool { return list[i].Price < list[j].Price })
	case "-price":
		sort.SliceStable(list, func(i, j int) bool { return list[i].Price > list[j].Price })
	case "rating":
		sort.SliceStable(list, func(i, j int) bool { return list[i].Rating > list[j].Rating })
	case "new":
		sort.SliceStable(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	default:
		s.fail(w, 400, "bad_request", "sort must be one of relevance, price, -price, rating, new")
		return
	}
	items := []map[string]any{}
	for i := (page - 1) * size; i < min(page*size, len(list)); i++ {
		items = append(items, productJSON(list[i], false))
	}
	pages := (len(list) + size - 1) / size
	var next any
	if page < pages {
		next = fmt.Sprintf("/api/v1/products?page=%d&page_size=%d", page+1, size)
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.send(w, 200, map[string]any{"items": items, "page": page, "page_size": size, "total": len(list), "total_pages": pages, "next": next})
}

func (s *server) product(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		s.fail(w, 400, "bad_request", "product id must be a positive integer")
		return
	}
	if s.fault.route == "GET /api/v1/products/{id}" {
		if off := s.clk.offset(); off >= s.fault.from && off < s.fault.to {
			// The inventory backend is down: mostly 503, some 500 and 504.
			switch n := s.fault.n.Add(1); {
			case n%10 == 3:
				s.fail(w, 504, "gateway_timeout", "inventory service did not answer in time")
			case n%5 == 1:
				s.fail(w, 500, "internal_error", "unexpected error, request id "+w.Header().Get("X-Request-Id"))
			default:
				w.Header().Set("Retry-After", "5")
				s.fail(w, 503, "service_unavailable", "inventory service unavailable")
			}
			return
		}
	}
	if id > len(s.d.products) {
		s.fail(w, 404, "not_found", fmt.Sprintf("product %d not found", id))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.send(w, 200, productJSON(s.d.products[id-1], true))
}

func (s *server) placeOrder(w http.ResponseWriter, r *http.Request) {
	u := s.authed(w, r)
	if u == nil {
		return
	}
	var in struct {
		AccountID json.RawMessage `json:"account_id"`
		Items     []struct {
			ProductID json.RawMessage `json:"product_id"`
			Quantity  int             `json:"quantity"`
		} `json:"items"`
		Shipping struct {
			Method string `json:"method"`
		} `json:"shipping"`
		Coupon string `json:"coupon"`
		Note   string `json:"note"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &in); err != nil {
		s.fail(w, 400, "bad_request", "malformed JSON body")
		return
	}
	acc, err := strconv.Atoi(string(in.AccountID))
	if err != nil {
		s.fail(w, 422, "validation_error", "account_id must be an integer")
		return
	}
	a := s.d.accounts[acc]
	if a == nil {
		s.fail(w, 404, "not_found", fmt.Sprintf("account %d not found", acc))
		return
	}
	if a.Owner != u.ID {
		s.fail(w, 403, "forbidden", fmt.Sprintf("account %d does not belong to you", acc))
		return
	}
	if len(in.Items) == 0 || len(in.Coupon) > 32 || len(in.Note) > 500 {
		s.fail(w, 422, "validation_error", "an order needs items; coupon and note are limited in length")
		return
	}
	o := order{Account: a.ID, Status: "pending", Created: s.clk.now().UTC().Truncate(time.Second), Currency: a.Currency}
	for _, it := range in.Items {
		pid, err := strconv.Atoi(string(it.ProductID))
		if err != nil || pid < 1 || pid > len(s.d.products) || it.Quantity < 1 || it.Quantity > 20 {
			s.fail(w, 422, "validation_error", "unknown product or bad quantity")
			return
		}
		p := s.d.products[pid-1]
		o.Items = append(o.Items, orderItem{Product: p.ID, Name: p.Name, Quantity: it.Quantity, Price: p.Price})
		o.Total += p.Price * it.Quantity
	}
	s.mu.Lock()
	o.ID = s.nextOID
	s.nextOID++
	s.created[a.ID] = append(s.created[a.ID], o)
	s.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("/api/v1/accounts/%d/orders", a.ID))
	m := orderJSON(o)
	m["estimated_delivery"] = o.Created.Add(72 * time.Hour).Format("2006-01-02")
	s.send(w, 201, m)
}

// report is the broken endpoint: it never checks the caller.
func (s *server) report(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		s.fail(w, 400, "bad_request", "report id must be a positive integer")
		return
	}
	if id > s.d.nReports {
		s.fail(w, 404, "not_found", fmt.Sprintf("report %d not found", id))
		return
	}
	rr := rng(s.d.seed, "report", id)
	var top []map[string]any
	for k := range 5 {
		c := s.d.customer(rr.IntN(s.d.nCustomers))
		top = append(top, map[string]any{"rank": k + 1, "customer_id": c.ID, "name": c.First + " " + c.Last,
			"email": c.Email, "phone": c.Phone, "spend": money(c.Lifetime)})
	}
	period := epoch.AddDate(5, id%24, 0)
	s.send(w, 200, map[string]any{
		"id": id, "title": fmt.Sprintf("Monthly sales %s", period.Format("January 2006")), "period": period.Format("2006-01"),
		"generated_at": period.AddDate(0, 1, 1).Format(time.RFC3339),
		"revenue":      money(1000000 + rr.IntN(90000000)), "orders": 200 + rr.IntN(5000), "refunds": rr.IntN(80),
		"top_customers": top,
	})
}

const csvHeader = "customer_id,first_name,last_name,email,phone,city,country,created_at,orders,lifetime_value,marketing_opt_in\n"

func (s *server) export(w http.ResponseWriter, r *http.Request) {
	if s.authed(w, r) == nil {
		return
	}
	format := r.URL.Query().Get("fmt")
	if format == "" {
		format = "csv"
	}
	limit, ok1 := intParam(r, "limit", 50, 10000)
	page, ok2 := intParam(r, "page", 1, 100000)
	if (format != "csv" && format != "json") || !ok1 || !ok2 {
		s.fail(w, 400, "bad_request", "fmt must be csv or json, limit in [1, 10000], page >= 1")
		return
	}
	from := min((page-1)*limit, s.d.nCustomers)
	to := min(from+limit, s.d.nCustomers)
	// Written as it goes, with its length first: no copy of a big export.
	var head, tail []byte
	rows := s.d.customerRows(format == "json")[from:to]
	if format == "csv" {
		head = []byte(csvHeader)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="customers-p%d.csv"`, page))
	} else {
		head = fmt.Appendf(nil, `{"page":%d,"limit":%d,"total":%d,"records":[`, page, limit, s.d.nCustomers)
		tail = []byte("]}")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	n := len(head) + len(tail)
	for i, r := range rows {
		n += len(r)
		if format == "json" && i > 0 {
			n++
		}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(200)
	w.Write(head)
	for i, r := range rows {
		if format == "json" && i > 0 {
			w.Write([]byte{','})
		}
		w.Write(r)
	}
	w.Write(tail)
}

func (s *server) adminUsers(w http.ResponseWriter, r *http.Request) {
	u := s.authed(w, r)
	if u == nil {
		return
	}
	if u.Role != "admin" {
		s.fail(w, 403, "forbidden", "admin role required")
		return
	}
	page, ok1 := intParam(r, "page", 1, 100000)
	size, ok2 := intParam(r, "per_page", 25, 100)
	if !ok1 || !ok2 {
		s.fail(w, 400, "bad_request", "page must be >= 1 and per_page in [1, 100]")
		return
	}
	role := r.URL.Query().Get("role")
	s.mu.Lock()
	var list []map[string]any
	for _, x := range s.d.users {
		if s.deleted[x.ID] || (role != "" && x.Role != role) {
			continue
		}
		list = append(list, map[string]any{"id": x.ID, "username": x.Username, "name": x.Name, "email": x.Email,
			"phone": x.Phone, "role": x.Role, "plan": x.Plan, "created_at": x.Created.Format(time.RFC3339), "accounts": x.Accounts})
	}
	s.mu.Unlock()
	total := len(list)
	list = list[min((page-1)*size, total):min(page*size, total)]
	if list == nil {
		list = []map[string]any{}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	s.send(w, 200, map[string]any{"users": list, "page": page, "per_page": size, "total": total})
}

func (s *server) adminDelete(w http.ResponseWriter, r *http.Request) {
	u := s.authed(w, r)
	if u == nil {
		return
	}
	if u.Role != "admin" {
		s.fail(w, 403, "forbidden", "admin role required")
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		s.fail(w, 400, "bad_request", "user id must be a positive integer")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id > len(s.d.users) || s.deleted[id] {
		s.fail(w, 404, "not_found", fmt.Sprintf("user %d not found", id))
		return
	}
	if s.d.users[id-1].Role != "user" {
		s.fail(w, 409, "conflict", "cannot delete a privileged user")
		return
	}
	s.deleted[id] = true
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		s.fail(w, 400, "bad_request", "q is required")
		return
	}
	if len(q) > 200 || strings.ContainsAny(q, "<>`") || strings.Contains(q, "${") {
		s.fail(w, 400, "bad_request", "invalid search query")
		return
	}
	lq := strings.ToLower(q)
	results := []map[string]any{}
	for _, p := range s.d.products {
		if strings.Contains(strings.ToLower(p.Name), lq) || p.Category == lq {
			results = append(results, map[string]any{"type": "product", "id": p.ID, "title": p.Name, "url": fmt.Sprintf("/api/v1/products/%d", p.ID), "price": money(p.Price)})
			if len(results) == 10 {
				break
			}
		}
	}
	for i, a := range []string{"Shipping and delivery times", "Returns and refunds", "Payment methods", "Tracking your order", "Gift cards"} {
		if strings.Contains(strings.ToLower(a), lq) {
			results = append(results, map[string]any{"type": "article", "id": 100 + i, "title": a, "url": fmt.Sprintf("/help/articles/%d", 100+i)})
		}
	}
	s.send(w, 200, map[string]any{"query": q, "results": results, "count": len(results), "took_ms": 3 + len(q)%17})
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	s.send(w, 200, map[string]any{"status": "ok", "version": "2.14.3", "uptime_s": int(s.clk.offset().Seconds()) + 86400*3,
		"checks": map[string]string{"db": "ok", "cache": "ok", "inventory": "ok"}})
}
