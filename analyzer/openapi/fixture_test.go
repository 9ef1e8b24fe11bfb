package openapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/apitap/apitap/analyzer/shape"
)

// sample is one synthetic exchange, as the sensor would report it.
type sample struct {
	host     string
	port     int
	method   string
	template string // the inventory's route
	path     string // the concrete path
	query    map[string]string
	header   map[string]string
	auth     string // the Auth entry; its credential is put in the request
	reqType  string
	reqBody  []byte
	status   int // 0: no response
	respType string
	respBody []byte
	state    string
	at       time.Time
}

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func js(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// traffic makes realistic exchanges: several hosts (one on 443, one on a
// non-default port, an IP, an IPv6 loopback), path parameters, query and
// header parameters, JSON bodies of several shapes with optional and
// nullable fields, problem+json errors, XML (SOAP), text, a method OpenAPI
// has no field for, an endpoint that never answered, every auth scheme and
// every state; /api/v1/users/{id} exists on two hosts under different
// parameter names.
func traffic(seed uint64) []sample {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []sample
	at := epoch
	add := func(s sample) {
		at = at.Add(time.Duration(1+r.IntN(600)) * time.Second)
		s.at = at
		out = append(out, s)
	}
	user := func(id int) map[string]any {
		u := map[string]any{
			"id":         id,
			"name":       fmt.Sprintf("user %d", id),
			"email":      fmt.Sprintf("u%d@example.com", id),
			"created_at": epoch.Add(-time.Duration(id) * time.Hour).Format(time.RFC3339),
			"avatar_url": nil,
			"roles":      []string{"reader"},
			"address":    map[string]any{"city": "Lyon", "zip": "69001"},
		}
		if id%3 == 0 {
			u["avatar_url"] = fmt.Sprintf("https://cdn.example.com/a/%d.png", id)
		}
		if id%4 == 0 {
			delete(u, "address") // optional: absent in a quarter of the users
		}
		return u
	}
	problem := func(status int, title string) []byte {
		return js(map[string]any{"type": "https://example.com/problems/" + strings.ToLower(strings.ReplaceAll(title, " ", "-")), "title": title, "status": status, "detail": "see type"})
	}
	for i := 0; i < 40; i++ {
		id := 1 + r.IntN(500)
		// api.example.com, the documented API
		page := fmt.Sprint(1 + r.IntN(5))
		list := []any{}
		for k := 0; k < r.IntN(4); k++ {
			list = append(list, user(id+k))
		}
		next := any(nil)
		if len(list) == 3 {
			next = "https://api.example.com/api/v1/users?page=" + page
		}
		add(sample{host: "api.example.com", port: 443, method: "GET", template: "/api/v1/users", path: "/api/v1/users",
			query: map[string]string{"page": page, "limit": "3"}, auth: "bearer",
			status: 200, respType: "application/json", respBody: js(map[string]any{"data": list, "next": next, "total": 500}), state: "documented"})
		body := map[string]any{"name": "new", "email": "new@example.com"}
		if i%2 == 0 {
			body["role"] = "admin"
		}
		if i%5 == 0 {
			add(sample{host: "api.example.com", port: 443, method: "POST", template: "/api/v1/users", path: "/api/v1/users", auth: "jwt",
				reqType: "application/json", reqBody: js(map[string]any{"name": ""}),
				status: 400, respType: "application/problem+json", respBody: problem(400, "Bad Request"), state: "documented"})
		} else {
			add(sample{host: "api.example.com", port: 443, method: "POST", template: "/api/v1/users", path: "/api/v1/users", auth: "jwt",
				reqType: "application/json; charset=utf-8", reqBody: js(body),
				status: 201, respType: "application/json", respBody: js(user(id)), state: "documented"})
		}
		if i%4 == 0 {
			add(sample{host: "api.example.com", port: 443, method: "GET", template: "/api/v1/users/{id}", path: fmt.Sprintf("/api/v1/users/%d", id+1000), auth: "bearer",
				status: 404, respType: "application/problem+json", respBody: problem(404, "Not Found"), state: "documented"})
		} else {
			add(sample{host: "api.example.com", port: 443, method: "GET", template: "/api/v1/users/{id}", path: fmt.Sprintf("/api/v1/users/%d", id), auth: "bearer",
				status: 200, respType: "application/json", respBody: js(user(id)), state: "documented"})
		}
		add(sample{host: "api.example.com", port: 443, method: "PATCH", template: "/api/v1/users/{id}", path: fmt.Sprintf("/api/v1/users/%d", id), auth: "bearer",
			reqType: "application/merge-patch+json", reqBody: js(map[string]any{"name": "renamed"}),
			status: 200, respType: "application/json", respBody: js(user(id)), state: "documented"})
		if i%8 == 0 {
			add(sample{host: "api.example.com", port: 443, method: "DELETE", template: "/api/v1/users/{id}", path: fmt.Sprintf("/api/v1/users/%d", id), auth: "bearer",
				status: 204, state: "documented"})
		}
		item := map[string]any{"sku": fmt.Sprintf("SKU-%04d", r.IntN(9999)), "qty": 1 + r.IntN(5), "price": float64(r.IntN(10000)) / 100, "warehouse_ip": "10.1.2.3", "batch": "123e4567-e89b-12d3-a456-426614174000"}
		if i%3 == 0 {
			item["price"] = 12.5
		}
		add(sample{host: "api.example.com", port: 443, method: "GET", template: "/api/v1/orders/{orderId}/items/{itemId}",
			path: fmt.Sprintf("/api/v1/orders/%d/items/%d", 9000+id, r.IntN(10)), auth: "apikey:X-Api-Key",
			header: map[string]string{"X-Request-Id": fmt.Sprint(r.Uint32())},
			status: 200, respType: "application/json", respBody: js(item), state: "shadow"})
		add(sample{host: "api.example.com", port: 443, method: "GET", template: "/api/v1/search", path: "/api/v1/search",
			query: map[string]string{"q": "term", "api_key": "k"}, auth: "apikey:query:api_key",
			status: 200, respType: "application/json", respBody: js([]any{map[string]any{"id": id, "score": r.Float64()}, map[string]any{"id": id + 1, "score": 1}}), state: "documented"})

		// legacy.example.com:8080: the old version of the same route.
		add(sample{host: "legacy.example.com", port: 8080, method: "GET", template: "/api/v1/users/{uid}", path: fmt.Sprintf("/api/v1/users/%d", id), auth: "basic",
			status: 200, respType: "application/json", respBody: js(user(id)), state: "zombie"})

		// health on three hosts, in different states
		for _, h := range []struct {
			host  string
			port  int
			state string
		}{{"api.example.com", 443, "documented"}, {"legacy.example.com", 8080, "dormant"}, {"10.0.0.5", 9000, "shadow"}} {
			if r.IntN(3) == 0 {
				add(sample{host: h.host, port: h.port, method: "GET", template: "/health", path: "/health", auth: "none",
					status: 200, respType: "text/plain; charset=utf-8", respBody: []byte("ok"), state: h.state})
			}
		}

		// 10.0.0.5:9000: SOAP and WebDAV, cookie sessions
		soap := `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><GetOrder><Id>%d</Id></GetOrder></soap:Body></soap:Envelope>`
		add(sample{host: "10.0.0.5", port: 9000, method: "POST", template: "/soap/OrderService", path: "/soap/OrderService", auth: "cookie:JSESSIONID",
			reqType: "application/soap+xml", reqBody: []byte(fmt.Sprintf(soap, id)),
			status: 200, respType: "application/soap+xml", respBody: []byte(fmt.Sprintf(soap, id)), state: "shadow"})
		if i%10 == 0 {
			add(sample{host: "10.0.0.5", port: 9000, method: "PROPFIND", template: "/dav/{file}", path: "/dav/report.pdf", auth: "digest",
				status: 207, respType: "application/xml", respBody: []byte(`<d:multistatus xmlns:d="DAV:"/>`), state: "dormant"})
		}
		// [::1]:8081: a metrics scrape the sensor never saw answered
		if i%10 == 1 {
			add(sample{host: "::1", port: 8081, method: "GET", template: "/metrics", path: "/metrics", auth: "none", status: 0, state: "shadow"})
		}
	}
	return out
}

// inventory folds samples into Operations as the analyzer would: one per
// host, port, method and route; bodies into Shapes.
func inventory(samples []sample) []Operation {
	type key struct {
		host         string
		port         int
		method, tmpl string
	}
	type acc struct {
		op       Operation
		resp     map[int]*Response
		params   map[string]Param
		reqTypes map[string]bool
		auth     map[string]bool
	}
	accs := map[key]*acc{}
	var order []key
	for _, s := range samples {
		k := key{s.host, s.port, s.method, s.template}
		a := accs[k]
		if a == nil {
			a = &acc{
				op:       Operation{Host: s.host, Port: s.port, Method: s.method, Path: s.template, State: s.state, FirstSeen: s.at},
				resp:     map[int]*Response{},
				params:   map[string]Param{},
				reqTypes: map[string]bool{},
				auth:     map[string]bool{},
			}
			accs[k] = a
			order = append(order, k)
		}
		a.op.Requests++
		a.op.LastSeen = s.at
		a.auth[s.auth] = true
		for _, n := range pathNames(s.template) {
			a.params["path "+n] = Param{Name: n, In: "path", Required: true, Schema: map[string]any{"type": "integer"}}
		}
		if strings.Contains(s.template, "{file}") {
			a.params["path file"] = Param{Name: "file", In: "path", Required: true}
		}
		for q := range s.query {
			if strings.HasPrefix(s.auth, "apikey:query:") && q == "api_key" {
				continue // the credential, described by the security scheme
			}
			a.params["query "+q] = Param{Name: q, In: "query", Required: q == "q"}
		}
		for h := range s.header {
			a.params["header "+h] = Param{Name: h, In: "header", Required: true}
		}
		if s.reqBody != nil {
			a.reqTypes[s.reqType] = true
			if a.op.RequestBody == nil {
				a.op.RequestBody = new(shape.Shape)
			}
			observeBody(a.op.RequestBody, s.reqType, s.reqBody)
		}
		if s.status != 0 {
			rr := a.resp[s.status]
			if rr == nil {
				rr = &Response{Status: s.status}
				a.resp[s.status] = rr
			}
			if s.respBody != nil {
				if !contains(rr.ContentTypes, s.respType) {
					rr.ContentTypes = append(rr.ContentTypes, s.respType)
				}
				if rr.Body == nil {
					rr.Body = new(shape.Shape)
				}
				observeBody(rr.Body, s.respType, s.respBody)
			}
		}
	}
	var ops []Operation
	for _, k := range order {
		a := accs[k]
		for _, p := range sortedMap(a.params) {
			a.op.Params = append(a.op.Params, p)
		}
		for _, st := range sortedInts(a.resp) {
			a.op.Responses = append(a.op.Responses, *a.resp[st])
		}
		for t := range a.reqTypes {
			a.op.RequestContentTypes = append(a.op.RequestContentTypes, t)
		}
		sort.Strings(a.op.RequestContentTypes)
		for t := range a.auth {
			a.op.Auth = append(a.op.Auth, t)
		}
		sort.Strings(a.op.Auth)
		ops = append(ops, a.op)
	}
	return ops
}

func observeBody(s *shape.Shape, ct string, b []byte) {
	if strings.Contains(ct, "json") {
		s.ObserveJSON(b)
	} else if strings.Contains(ct, "xml") {
		s.ObserveXML(b)
	}
}

func pathNames(t string) []string {
	var out []string
	for _, seg := range strings.Split(t, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && seg != "{file}" {
			out = append(out, seg[1:len(seg)-1])
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortedMap(m map[string]Param) []Param {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Param, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

func sortedInts(m map[int]*Response) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
