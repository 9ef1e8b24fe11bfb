package inventory

import (
	"testing"

	"github.com/apitap/apitap/flow"
)

func TestOperation(t *testing.T) {
	post := func(path, ct, body string, hs ...flow.Header) *flow.Exchange {
		return &flow.Exchange{Method: "POST", PathDecoded: path, RequestHeaders: hs,
			Request: flow.Body{ContentType: ct, Data: []byte(body)}}
	}
	cases := []struct {
		name string
		e    *flow.Exchange
		want string
	}{
		{"graphql named", post("/graphql", "application/json", `{"query":"query GetUser($id: ID!) { user(id: $id) { name } }","variables":{"id":1}}`), "query GetUser"},
		{"graphql operationName wins", post("/api/graphql", "application/json", `{"operationName":"Feed","query":"query Other { a }"}`), "query Feed"},
		{"graphql mutation", post("/graphql", "application/json", `{"query":"  # c\n mutation CreateOrder { x }"}`), "mutation CreateOrder"},
		{"graphql anonymous", post("/graphql", "application/json", `{"query":"{ viewer { login } }"}`), "query"},
		{"graphql batch", post("/graphql", "application/json", `[{"query":"{a}"},{"query":"{b}"}]`), "batch"},
		{"graphql elsewhere", post("/v1/q", "application/json", `{"query":"subscription OnEvent { e }"}`), "subscription OnEvent"},
		{"graphql GET", &flow.Exchange{Method: "GET", PathDecoded: "/graphql", Query: "query=query%20Me%7Bme%7Bid%7D%7D"}, "query Me"},
		{"json without query", post("/v1/q", "application/json", `{"name":"x"}`), ""},
		{"soapaction", post("/ws", "text/xml", `<x/>`, flow.Header{Name: "SOAPAction", Value: `"http://example.com/stock/GetQuote"`}), "soap GetQuote"},
		{"soap 1.2 action", post("/ws", "application/soap+xml", ``, flow.Header{Name: "Content-Type", Value: `application/soap+xml; charset=utf-8; action="urn:Transfer#Send"`}), "soap Send"},
		{"soap body", post("/ws", "text/xml", `<?xml version="1.0"?><soap:Envelope xmlns:soap="x"><soap:Header/><soap:Body><m:GetPrice xmlns:m="y"><m:Item>a</m:Item></m:GetPrice></soap:Body></soap:Envelope>`), "soap GetPrice"},
		{"rpc query", &flow.Exchange{Method: "GET", PathDecoded: "/api.php", Query: "action=query&format=json"}, "action=query"},
		{"rpc numeric ignored", &flow.Exchange{Method: "GET", PathDecoded: "/x", Query: "op=12"}, ""},
		{"rest", &flow.Exchange{Method: "GET", PathDecoded: "/users/1", Query: "page=2"}, ""},
	}
	for _, c := range cases {
		if got := Operation(c.e); got != c.want {
			t.Errorf("%s: Operation = %q, want %q", c.name, got, c.want)
		}
	}
}

func FuzzOperation(f *testing.F) {
	f.Add("/graphql", "application/json", `{"query":"query A { b }"}`, "")
	f.Add("/ws", "text/xml", `<s:Envelope><s:Body><X/></s:Body></s:Envelope>`, "action=go")
	f.Fuzz(func(t *testing.T, path, ct, body, query string) {
		e := &flow.Exchange{Method: "POST", PathDecoded: path, Query: query, Request: flow.Body{ContentType: ct, Data: []byte(body)}}
		op := Operation(e)
		if len(op) > 80 {
			t.Fatalf("operation too long: %q", op)
		}
	})
}
