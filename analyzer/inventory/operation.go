package inventory

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/apitap/apitap/flow"
)

// Operation returns the operation an exchange names inside one URL, where
// the protocol puts it there, so that it becomes part of the endpoint's
// identity (a sub-endpoint):
//
//   - GraphQL (a path ending in /graphql, or a JSON body with a "query"
//     string on a POST): "query GetUser", "mutation CreateOrder",
//     "query" for an anonymous one, "batch" for a batched request;
//   - SOAP: the SOAPAction header, the action parameter of an
//     application/soap+xml content type, or else the local name of the
//     first element inside the envelope's Body: "soap GetQuote";
//   - RPC-style query parameters (?action=, ?op=, ?method=, ...) with a
//     word-like value: "action=getUser".
//
// It returns "" for everything else (REST: the path is the identity).
func Operation(e *flow.Exchange) string {
	if op := graphQL(e); op != "" {
		return op
	}
	if op := soap(e); op != "" {
		return op
	}
	return rpcQuery(e.Query)
}

func header(hs []flow.Header, name string) (string, bool) {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

func graphQL(e *flow.Exchange) string {
	isPath := strings.HasSuffix(strings.TrimSuffix(e.PathDecoded, "/"), "/graphql")
	body := bytes.TrimSpace(e.Request.Data)
	if e.Method == "GET" && isPath {
		q, err := url.ParseQuery(e.Query)
		if err != nil || q.Get("query") == "" {
			return ""
		}
		return gqlOp(q.Get("query"), q.Get("operationName"))
	}
	if e.Method != "POST" || len(body) == 0 || !strings.Contains(e.Request.ContentType, "json") && !isPath {
		return ""
	}
	if body[0] == '[' {
		if isPath || bytes.Contains(body, []byte(`"query"`)) {
			return "batch"
		}
		return ""
	}
	if body[0] != '{' || !isPath && !bytes.Contains(body, []byte(`"query"`)) {
		return ""
	}
	var req struct {
		Query         *string `json:"query"`
		OperationName string  `json:"operationName"`
	}
	if json.Unmarshal(body, &req) != nil || req.Query == nil {
		if isPath {
			return "query" // truncated or odd body on a GraphQL endpoint
		}
		return ""
	}
	return gqlOp(*req.Query, req.OperationName)
}

// gqlOp reads the operation type and name from a GraphQL document.
func gqlOp(q, name string) string {
	q = skipIgnored(q)
	kind := "query"
	for _, k := range []string{"query", "mutation", "subscription"} {
		if strings.HasPrefix(q, k) && (len(q) == len(k) || !isNameByte(q[len(k)])) {
			kind = k
			q = skipIgnored(q[len(k):])
			if name == "" {
				n := 0
				for n < len(q) && isNameByte(q[n]) {
					n++
				}
				name = q[:n]
			}
			break
		}
	}
	if name = cleanName(name); name != "" {
		return kind + " " + name
	}
	return kind
}

// skipIgnored skips whitespace, commas and # comments (GraphQL's ignored tokens).
func skipIgnored(s string) string {
	for len(s) > 0 {
		switch s[0] {
		case ' ', '\t', '\n', '\r', ',':
			s = s[1:]
		case '#':
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[i+1:]
			} else {
				s = ""
			}
		default:
			return s
		}
	}
	return s
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// cleanName keeps operation names short and printable: they go into
// endpoint keys and dashboards.
func cleanName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != ':' && s[i] != '/' {
			return ""
		}
	}
	return s
}

func soap(e *flow.Exchange) string {
	if e.Method != "POST" {
		return ""
	}
	if a, ok := header(e.RequestHeaders, "SOAPAction"); ok {
		if a = soapActionName(a); a != "" {
			return "soap " + a
		}
	}
	ct, _ := header(e.RequestHeaders, "Content-Type")
	if i := strings.Index(strings.ToLower(ct), "action="); i >= 0 && strings.Contains(strings.ToLower(ct), "soap") {
		a := ct[i+len("action="):]
		if j := strings.IndexByte(a, ';'); j >= 0 {
			a = a[:j]
		}
		if a = soapActionName(a); a != "" {
			return "soap " + a
		}
	}
	if !strings.Contains(e.Request.ContentType, "xml") {
		return ""
	}
	if el := soapBodyElement(e.Request.Data); el != "" {
		return "soap " + el
	}
	return ""
}

// soapActionName keeps the last path or fragment part of an action URI:
// "http://example.com/stock/GetQuote" → "GetQuote".
func soapActionName(a string) string {
	a = strings.Trim(strings.TrimSpace(a), `"`)
	if i := strings.LastIndexAny(a, "/#"); i >= 0 {
		a = a[i+1:]
	}
	return cleanName(a)
}

// soapBodyElement finds the first element after the envelope's Body start
// tag and returns its local name; a byte scan, not an XML parser: the body
// may be truncated and only the one name is needed.
func soapBodyElement(b []byte) string {
	for {
		i := bytes.IndexByte(b, '<')
		if i < 0 || i+1 >= len(b) {
			return ""
		}
		b = b[i+1:]
		if b[0] == '?' || b[0] == '!' || b[0] == '/' {
			continue
		}
		n := 0
		for n < len(b) && b[n] != '>' && b[n] != ' ' && b[n] != '/' && b[n] != '\t' && b[n] != '\n' && b[n] != '\r' {
			n++
		}
		name := string(b[:n])
		local := name
		if j := strings.IndexByte(local, ':'); j >= 0 {
			local = local[j+1:]
		}
		if local == "Body" {
			for {
				k := bytes.IndexByte(b, '<')
				if k < 0 || k+1 >= len(b) {
					return ""
				}
				b = b[k+1:]
				if b[0] == '!' || b[0] == '?' {
					continue
				}
				if b[0] == '/' {
					return "" // an empty Body
				}
				m := 0
				for m < len(b) && isNameByte(b[m]) || m < len(b) && (b[m] == ':' || b[m] == '.' || b[m] == '-') {
					m++
				}
				el := string(b[:m])
				if j := strings.IndexByte(el, ':'); j >= 0 {
					el = el[j+1:]
				}
				return cleanName(el)
			}
		}
	}
}

var rpcKeys = map[string]bool{"action": true, "op": true, "operation": true, "method": true, "cmd": true,
	"command": true, "function": true, "fn": true, "call": true, "rpc": true}

func rpcQuery(q string) string {
	if q == "" {
		return ""
	}
	for part := range strings.SplitSeq(q, "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || !rpcKeys[strings.ToLower(k)] {
			continue
		}
		if d, err := url.QueryUnescape(v); err == nil {
			v = d
		}
		if v != "" && len(v) <= 64 && cleanName(v) == v && !allDigits(v) {
			return strings.ToLower(k) + "=" + v
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
