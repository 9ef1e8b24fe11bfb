package spec

import (
	"sort"
	"strings"
)

// segment is one "/"-separated piece of a template: a literal, or a
// pattern of literal pieces around parameters ({id}, {Sid}.json,
// v{version}, {base}...{head}).
type segment struct {
	lit    string
	pieces []string // nil for a literal; else len(names)+1 literal pieces
	names  []string
}

// parseTemplate splits a template ("/users/{id}/") into segments. The
// leading slash and one trailing slash are dropped, as in matching, so
// "/" has no segments. ok is false when a segment has unbalanced braces;
// such a segment is taken literally.
func parseTemplate(t string) (segs []segment, names []string, ok bool) {
	ok = true
	t = trimPath(t)
	if t == "" {
		return nil, nil, true
	}
	for _, s := range strings.Split(t, "/") {
		seg, good := parseSegment(s)
		ok = ok && good
		names = append(names, seg.names...)
		segs = append(segs, seg)
	}
	return segs, names, ok
}

// trimPath drops the leading slash and one trailing slash.
func trimPath(p string) string {
	p = strings.TrimPrefix(p, "/")
	return strings.TrimSuffix(p, "/")
}

func parseSegment(s string) (segment, bool) {
	if !strings.ContainsAny(s, "{}") {
		return segment{lit: s}, true
	}
	var seg segment
	rest := s
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return segment{lit: s}, false
			}
			seg.pieces = append(seg.pieces, rest)
			return seg, true
		}
		end := strings.IndexByte(rest[open+1:], '}')
		if end < 0 || strings.IndexByte(rest[:open], '}') >= 0 ||
			strings.IndexByte(rest[open+1:open+1+end], '{') >= 0 {
			return segment{lit: s}, false
		}
		seg.pieces = append(seg.pieces, rest[:open])
		seg.names = append(seg.names, rest[open+1:open+1+end])
		rest = rest[open+1+end+1:]
	}
}

// key identifies a segment's shape regardless of parameter names:
// "{}.json" for {Sid}.json, so /a/{x} and /a/{y} share a trie node.
func (s *segment) key() string {
	if s.pieces == nil {
		return s.lit
	}
	return strings.Join(s.pieces, "{}")
}

// normalize is a template's route regardless of parameter names.
func normalize(segs []segment) string {
	var b strings.Builder
	for i := range segs {
		b.WriteByte('/')
		if segs[i].pieces == nil {
			b.WriteString(segs[i].lit)
		} else {
			b.WriteString("\x00" + segs[i].key()) // cannot collide with a literal
		}
	}
	return b.String()
}

// pattern is a parameter segment in the trie.
type pattern struct {
	key    string
	pieces []string
	min    int // shortest matching segment: the literals plus a byte per parameter
	lits   int // literal bytes: more is more specific
	next   *node
}

// match reports whether seg fits the pattern: the literal pieces in order,
// each parameter at least one byte. Taking the leftmost occurrence of each
// middle piece is enough: if any split fits, that one does.
func (p *pattern) match(seg string) bool {
	if len(seg) < p.min {
		return false
	}
	n := len(p.pieces) - 1
	pre, suf := p.pieces[0], p.pieces[n]
	if !strings.HasPrefix(seg, pre) || !strings.HasSuffix(seg, suf) {
		return false
	}
	mid := seg[len(pre) : len(seg)-len(suf)]
	for _, piece := range p.pieces[1:n] {
		if len(mid) == 0 {
			return false
		}
		j := strings.Index(mid[1:], piece)
		if j < 0 {
			return false
		}
		mid = mid[1+j+len(piece):]
	}
	return len(mid) > 0
}

// split is match returning the parameter values.
func split(pieces []string, seg string) ([]string, bool) {
	n := len(pieces) - 1
	pre, suf := pieces[0], pieces[n]
	if len(seg) < len(pre)+len(suf)+n || !strings.HasPrefix(seg, pre) || !strings.HasSuffix(seg, suf) {
		return nil, false
	}
	mid := seg[len(pre) : len(seg)-len(suf)]
	vals := make([]string, 0, n)
	for _, piece := range pieces[1:n] {
		if len(mid) == 0 {
			return nil, false
		}
		j := strings.Index(mid[1:], piece)
		if j < 0 {
			return nil, false
		}
		vals = append(vals, mid[:1+j])
		mid = mid[1+j+len(piece):]
	}
	if len(mid) == 0 {
		return nil, false
	}
	return append(vals, mid), true
}

// Method indexes: a fixed table per trie node instead of a map.
const (
	mGet = iota
	mPut
	mPost
	mDelete
	mOptions
	mHead
	mPatch
	mTrace
	mQuery
	nMethods
)

func methodIndex(m string) int {
	switch m {
	case "GET":
		return mGet
	case "POST":
		return mPost
	case "PUT":
		return mPut
	case "DELETE":
		return mDelete
	case "PATCH":
		return mPatch
	case "HEAD":
		return mHead
	case "OPTIONS":
		return mOptions
	case "TRACE":
		return mTrace
	case "QUERY":
		return mQuery
	}
	for i, name := range methods {
		if strings.EqualFold(m, name) {
			return i
		}
	}
	return -1
}

// entry is what a route resolves to.
type entry struct {
	op       *Operation
	template string // the full template matched: base path + path
}

// litLinear is the child count up to which literal children are scanned
// in a slice; above it a map is faster.
const litLinear = 8

// node is a trie node: one per distinct route prefix.
type node struct {
	lits     []litEdge
	litMap   map[string]*node
	patterns []*pattern // most specific first; plain {x} last
	ops      [nMethods]entry
}

type litEdge struct {
	seg  string
	next *node
}

func (n *node) child(seg string) *node {
	if n.litMap != nil {
		return n.litMap[seg]
	}
	for i := range n.lits {
		if n.lits[i].seg == seg {
			return n.lits[i].next
		}
	}
	return nil
}

func (n *node) addChild(s *segment) *node {
	if s.pieces == nil {
		if c := n.child(s.lit); c != nil {
			return c
		}
		c := &node{}
		n.lits = append(n.lits, litEdge{s.lit, c})
		if n.litMap != nil {
			n.litMap[s.lit] = c
		} else if len(n.lits) > litLinear {
			n.litMap = make(map[string]*node, len(n.lits))
			for _, e := range n.lits {
				n.litMap[e.seg] = e.next
			}
		}
		return c
	}
	key := s.key()
	for _, p := range n.patterns {
		if p.key == key {
			return p.next
		}
	}
	p := &pattern{key: key, pieces: s.pieces, next: &node{}}
	for _, piece := range s.pieces {
		p.lits += len(piece)
	}
	p.min = p.lits + len(s.names)
	n.patterns = append(n.patterns, p)
	// More literal bytes first ({Sid}.json before {Sid}), then fewer
	// parameters; stable, so equal ones keep their insertion order.
	sort.SliceStable(n.patterns, func(i, j int) bool {
		a, b := n.patterns[i], n.patterns[j]
		if a.lits != b.lits {
			return a.lits > b.lits
		}
		return len(a.pieces) < len(b.pieces)
	})
	return p.next
}

// entry returns the operation for method index mi at this node; HEAD
// falls back to GET, as HTTP servers answer HEAD for every GET.
func (n *node) entry(mi int) *entry {
	if e := &n.ops[mi]; e.op != nil {
		return e
	}
	if mi == mHead && n.ops[mGet].op != nil {
		return &n.ops[mGet]
	}
	return nil
}

// find matches the rest of a path (after a '/') depth-first: the literal
// child before the patterns, so /users/me beats /users/{id}; when the more
// specific branch has no operation for the method further down, the next
// one is tried. Every trie node is visited at most once, so the work is
// bounded by the trie, whatever the path.
func (n *node) find(p string, mi int) *entry {
	seg, rest := p, ""
	last := true
	if i := strings.IndexByte(p, '/'); i >= 0 {
		seg, rest, last = p[:i], p[i+1:], false
	}
	if c := n.child(seg); c != nil {
		if e := c.step(rest, last, mi); e != nil {
			return e
		}
	}
	if seg == "" {
		return nil // a parameter is never empty
	}
	for _, pt := range n.patterns {
		if pt.match(seg) {
			if e := pt.next.step(rest, last, mi); e != nil {
				return e
			}
		}
	}
	return nil
}

func (n *node) step(rest string, last bool, mi int) *entry {
	if last {
		return n.entry(mi)
	}
	return n.find(rest, mi)
}

// table is the trie of one host, with the operations that own a route in
// it.
type table struct {
	root node
	ops  []*Operation
}

// Match is a request matched to an operation.
type Match struct {
	Op *Operation
	// Template is the full template that matched: Op.Template, or the
	// same path under another of the operation's base paths.
	Template string
}

// Params returns the path parameter values of path (the one matched)
// by name. It allocates; the matching itself does not.
func (m Match) Params(path string) map[string]string {
	segs, _, _ := parseTemplate(m.Template)
	p := trimPath(path)
	if p == "" && len(segs) == 0 {
		return map[string]string{}
	}
	parts := strings.Split(p, "/")
	if len(parts) != len(segs) {
		return nil
	}
	out := make(map[string]string)
	for i := range segs {
		if segs[i].pieces == nil {
			if segs[i].lit != parts[i] {
				return nil
			}
			continue
		}
		vals, ok := split(segs[i].pieces, parts[i])
		if !ok {
			return nil
		}
		for j, name := range segs[i].names {
			out[name] = vals[j]
		}
	}
	return out
}

// Matcher matches requests to the operations of a set of specs. It is
// read-only once built, so any number of goroutines may use it.
type Matcher struct {
	hosts    map[string]*table // a host named by some spec
	any      *table            // every other host: host-less specs only
	shadowed []*Operation
}

type route struct {
	host string // "" = every host
	segs []segment
	tmpl string
	op   *Operation
}

// NewMatcher builds the tries. Each operation gets a route per host and
// base path it is served on; a host's trie holds the routes of its own
// specs and of every host-less spec. When two operations have the same
// route and method (the same spec loaded twice, /users/{id} beside
// /users/{name}), the first in spec order, then operation order, owns it.
func NewMatcher(specs []*Spec) *Matcher {
	var routes []route
	for _, s := range specs {
		for _, op := range s.Operations {
			if methodIndex(op.Method) < 0 {
				continue
			}
			hosts, bases := op.Hosts(), op.BasePaths()
			if len(bases) == 0 {
				bases = []string{""}
			}
			for _, base := range bases {
				tmpl := joinBase(base, opPath(op))
				segs, _, _ := parseTemplate(tmpl)
				if len(segs) > maxSegments {
					continue
				}
				if len(hosts) == 0 {
					routes = append(routes, route{"", segs, tmpl, op})
				}
				for _, h := range hosts {
					routes = append(routes, route{h, segs, tmpl, op})
				}
			}
		}
	}
	// Route indexes per host, in order; a host's trie takes its own and
	// the host-less ones, merged in the original order.
	var anyRoutes []int
	byHost := make(map[string][]int)
	var hostOrder []string
	for i := range routes {
		h := routes[i].host
		if h == "" {
			anyRoutes = append(anyRoutes, i)
			continue
		}
		if byHost[h] == nil {
			hostOrder = append(hostOrder, h)
		}
		byHost[h] = append(byHost[h], i)
	}
	m := &Matcher{hosts: make(map[string]*table, len(byHost))}
	owned := make(map[*Operation]bool)
	build := func(own []int) *table {
		t := &table{}
		in := make(map[*Operation]bool)
		add := func(r *route) {
			n := &t.root
			for j := range r.segs {
				n = n.addChild(&r.segs[j])
			}
			mi := methodIndex(r.op.Method)
			if n.ops[mi].op == nil {
				n.ops[mi] = entry{r.op, r.tmpl}
				owned[r.op] = true
				if !in[r.op] {
					in[r.op] = true
					t.ops = append(t.ops, r.op)
				}
			}
		}
		a, b := own, anyRoutes
		for len(a) > 0 || len(b) > 0 {
			if len(b) == 0 || len(a) > 0 && a[0] < b[0] {
				add(&routes[a[0]])
				a = a[1:]
			} else {
				add(&routes[b[0]])
				b = b[1:]
			}
		}
		return t
	}
	for _, h := range hostOrder {
		m.hosts[h] = build(byHost[h])
	}
	if len(anyRoutes) > 0 {
		m.any = build(nil)
	}
	seen := make(map[*Operation]bool)
	for _, s := range specs {
		for _, op := range s.Operations {
			if !owned[op] && !seen[op] {
				seen[op] = true
				m.shadowed = append(m.shadowed, op)
			}
		}
	}
	return m
}

// opPath is the operation's path with the leading slash the loader
// assumes.
func opPath(op *Operation) string {
	if strings.HasPrefix(op.Path, "/") {
		return op.Path
	}
	return "/" + op.Path
}

// Match returns the documented operation a request is for. host is
// lower-case without port; path is decoded, without the query. It does
// not allocate.
func (m *Matcher) Match(host, method, path string) (*Operation, bool) {
	e := m.lookup(host, method, path)
	if e == nil {
		return nil, false
	}
	return e.op, true
}

// Lookup is Match that also says which template matched.
func (m *Matcher) Lookup(host, method, path string) (Match, bool) {
	e := m.lookup(host, method, path)
	if e == nil {
		return Match{}, false
	}
	return Match{Op: e.op, Template: e.template}, true
}

func (m *Matcher) lookup(host, method, path string) *entry {
	t := m.any
	if h, ok := m.hosts[host]; ok {
		t = h
	}
	if t == nil {
		return nil
	}
	mi := methodIndex(method)
	if mi < 0 {
		return nil
	}
	if path == "" {
		path = "/"
	}
	if path[0] != '/' {
		return nil // "*" of OPTIONS *, or not a path
	}
	p := path[1:]
	if p == "" {
		return t.root.entry(mi)
	}
	if p[len(p)-1] == '/' {
		p = p[:len(p)-1] // trailing slash tolerated
		if p == "" {
			return nil // "//"
		}
	}
	return t.root.find(p, mi)
}

// Documents reports whether some spec applies to host (a host-less spec
// applies to every host).
func (m *Matcher) Documents(host string) bool {
	return m.any != nil || m.hosts[host] != nil
}

// Operations returns every operation that can be matched on host, in spec
// then operation order: the ones to look for when asking which documented
// operations were never called. Operations whose every route another one
// owns (see Shadowed) are left out, since no request can reach them. The
// slice is shared: do not modify it.
func (m *Matcher) Operations(host string) []*Operation {
	if t, ok := m.hosts[host]; ok {
		return t.ops
	}
	if m.any != nil {
		return m.any.ops
	}
	return nil
}

// Shadowed returns the operations that own no route: another operation
// with the same method and route (parameter names aside) came first.
func (m *Matcher) Shadowed() []*Operation { return m.shadowed }
