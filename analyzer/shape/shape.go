// Package shape infers a JSON Schema from the bodies seen at one place (a
// response body of an endpoint, say), in bounded memory, with summaries that
// merge: the analyzer can observe on several instances or batches and merge
// the results, and the same set of observations gives the same Shape in any
// order and any merge tree.
//
// A Shape is a tree of nodes, one per path (root, property, array items),
// each counting the JSON types seen there, the string formats that every
// string matched, and how many complete parent objects had the property.
//
// Bounds, and why they keep merging exact: a Shape keeps at most MaxNodes
// paths, and which ones is a function of the set of paths seen, not of the
// order: the MaxNodes smallest in the order (depth, then path from the root,
// array items before properties, names byte-wise). That is a bottom-k set,
// which is mergeable: bottom-k(A ∪ B) = bottom-k(bottom-k(A) ∪ bottom-k(B)),
// and a path once out never comes back. A parent sorts before its children,
// so the kept paths form a tree, and the largest kept path is always a leaf.
// The values of a property that is not kept are counted (type and format,
// not structure) in its parent's overflow, which becomes additionalProperties;
// an evicted property's counts move there too, so every value is counted
// exactly once in either place. MaxProperties and MaxDepth are applied when
// rendering or scanning, as functions of the same data, and arrays are
// sampled by position (the first MaxItems elements of each array value).
package shape

import (
	"sort"
	"sync"
	"unicode/utf8"
)

// Defaults for the zero fields of a Shape.
const (
	DefaultRequiredRatio = 0.95
	DefaultMaxDepth      = 8
	DefaultMaxProperties = 200
	DefaultMaxItems      = 32
	DefaultMaxNodes      = 1000

	// maxName: longer property names are counted in the overflow, not kept:
	// a name that long is data (a dictionary key), and it bounds node memory.
	maxName = 256
)

// Shape summarizes the JSON values (and XML root elements) seen at one
// place. The zero value is ready to use with the default limits; set the
// limit fields before the first observation, and merge only Shapes with the
// same limits (Merge applies the receiver's). RequiredRatio is read only by
// Schema and may change at any time. A Shape is not safe for concurrent use.
type Shape struct {
	// RequiredRatio: a property is required when it is present in at least
	// this fraction of the complete objects seen at its place (default 0.95).
	RequiredRatio float64
	// MaxDepth: the deepest level whose members are recorded; the root
	// value is depth 0 (default 8). Deeper containers count as a type only.
	MaxDepth int
	// MaxProperties: the properties per object in the schema (default 200);
	// the rest of the names are represented by additionalProperties.
	MaxProperties int
	// MaxItems: the elements sampled from the start of each array value
	// (default 32).
	MaxItems int
	// MaxNodes: the paths kept per Shape (default 1000), a few hundred bytes
	// each.
	MaxNodes int

	root  *node
	nodes int     // kept paths, the root excluded
	heap  []*node // max-heap of kept paths in key order: the next to evict on top
	json  uint64  // JSON observations
	xml   xmlRoots
	// serial numbers complete objects so that a property given twice in one
	// object counts as present once.
	serial  uint64
	scratch []byte
}

// stats counts values of one path. The zero value is empty.
type stats struct {
	n, null, boolean, integer, number, str, object, array uint64
	// notFormats has the formats some string did not match: the format of a
	// path is one that every string matched. A bit once set stays set, so a
	// path stops testing a format at the first string that fails it.
	notFormats format
}

func (s *stats) add(o *stats) {
	s.n += o.n
	s.null += o.null
	s.boolean += o.boolean
	s.integer += o.integer
	s.number += o.number
	s.str += o.str
	s.object += o.object
	s.array += o.array
	s.notFormats |= o.notFormats
}

type node struct {
	stats       // the values at this path
	over  stats // the values of this object's properties that are not kept
	// present counts the complete parent objects that had this property;
	// closed counts this path's complete objects (the required ratio's
	// denominator). Objects cut short by a capped body count for neither:
	// a property missing after the cut says nothing.
	present, closed uint64
	stamp           uint64 // serial of the last complete object that had this property

	parent *node
	name   string
	items  bool // this path is its parent's array elements
	depth  uint8
	heapAt int32
	hint   int32 // the index in props where the next property is likely to be
	at     int32 // this property's index in its parent's props

	props []*node          // kept properties, in the order first seen
	index map[string]*node // props by name, once there are many
	elems *node            // kept array items
}

const indexAt = 12 // props are looked up through a map beyond this many

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// ObserveJSON adds a JSON body. It returns false, recording nothing, if data
// is not JSON. A body that ends inside the root value (a capped body) is
// recorded as far as it goes: the possibly cut last token is dropped, and the
// objects left open do not count toward required properties.
func (s *Shape) ObserveJSON(data []byte) bool {
	sc := scanners.Get().(*scanner)
	ok := sc.scan(data, s.maxDepth(), s.limit(s.MaxItems, DefaultMaxItems))
	if ok && len(sc.ev) > 0 {
		s.init()
		s.json++
		s.value(s.root, sc.ev, 0, data)
	}
	if cap(sc.ev) <= 1<<16 && cap(sc.stack) <= 1<<12 {
		scanners.Put(sc) // a scanner that grew on a huge body is left to the GC
	}
	return ok
}

// Count is the number of bodies observed, JSON and XML.
func (s *Shape) Count() uint64 { return s.json + s.xml.total() }

func (s *Shape) init() {
	if s.root == nil {
		s.root = &node{heapAt: -1}
	}
}

func (s *Shape) limit(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (s *Shape) maxDepth() int {
	d := s.limit(s.MaxDepth, DefaultMaxDepth)
	if d > 250 {
		d = 250 // node.depth is a byte
	}
	return d
}

// value records the value starting at ev[i] in n and returns the index of
// the event after it.
func (s *Shape) value(n *node, ev []event, i int, data []byte) int {
	e := ev[i]
	n.n++
	switch e.kind {
	case evNull:
		n.null++
	case evBool:
		n.boolean++
	case evInt:
		n.integer++
	case evNumber:
		n.number++
	case evString:
		n.str++
		n.notFormats = s.formats(n.notFormats, e, data)
	case evObject:
		n.object++
		n.hint = 0 // properties tend to come in the same order every time
		complete := e.b >= 0
		var serial uint64
		if complete {
			n.closed++
			s.serial++
			serial = s.serial
		}
		i++
		for i+1 < len(ev) && ev[i].kind == evName { // a name at the very end lost its value to the cut
			c := s.prop(n, s.text(ev[i], data))
			i++
			if c == nil {
				n.over.n++
				i = s.flat(&n.over, ev, i, data)
				continue
			}
			if complete && c.stamp != serial {
				c.present++
				c.stamp = serial
			}
			i = s.value(c, ev, i, data)
		}
		return min(i+1, len(ev)) // past evEnd, or the end of a cut body
	case evArray:
		n.array++
		i++
		for i < len(ev) && ev[i].kind != evEnd {
			if c := s.elems(n); c != nil {
				i = s.value(c, ev, i, data)
			} else {
				i = skip(ev, i)
			}
		}
		return min(i+1, len(ev))
	}
	return i + 1
}

// flat counts the value at ev[i] in st (type and format, no structure) and
// returns the index after it. The caller counts st.n.
func (s *Shape) flat(st *stats, ev []event, i int, data []byte) int {
	switch e := ev[i]; e.kind {
	case evNull:
		st.null++
	case evBool:
		st.boolean++
	case evInt:
		st.integer++
	case evNumber:
		st.number++
	case evString:
		st.str++
		st.notFormats = s.formats(st.notFormats, e, data)
	case evObject:
		st.object++
	case evArray:
		st.array++
	}
	return skip(ev, i)
}

func skip(ev []event, i int) int {
	if k := ev[i].kind; k == evObject || k == evArray {
		if ev[i].b < 0 {
			return len(ev)
		}
		return int(ev[i].b) + 1
	}
	return i + 1
}

// text is the decoded bytes of a name or string event, valid until the next
// call.
func (s *Shape) text(e event, data []byte) []byte {
	raw := data[e.a:e.b]
	if !e.esc {
		return raw
	}
	s.scratch = unescape(s.scratch[:0], raw)
	return s.scratch
}

func (s *Shape) formats(not format, e event, data []byte) format {
	if not == allFormats {
		return not
	}
	return not | (allFormats &^ detect(s.text(e, data), allFormats&^not))
}

// prop finds or admits the property name of n; nil if it is not kept.
func (s *Shape) prop(n *node, name []byte) *node {
	if h := int(n.hint); h < len(n.props) && n.props[h].name == string(name) {
		n.hint++
		return n.props[h]
	}
	if n.index != nil {
		if c := n.index[string(name)]; c != nil {
			n.hint = c.at + 1
			return c
		}
	} else {
		for k, c := range n.props {
			if c.name == string(name) {
				n.hint = int32(k + 1)
				return c
			}
		}
	}
	if len(name) > maxName || !utf8.Valid(name) {
		return nil // and never kept: the rule depends on the name alone
	}
	if !s.room(n, false, name) {
		return nil
	}
	c := &node{parent: n, name: string(name), depth: n.depth + 1, at: int32(len(n.props))}
	n.props = append(n.props, c)
	n.hint = int32(len(n.props))
	if n.index != nil {
		n.index[c.name] = c
	} else if len(n.props) > indexAt {
		n.index = make(map[string]*node, 2*len(n.props))
		for _, p := range n.props {
			n.index[p.name] = p
		}
	}
	s.push(c)
	return c
}

// elems finds or admits the array items of n; nil if they are not kept.
func (s *Shape) elems(n *node) *node {
	if n.elems != nil {
		return n.elems
	}
	if !s.room(n, true, nil) {
		return nil
	}
	n.elems = &node{parent: n, items: true, depth: n.depth + 1}
	s.push(n.elems)
	return n.elems
}

// room makes room for a new path under parent and reports whether it is
// kept: when the Shape is full it is kept only if it sorts before the
// largest kept path, which is evicted.
func (s *Shape) room(parent *node, items bool, name []byte) bool {
	if s.nodes < s.limit(s.MaxNodes, DefaultMaxNodes) {
		return true
	}
	if len(s.heap) == 0 {
		return false
	}
	top := s.heap[0]
	if cmpNew(parent, items, name, top) > 0 {
		return false
	}
	s.evict(top)
	return true
}

// evict drops the leaf m; its own counts move to its parent's overflow.
func (s *Shape) evict(m *node) {
	s.heapRemove(m)
	p := m.parent
	if m.items {
		p.elems = nil // the elements' counts go nowhere, as for elements never kept
		return
	}
	p.over.add(&m.stats)
	p.props = append(p.props[:m.at], p.props[m.at+1:]...)
	for _, c := range p.props[m.at:] {
		c.at--
	}
	if p.index != nil {
		delete(p.index, m.name)
	}
}

// Merge adds the observations of o to s. The result is the same as if s had
// observed o's bodies itself, given the same limits. o is not changed.
func (s *Shape) Merge(o *Shape) {
	if o == nil {
		return
	}
	if o == s {
		c := &Shape{MaxDepth: s.MaxDepth, MaxItems: s.MaxItems, MaxNodes: s.MaxNodes}
		c.Merge(s)
		o = c
	}
	s.xml.merge(&o.xml)
	if o.root == nil {
		return
	}
	s.init()
	s.json += o.json
	s.mergeNode(s.root, o.root)
}

func (s *Shape) mergeNode(dst, src *node) {
	dst.stats.add(&src.stats)
	dst.over.add(&src.over)
	dst.present += src.present
	dst.closed += src.closed
	if int(dst.depth) >= s.maxDepth() {
		return // o had deeper limits: what is below is not recorded here
	}
	for _, sc := range src.props {
		if c := s.prop(dst, []byte(sc.name)); c != nil {
			s.mergeNode(c, sc)
		} else {
			dst.over.add(&sc.stats)
		}
	}
	if src.elems != nil {
		if c := s.elems(dst); c != nil {
			s.mergeNode(c, src.elems)
		}
	}
}

// cmpNodes orders paths: by depth, then component by component from the
// root, array items before any property, properties by name byte-wise.
func cmpNodes(a, b *node) int {
	if a.depth != b.depth {
		if a.depth < b.depth {
			return -1
		}
		return 1
	}
	return cmpLevel(a, b)
}

// cmpLevel orders two paths of the same depth.
func cmpLevel(a, b *node) int {
	if a == b {
		return 0
	}
	if a.parent != b.parent {
		return cmpLevel(a.parent, b.parent)
	}
	return cmpComponent(a.items, a.name, b.items, b.name)
}

// cmpNew orders the path not yet kept (parent, items or name) against m.
func cmpNew(parent *node, items bool, name []byte, m *node) int {
	d := parent.depth + 1
	switch {
	case d < m.depth:
		return -1
	case d > m.depth:
		return 1
	case parent != m.parent:
		return cmpLevel(parent, m.parent)
	}
	return cmpComponent(items, string(name), m.items, m.name)
}

func cmpComponent(ai bool, an string, bi bool, bn string) int {
	switch {
	case ai && bi:
		return 0
	case ai:
		return -1
	case bi:
		return 1
	case an < bn:
		return -1
	case an > bn:
		return 1
	}
	return 0
}

// The heap holds every kept path but the root, largest on top.

func (s *Shape) push(n *node) {
	s.nodes++
	n.heapAt = int32(len(s.heap))
	s.heap = append(s.heap, n)
	s.up(int(n.heapAt))
}

func (s *Shape) heapRemove(n *node) {
	s.nodes--
	i := int(n.heapAt)
	last := len(s.heap) - 1
	if i != last {
		s.swap(i, last)
	}
	s.heap[last] = nil
	s.heap = s.heap[:last]
	n.heapAt = -1
	if i != last {
		s.down(i)
		s.up(i)
	}
}

func (s *Shape) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.heap[i].heapAt = int32(i)
	s.heap[j].heapAt = int32(j)
}

func (s *Shape) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if cmpNodes(s.heap[i], s.heap[p]) <= 0 {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *Shape) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(s.heap) {
			return
		}
		big := l
		if r := l + 1; r < len(s.heap) && cmpNodes(s.heap[r], s.heap[l]) > 0 {
			big = r
		}
		if cmpNodes(s.heap[big], s.heap[i]) <= 0 {
			return
		}
		s.swap(i, big)
		i = big
	}
}

// sortedProps is n's kept properties by name.
func sortedProps(n *node) []*node {
	ps := append([]*node(nil), n.props...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].name < ps[j].name })
	return ps
}
