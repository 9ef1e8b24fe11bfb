package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decode turns JSON or YAML into plain Go values (maps, slices, scalars).
// JSON goes through encoding/json, which is several times faster than a
// YAML parser on the multi-megabyte JSON specs; anything else, and JSON
// that encoding/json rejects (comments, trailing commas), goes through
// yaml.v3, since JSON is YAML.
func decode(data []byte) (root any, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("empty document: %w", ErrNotOpenAPI)
	}
	var jerr error
	if trimmed[0] == '{' {
		if jerr = json.Unmarshal(trimmed, &root); jerr == nil {
			return root, nil
		}
	}
	if yerr := decodeYAML(data, &root); yerr != nil {
		if jerr != nil {
			return nil, fmt.Errorf("not JSON (%v) nor YAML (%v)", jerr, yerr)
		}
		return nil, fmt.Errorf("not YAML: %v", yerr)
	}
	return root, nil
}

// decodeYAML is yaml.Unmarshal behind a recover: the parser has panicked
// on crafted input before (CVE-2022-28948), and a spec is untrusted input
// that must not take the process down. yaml.v3 bounds alias expansion
// itself ("excessive aliasing").
func decodeYAML(data []byte, out *any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	return yaml.Unmarshal(data, out)
}

// obj views a decoded mapping as map[string]any. yaml.v3 decodes a
// mapping with a non-string key (a response code 200) into
// map[any]any; such maps are converted on access.
func obj(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[scalar(k)] = x
		}
		return out
	}
	return nil
}

// scalar renders a decoded scalar as text: YAML turns `version: 1.0` into
// a float and `version: 2020-08-27` into a time.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339)
	}
	return ""
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// methods are the operation keys of a path item, in the order operations
// are listed; "query" is OpenAPI 3.2's.
var methods = [...]string{"get", "put", "post", "delete", "options", "head", "patch", "trace", "query"}

// loader holds one document while it is turned into a Spec.
type loader struct {
	root    map[string]any
	spec    *Spec
	swagger bool
	warns   []string
	dropped int // warnings beyond maxWarnings
	// normalized maps a route, parameter names aside, to its first path,
	// to find /users/{id} beside /users/{name}.
	normalized   map[string]string
	serversCache map[string]*Servers // see ownServers
	// Counters of problems that recur, reported once each by finish with
	// the first example: external $refs; templated path parameters not
	// declared and declared ones not templated; paths without a leading
	// slash; duplicate routes; over-deep paths; the operation limit.
	external, undeclared, unused, badPaths, dupTemplates, deepPaths, truncatedOps int
	refExamples, undeclaredEx, unusedEx, badPathEx, dupExample, deepExample       string
}

func (l *loader) warn(format string, args ...any) {
	if len(l.warns) >= maxWarnings {
		l.dropped++
		return
	}
	l.warns = append(l.warns, fmt.Sprintf(format, args...))
}

func build(name string, root any) (*Spec, error) {
	doc := obj(root)
	if doc == nil {
		return nil, ErrNotOpenAPI
	}
	l := &loader{root: doc, spec: &Spec{File: name}, normalized: make(map[string]string)}
	switch v := scalar(doc["openapi"]); {
	case strings.HasPrefix(v, "3"):
		l.spec.OpenAPI = v
	case scalar(doc["swagger"]) == "2.0" || scalar(doc["swagger"]) == "2":
		l.spec.OpenAPI = "2.0"
		l.swagger = true
	case v != "":
		return nil, fmt.Errorf("openapi %q: %w", v, ErrNotOpenAPI)
	case doc["swagger"] != nil:
		return nil, fmt.Errorf("swagger %q: %w", scalar(doc["swagger"]), ErrNotOpenAPI)
	default:
		return nil, ErrNotOpenAPI
	}
	if info := obj(doc["info"]); info != nil {
		l.spec.Title = scalar(info["title"])
		l.spec.Version = scalar(info["version"])
	}
	if l.swagger {
		l.swaggerServers()
	} else {
		srv := l.servers(doc["servers"], "servers")
		l.spec.Hosts, l.spec.BasePaths = srv.Hosts, srv.BasePaths
	}
	l.paths(doc["paths"])
	l.finish()
	return l.spec, nil
}

// swaggerServers reads Swagger 2.0's host and basePath.
func (l *loader) swaggerServers() {
	doc := l.root
	if h := scalar(doc["host"]); h != "" {
		if host, ok := l.host(h, "host"); ok && host != "" {
			l.spec.Hosts = []string{host}
		}
	}
	base := "/"
	if b, ok := doc["basePath"]; ok {
		base = scalar(b)
	}
	l.spec.BasePaths = []string{cleanBase(base)}
}

// servers reads an OpenAPI 3 servers list. No servers means "/" (the
// specification's default): every host, the root.
func (l *loader) servers(v any, where string) Servers {
	list, _ := v.([]any)
	var out Servers
	anyHost := len(list) == 0
	dropped := 0
	seenHost := make(map[string]bool)
	seenBase := make(map[string]bool)
	for i, e := range list {
		s := obj(e)
		if s == nil {
			l.warn("%s[%d]: not an object, ignored", where, i)
			continue
		}
		for _, u := range expand(scalar(s["url"]), obj(s["variables"])) {
			host, base, ok := l.serverURL(u, where)
			if !ok {
				anyHost = true
				continue
			}
			if host == "" {
				anyHost = true
			} else if !seenHost[host] {
				seenHost[host] = true
				if len(out.Hosts) < maxHosts {
					out.Hosts = append(out.Hosts, host)
				} else {
					dropped++
				}
			}
			if !seenBase[base] {
				seenBase[base] = true
				if len(out.BasePaths) < maxBasePaths {
					out.BasePaths = append(out.BasePaths, base)
				} else {
					dropped++
				}
			}
		}
	}
	if dropped > 0 {
		l.warn("%s: more than %d hosts or %d base paths: %d ignored", where, maxHosts, maxBasePaths, dropped)
	}
	if anyHost {
		// One server that applies to every host makes the spec apply
		// to every host: the named hosts are covered by it.
		out.Hosts = nil
	}
	if len(out.BasePaths) == 0 {
		out.BasePaths = []string{""}
	}
	return out
}

// expand substitutes server variables: the default first, then the other
// enum values (each a real deployment, such as a region), bounded by
// maxServerURLs.
func expand(u string, vars map[string]any) []string {
	out := []string{u}
	if len(vars) == 0 || !strings.Contains(u, "{") {
		return out
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		ph := "{" + name + "}"
		if !strings.Contains(u, ph) {
			continue
		}
		v := obj(vars[name])
		values := []string{scalar(v["default"])}
		if enum, ok := v["enum"].([]any); ok {
			for _, e := range enum {
				if s := scalar(e); s != values[0] {
					values = append(values, s)
				}
			}
		}
		next := make([]string, 0, len(out)*len(values))
		for _, o := range out {
			for _, val := range values {
				if len(next) < maxServerURLs {
					next = append(next, strings.ReplaceAll(o, ph, val))
				}
			}
		}
		out = next
	}
	return out
}

// serverURL splits a server URL into host and base path. Relative URLs
// (/v1) have no host. ok is false when the URL cannot be used (an
// unsubstituted variable in the host); the caller then treats the spec as
// applying to every host.
func (l *loader) serverURL(u, where string) (host, base string, ok bool) {
	u = strings.TrimSpace(u)
	rest := u
	switch {
	case strings.Contains(rest, "://"):
		rest = rest[strings.Index(rest, "://")+3:]
	case strings.HasPrefix(rest, "//"):
		rest = rest[2:]
	case rest == "" || strings.HasPrefix(rest, "/"):
		return "", cleanBase(rest), true
	default:
		// "api.example.com/v1": no scheme. Relative to the document in
		// theory, a forgotten scheme in practice.
		first, _, _ := strings.Cut(rest, "/")
		if !strings.ContainsAny(first, ".:") && first != "localhost" {
			return "", cleanBase("/" + rest), true
		}
	}
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:] // userinfo
	}
	host, ok = l.host(authority, where+" "+strconv.Quote(u))
	if !ok {
		return "", "", false
	}
	return host, cleanBase(path), true
}

// host normalizes an authority: lower-case, no port, no brackets, no
// trailing dot. Loopback hosts (localhost, 127.0.0.1, ::1, 0.0.0.0) are
// the placeholders of specs written for local development; taken
// literally they would match no production traffic, so they mean "every
// host" (with a warning).
func (l *loader) host(authority, where string) (string, bool) {
	h := authority
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			h = h[1:i]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "" {
		return "", true
	}
	if strings.ContainsAny(h, "{}") {
		l.warn("%s: unresolved variable in host %q: the spec applies to every host", where, h)
		return "", false
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "0.0.0.0" {
		l.warn("%s: loopback host %q taken as every host", where, h)
		return "", true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		l.warn("%s: loopback host %q taken as every host", where, h)
		return "", true
	}
	return h, true
}

// cleanBase makes a base path "" or "/x/y": decoded (requests are matched
// decoded), no trailing slash.
func cleanBase(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	p = strings.TrimRight(p, "/")
	if p != "" && p[0] != '/' {
		p = "/" + p
	}
	return p
}

// resolve follows local $refs ("#/components/parameters/owner", any JSON
// pointer into the document) up to maxRefDepth. An external $ref
// ("common.yaml#/..."), one that points nowhere, or a cycle gives nil,
// counted or warned.
func (l *loader) resolve(v any, where string) map[string]any {
	m := obj(v)
	for depth := 0; m != nil; depth++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		if depth == maxRefDepth {
			l.warn("%s: $ref chain longer than %d (a cycle?)", where, maxRefDepth)
			return nil
		}
		if !strings.HasPrefix(ref, "#") {
			l.external++
			if l.refExamples == "" {
				l.refExamples = ref
			}
			return nil
		}
		target := l.pointer(ref[1:])
		if target == nil {
			l.warn("%s: $ref %q does not resolve", where, ref)
			return nil
		}
		m = obj(target)
	}
	return nil
}

// pointer evaluates a JSON pointer (RFC 6901, from a URI fragment, so
// percent-encoded) against the document.
func (l *loader) pointer(p string) any {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	var cur any = l.root
	if p == "" {
		return cur
	}
	if p[0] != '/' {
		return nil
	}
	for _, tok := range strings.Split(p[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			m := obj(c)
			if m == nil {
				return nil
			}
			next, ok := m[tok]
			if !ok {
				return nil
			}
			cur = next
		}
	}
	return cur
}

// pathParams adds the names of the `in: path` parameters of a parameters
// list to set.
func (l *loader) pathParams(v any, where string, set map[string]bool) {
	list, _ := v.([]any)
	for i, p := range list {
		m := l.resolve(p, where+" parameters["+strconv.Itoa(i)+"]")
		if m == nil {
			continue
		}
		if scalar(m["in"]) == "path" {
			set[scalar(m["name"])] = true
		}
	}
}

// paths reads the paths object, in sorted order so that the result (and
// which of two conflicting templates wins) does not depend on map order.
func (l *loader) paths(v any) {
	ps := obj(v)
	if ps == nil {
		if v != nil {
			l.warn("paths: not an object")
		}
		return
	}
	keys := make([]string, 0, len(ps))
	for k := range ps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, p := range keys {
		if strings.HasPrefix(p, "x-") {
			continue // extension
		}
		item := l.pathItem(ps[p], p)
		if item == nil {
			continue
		}
		l.pathItemOps(p, item)
		if len(l.spec.Operations) >= maxOperations {
			l.truncatedOps++
			return
		}
	}
}

// pathItem resolves a path item, including a $ref to another one
// (#/paths/..., OpenAPI 3.1's #/components/pathItems/...); fields beside
// the $ref override the referenced ones.
func (l *loader) pathItem(v any, p string) map[string]any {
	m := obj(v)
	if m == nil {
		return nil
	}
	if _, ok := m["$ref"]; !ok {
		return m
	}
	before := l.external
	target := l.resolve(m, "paths "+strconv.Quote(p))
	if target == nil {
		if l.external > before {
			l.warn("paths %q: external $ref %v not followed: its operations are unknown", p, m["$ref"])
		}
		target = map[string]any{}
	}
	merged := make(map[string]any, len(target)+len(m))
	for k, x := range target {
		merged[k] = x
	}
	for k, x := range m {
		if k != "$ref" {
			merged[k] = x
		}
	}
	return merged
}

func (l *loader) pathItemOps(p string, item map[string]any) {
	if p == "" {
		l.warn("paths: empty path ignored")
		return
	}
	path := p
	if path[0] != '/' {
		l.badPaths++
		if l.badPathEx == "" {
			l.badPathEx = p
		}
		path = "/" + path
	}
	segs, names, ok := parseTemplate(path)
	if !ok {
		l.warn("paths %q: a segment with unbalanced braces, matched literally", p)
	}
	if len(segs) > maxSegments {
		l.deepPaths++
		if l.deepExample == "" {
			l.deepExample = p
		}
		return
	}
	if norm := normalize(segs); l.normalized[norm] == "" {
		l.normalized[norm] = p
	} else {
		// /users/{id} and /users/{name}: the same route twice.
		l.dupTemplates++
		if l.dupExample == "" {
			l.dupExample = l.normalized[norm] + " and " + p
		}
	}
	where := "paths " + strconv.Quote(p)
	declared := make(map[string]bool)
	l.pathParams(item["parameters"], where, declared)
	var itemServers *Servers
	if !l.swagger {
		if sv, ok := item["servers"]; ok {
			itemServers = l.ownServers(sv, where)
		}
	}
	for _, method := range methods {
		ov, ok := item[method]
		if !ok {
			continue
		}
		o := obj(ov)
		if o == nil {
			l.warn("%s %s: not an object, ignored", where, method)
			continue
		}
		op := &Operation{
			Method:      strings.ToUpper(method),
			Path:        p,
			Params:      names,
			OperationID: scalar(o["operationId"]),
			Deprecated:  truthy(o["deprecated"]),
			Servers:     itemServers,
			Spec:        l.spec,
		}
		if !l.swagger {
			if sv, ok := o["servers"]; ok {
				op.Servers = l.ownServers(sv, where+" "+method)
			}
		}
		bases := op.BasePaths()
		op.Template = path
		if len(bases) > 0 {
			op.Template = joinBase(bases[0], path)
		}
		opDeclared := declared
		if _, ok := o["parameters"]; ok {
			opDeclared = make(map[string]bool, len(declared))
			for k := range declared {
				opDeclared[k] = true
			}
			l.pathParams(o["parameters"], where+" "+method, opDeclared)
		}
		l.checkParams(op, opDeclared)
		l.spec.Operations = append(l.spec.Operations, op)
		if len(l.spec.Operations) >= maxOperations {
			return
		}
	}
}

// ownServers reads path-item or operation servers. Identical ones share
// one value, so operations of a path item that repeats the document's
// servers (Twilio does on every path) do not each get a copy.
func (l *loader) ownServers(v any, where string) *Servers {
	s := l.servers(v, where+" servers")
	key := strings.Join(s.Hosts, ",") + "|" + strings.Join(s.BasePaths, ",")
	if l.serversCache == nil {
		l.serversCache = make(map[string]*Servers)
	}
	if c, ok := l.serversCache[key]; ok {
		return c
	}
	c := &s
	if key == strings.Join(l.spec.Hosts, ",")+"|"+strings.Join(l.spec.BasePaths, ",") {
		c = nil // the same as the document's: no override
	}
	l.serversCache[key] = c
	return c
}

// checkParams compares the templated path parameters with the declared
// ones; a difference is the spec's mistake, reported, never fatal.
func (l *loader) checkParams(op *Operation, declared map[string]bool) {
	templated := make(map[string]bool, len(op.Params))
	for _, n := range op.Params {
		templated[n] = true
		if !declared[n] {
			l.undeclared++
			if l.undeclaredEx == "" {
				l.undeclaredEx = op.Method + " " + op.Path + ": {" + n + "}"
			}
		}
	}
	for n := range declared {
		if !templated[n] {
			l.unused++
			if l.unusedEx == "" {
				l.unusedEx = op.Method + " " + op.Path + ": " + n
			}
		}
	}
}

// finish turns the counters into warnings: one line per kind, with an
// example, instead of a line per occurrence.
func (l *loader) finish() {
	if l.external > 0 {
		l.warn("%d external $refs not followed (first: %s)", l.external, l.refExamples)
	}
	if l.undeclared > 0 {
		l.warn("%d templated path parameters not declared `in: path` (first: %s)", l.undeclared, l.undeclaredEx)
	}
	if l.unused > 0 {
		l.warn("%d `in: path` parameters not in the template (first: %s)", l.unused, l.unusedEx)
	}
	if l.badPaths > 0 {
		l.warn("%d paths without a leading slash, taken as if they had one (first: %q)", l.badPaths, l.badPathEx)
	}
	if l.dupTemplates > 0 {
		l.warn("%d paths repeat another's route with other parameter names (first: %s); the first in sorted order is matched", l.dupTemplates, l.dupExample)
	}
	if l.deepPaths > 0 {
		l.warn("%d paths deeper than %d segments ignored (first: %q)", l.deepPaths, maxSegments, l.deepExample)
	}
	if l.truncatedOps > 0 {
		l.warn("more than %d operations: the rest ignored", maxOperations)
	}
	if l.dropped > 0 {
		l.warns = append(l.warns, fmt.Sprintf("%d more warnings", l.dropped))
	}
	l.spec.Warnings = l.warns
}

// joinBase puts a template under a base path: "/v1" + "/users" is
// "/v1/users", "/v1" + "/" is "/v1/".
func joinBase(base, path string) string {
	if base == "" {
		return path
	}
	return base + path
}
