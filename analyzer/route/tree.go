package route

// The path tree of one host.
//
// Raw nodes hold what was observed: a word segment (users, octocat) gets
// its own child; segments of an identifier class (42, a UUID) share one
// pooled child per position, since they are parameters whatever happens.
//
// A position whose word children the statistics call a parameter (see
// wantParam) gets an overlay: node.param, the merge of all its word
// children and the class pool, as if they had been one value from the
// start. Deeper positions are judged on the overlay, so the branches
// under /repos/{owner}/{repo} pool the traffic of every repository
// instead of each repository alone. The raw children are kept and keep
// learning (a value that stays static, like /users/me, is still walked
// through its own subtree), and when the statistics turn back the overlay
// is dropped. Overlays are built from the raw tree and then maintained
// observation by observation, so their content — and every decision — is a
// function of the multiset of observed paths, never of their order (up to
// the caps, whose overflow is counted).

type nodeKind uint8

const (
	kindRoot  nodeKind = iota
	kindWord           // a word child: words[label]
	kindClass          // the pooled class-valued child
	kindParam          // an overlay (param)
	kindExt            // a format extension (.json) after a segment
)

// why a word position is a parameter (node.why)
const (
	whyNone uint8 = iota
	whyRule
	whyCollapsed
	whyCardinality
	whyStructure
)

type node struct {
	words map[string]*node // word children (nil until the first)
	class *node            // pooled class-valued children
	param *node            // overlay: the merged child when the word position is a parameter
	exts  []*node          // format extensions of this segment (.json)
	// gc counts, per word grandchild label, how many countable word
	// children have it. A position whose children share their children
	// (every namespace has pods, services…) is a parameter even at low
	// cardinality.
	gc map[string]int32
	// top holds the most visited countable word children, most first
	// (ties by label, so the order of arrival does not matter): the
	// candidates for staying static beside parameter values.
	top   [4]*node
	rules []ruleState // rule patterns alive here (nil without rules)
	label string

	hits     uint64 // observations that reached this node
	d        int32  // countable word children (not fixed labels)
	n1       int32  // countable word children seen once
	cg       int32  // countable word children that have word children
	pl       int32  // … of them with plural labels
	pc       int32  // countable word children that are collections (syncCollection)
	ppl      int32  // … of them with plural labels (pods, deployments)
	topDF    int32  // max over gc (gc only grows)
	wordHits uint64 // hits of the countable word children
	depth    uint16 // segments from the root (the root 0, a first segment 1)
	kind     nodeKind
	why      uint8 // why words here are parameters (whyNone: they are not)
	fixed    bool  // a version or API prefix label: never a parameter
	prefix   bool  // root, or a fixed node whose ancestors are all fixed
	full     bool  // collapsed: MaxChildren word children, new values not tracked
	pruned   bool  // full, and what it no longer needs freed (prune)
	forced   bool  // a rule forces a parameter here
	shadow   bool  // under a parameter position's raw values: its overlay stands for it
	coll     bool  // counted in the parent's pc
	owner    *node // the position an overlay pools (kindParam)
	rec      int32 // overlays: countable words found under two or more of the owner's values
}

type tree struct {
	root  *node
	nodes int
	// vals counts, per word label, the positions holding it as a value
	// (parameter positions) and as a static segment, over the whole tree.
	// A label that is mostly a value elsewhere (a username, a pod's app
	// name) makes a sparse position of such labels a parameter
	// (knownValues), where its own few values prove nothing.
	vals map[string]valStat
}

type valStat struct{ v, s int32 }

// count adds sign to label's count as a value (param) or static segment.
func (t *tree) count(label string, param bool, sign int32) {
	st := t.vals[label]
	if param {
		st.v += sign
	} else {
		st.s += sign
	}
	if st.v == 0 && st.s == 0 {
		delete(t.vals, label)
	} else {
		t.vals[label] = st
	}
}

// account adds sign times n's word children to vals. Shadowed nodes do
// not count: the raw values of a parameter position are walked through
// its overlay, and their sparse statistics would only add noise.
func (t *tree) account(n *node, sign int32) {
	if n.shadow {
		return
	}
	for label, c := range n.words {
		if !c.fixed {
			t.count(label, n.param != nil, sign)
		}
	}
}

// valueLike reports a label that is a value at two parameter positions
// or more, and more often a value than static.
func (t *tree) valueLike(label string) bool {
	st := t.vals[label]
	return st.v >= 2 && st.v > st.s
}

// countable reports a word child that counts in its parent's statistics.
func (c *node) countable() bool { return c.kind == kindWord && !c.fixed }

func (l *Learner) newNode(t *tree, kind nodeKind, label string, depth uint16, from *node, edgeParam bool) *node {
	if t.nodes >= l.cfg.MaxNodesPerHost || l.nodes >= l.cfg.MaxNodes {
		return nil
	}
	t.nodes++
	l.nodes++
	n := &node{kind: kind, label: label, depth: depth}
	if kind == kindWord {
		n.fixed = isFixed(label, int(depth)-1, from != nil && from.prefix) // depth 1: the first segment
		n.prefix = n.fixed && from != nil && from.prefix
	}
	if from != nil {
		n.shadow = from.shadow || from.param != nil && (kind == kindWord && !n.fixed || kind == kindClass)
	}
	if from != nil && len(from.rules) > 0 && kind != kindExt {
		n.rules = l.advance(from.rules, label, edgeParam)
	} else if kind == kindExt && from != nil {
		n.rules = from.rules
	}
	l.applyRules(n)
	return n
}

// wordChild returns n's word child label, creating it (nil when n is full
// or the node budget is spent). parent is n's parent when n is a word child.
func (l *Learner) wordChild(t *tree, n, parent *node, label string) *node {
	if c := n.words[label]; c != nil {
		return c
	}
	fixed := isFixed(label, int(n.depth), n.prefix)
	if n.full && !fixed {
		l.stats.Untracked++
		return nil
	}
	c := l.newNode(t, kindWord, cloneString(label), n.depth+1, n, false)
	if c == nil {
		return nil
	}
	if n.words == nil {
		n.words = make(map[string]*node, 4)
	}
	n.words[c.label] = c
	if !c.fixed {
		if !n.shadow {
			t.count(c.label, n.param != nil, 1)
		}
		if n.owner != nil && n.owner.gc[c.label] >= 2 {
			n.rec++
		}
		n.d++
		if int(n.d) >= l.cfg.MaxChildren && !n.full {
			n.full = true
			l.stats.Collapses++
		}
		if parent != nil && n.countable() && !apiWord(c.label) {
			gcAdd(parent, c.label)
			if n.d == 1 {
				parent.cg++
				if plural(n.label) {
					parent.pl++
				}
			}
		}
	}
	return c
}

func (l *Learner) classChild(t *tree, n *node) *node {
	if n.class == nil {
		n.class = l.newNode(t, kindClass, "", n.depth+1, n, true)
	}
	return n.class
}

func (l *Learner) extChild(t *tree, n *node, ext string) *node {
	for _, e := range n.exts {
		if e.label == ext {
			return e
		}
	}
	e := l.newNode(t, kindExt, cloneString(ext), n.depth, n, false)
	if e != nil {
		n.exts = append(n.exts, e)
	}
	return e
}

// rank keeps c in n.top after its hits grew.
func (n *node) rank(c *node) {
	i := 0
	for ; i < len(n.top) && n.top[i] != nil && n.top[i] != c; i++ {
	}
	if i == len(n.top) {
		i-- // not ranked: compete for the last place
		if !above(c, n.top[i]) {
			return
		}
	}
	n.top[i] = c
	for ; i > 0 && above(c, n.top[i-1]); i-- {
		n.top[i], n.top[i-1] = n.top[i-1], c
	}
}

func above(a, b *node) bool {
	return b == nil || a.hits > b.hits || a.hits == b.hits && a.label < b.label
}

func findExt(n *node, ext string) *node {
	for _, e := range n.exts {
		if e.label == ext {
			return e
		}
	}
	return nil
}

func gcAdd(p *node, label string) {
	if p.gc == nil {
		p.gc = make(map[string]int32, 4)
	}
	v := p.gc[label] + 1
	p.gc[label] = v
	if v > p.topDF {
		p.topDF = v
	}
	if v == 2 && p.param != nil {
		if c := p.param.words[label]; c != nil && !c.fixed {
			p.param.rec++
		}
	}
}

// recurring reports an overlay whose words mostly recur under several of
// the values it pools (Local.json under most countries, status under
// most pods): the static continuation of those values, not values.
func (n *node) recurring() bool { return n.kind == kindParam && n.rec*2 >= n.d }

// syncCollection keeps c's share of parent.pc (and ppl) in step with
// whether c is a collection: a parameter position itself, or a position
// whose few words were mostly seen once (values too sparse to decide).
func syncCollection(parent, c *node) {
	if parent == nil || !c.countable() {
		return
	}
	coll := c.param != nil || c.d > 0 && c.n1*2 >= c.d
	if coll == c.coll {
		return
	}
	c.coll = coll
	d := int32(1)
	if !coll {
		d = -1
	}
	parent.pc += d
	if plural(c.label) {
		parent.ppl += d
	}
}

// addShape adds a word child's own word children to its parent's gc, cg
// and pl (at finalize; observe adds them one by one).
func addShape(parent, c *node) {
	if !c.countable() || c.d == 0 {
		return
	}
	parent.cg++
	if plural(c.label) {
		parent.pl++
	}
	for label, g := range c.words {
		if !g.fixed && !apiWord(label) {
			gcAdd(parent, label)
		}
	}
}

// plural reports a label that looks like a plural collection name (pods,
// deployments, Calls): collections are rarely parameter values.
func plural(s string) bool {
	n := len(s)
	if n < 3 {
		return false
	}
	if c := lower(s[n-1]); c != 's' {
		return false
	}
	switch lower(s[n-2]) {
	case 's', 'u', 'i':
		return false // access, status, analysis
	}
	return true
}

// observe records toks[i:] below n (n itself is counted here). parent is
// n's parent when n is a word child, for the gc bookkeeping.
func (l *Learner) observe(t *tree, n, parent *node, toks []token, i int) {
	n.hits++
	if i < len(toks) {
		tk := &toks[i]
		switch tk.kind {
		case tokExt:
			if e := l.extChild(t, n, tk.s); e != nil {
				l.observe(t, e, nil, toks, i+1)
			} else {
				l.stats.NodeDrops++
			}
		case tokClass:
			if n.full && n.param != nil {
				// collapsed: the overlay holds the class values too
			} else if c := l.classChild(t, n); c != nil {
				l.observe(t, c, nil, toks, i+1)
			} else {
				l.stats.NodeDrops++
			}
			if n.param != nil {
				l.observe(t, n.param, nil, toks, i+1)
			}
		default:
			c := l.wordChild(t, n, parent, tk.s)
			if c != nil {
				old := c.hits
				if n.full && n.param != nil && !c.fixed && !n.ranked(c) {
					c.hits++ // collapsed: only the leading values keep their subtrees
				} else {
					l.observe(t, c, n, toks, i+1)
				}
				syncCollection(n, c)
				if !c.fixed {
					n.wordHits++
					n.rank(c)
					switch old {
					case 0:
						n.n1++
					case 1:
						n.n1--
					}
				}
			} else if !n.full {
				l.stats.NodeDrops++
			}
			if n.param != nil && (c == nil || !c.fixed) {
				l.observe(t, n.param, nil, toks, i+1)
			}
		}
	}
	l.decide(t, n, parent)
}

// decide re-evaluates n's word position and builds or drops its overlay.
func (l *Learner) decide(t *tree, n, parent *node) {
	why := l.wantParam(n)
	n.why = why
	if n.full && n.param != nil && !n.pruned {
		l.prune(t, n)
	}
	if (why != whyNone) == (n.param != nil) {
		return
	}
	if why != whyNone {
		w := l.newNode(t, kindParam, "", n.depth+1, n, true)
		if w != nil {
			w.owner = n
		}
		if w == nil {
			l.stats.NodeDrops++
			n.why = whyNone
			return
		}
		if n.class != nil {
			l.merge(t, w, n.class)
		}
		for _, c := range n.words {
			if !c.fixed {
				l.merge(t, w, c)
			}
		}
		l.finalize(t, w)
		t.account(n, -1)
		n.param = w
		t.account(n, 1)
		shadowValues(t, n, true)
		l.stats.Overlays++
		return
	}
	t.account(n, -1)
	l.release(t, n.param)
	n.param = nil
	t.account(n, 1)
	if !n.shadow {
		shadowValues(t, n, false)
	}
	l.stats.Unpooled++
}

// prune frees what a collapsed position no longer needs: it stays a
// parameter for good (full is permanent), so its overlay stands for its
// values, and only the values that may stay static (n.top) keep their
// subtrees. This bounds the memory of a position flooded with values.
func (l *Learner) prune(t *tree, n *node) {
	n.pruned = true
	for _, c := range n.words {
		if c.fixed || n.ranked(c) {
			continue
		}
		for _, g := range c.words {
			l.release(t, g)
		}
		l.release(t, c.class)
		l.release(t, c.param)
		for _, e := range c.exts {
			l.release(t, e)
		}
		c.words, c.class, c.param, c.exts = nil, nil, nil, nil
		c.resetStats()
		c.full, c.pruned, c.why = false, false, whyNone
	}
	l.release(t, n.class)
	n.class = nil
}

func (n *node) ranked(c *node) bool {
	for _, x := range n.top {
		if x == c {
			return true
		}
	}
	return false
}

// shadowValues (un)shadows the raw values of a parameter position n: its
// non-fixed word children and class pool.
func shadowValues(t *tree, n *node, on bool) {
	for _, c := range n.words {
		if !c.fixed {
			setShadow(t, c, on)
		}
	}
	if n.class != nil {
		setShadow(t, n.class, on)
	}
}

func setShadow(t *tree, x *node, on bool) {
	if x.shadow == on {
		return
	}
	if on {
		t.account(x, -1)
		x.shadow = true
	} else {
		x.shadow = false
		t.account(x, 1)
	}
	if on || x.param == nil {
		for _, c := range x.words {
			setShadow(t, c, on)
		}
		if x.class != nil {
			setShadow(t, x.class, on)
		}
	} else {
		for _, c := range x.words {
			if c.fixed {
				setShadow(t, c, on)
			}
		}
	}
	if x.param != nil {
		setShadow(t, x.param, on)
	}
	for _, e := range x.exts {
		setShadow(t, e, on)
	}
}

// wantParam is the decision rule of a word position (docs/templating.md).
func (l *Learner) wantParam(n *node) uint8 {
	switch {
	case n.forced:
		return whyRule
	case n.full:
		return whyCollapsed
	}
	d := int(n.d)
	if d >= l.cfg.MinDistinct && l.open(n) && !n.recurring() {
		return whyCardinality
	}
	if d >= l.cfg.MinShared && !n.prefix && (l.shared(n) || l.kinds(n)) {
		return whyStructure
	}
	return whyNone
}

// open reports an open vocabulary: many values were seen once (OpenShare
// of them), and new values keep coming (by Good–Turing the next hit brings
// a new value with a chance of about n1/H, which must reach NewShare). The
// children of a static fan-out (/v1/customers, /v1/charges…) each carry
// whole routes and are rarely seen once.
func (l *Learner) open(n *node) bool {
	n1 := uint64(n.n1)
	return n1*100 >= uint64(l.cfg.OpenShare)*uint64(n.d) && n1*1000 >= uint64(l.cfg.NewShare)*n.wordHits
}

// shared reports children that share their own children: the most common
// next segment follows at least half of the children that have one, and
// there are no more distinct next segments than such children (names
// shared by /pods and /services are values, there are many of them).
func (l *Learner) shared(n *node) bool {
	cg := int(n.cg)
	if cg < l.cfg.MinShared || len(n.gc) > cg {
		return false
	}
	top := int(n.topDF)
	return top >= l.cfg.MinShared && top*2 >= cg && int(n.pl)*2 < cg
}

// kinds reports children that are mostly parameter positions
// themselves and not plural collection names: values of a kind, each with
// its own values below (/packages/npm/{name}, /packages/maven/{name}),
// where /namespaces/{ns}/pods/{name}, /services/{name} are collections.
func (l *Learner) kinds(n *node) bool {
	pc := int(n.pc)
	return pc >= l.cfg.MinShared && pc*2 > int(n.d) && int(n.ppl)*2 < pc
}

// merge adds src's subtree (not its overlays) into dst.
func (l *Learner) merge(t *tree, dst, src *node) {
	dst.hits += src.hits
	for label, c := range src.words {
		d := dst.words[label]
		if d == nil {
			fixed := isFixed(label, int(dst.depth), dst.prefix)
			if dst.full && !fixed {
				l.stats.Untracked++
				continue
			}
			d = l.newNode(t, kindWord, label, dst.depth+1, dst, false)
			if d == nil {
				l.stats.NodeDrops++
				continue
			}
			if dst.words == nil {
				dst.words = make(map[string]*node, len(src.words))
			}
			dst.words[label] = d
			if !d.fixed {
				dst.d++
				if int(dst.d) >= l.cfg.MaxChildren {
					dst.full = true
				}
			}
		}
		l.merge(t, d, c)
	}
	if src.class != nil {
		if c := l.classChild(t, dst); c != nil {
			l.merge(t, c, src.class)
		} else {
			l.stats.NodeDrops++
		}
	}
	for _, e := range src.exts {
		if d := l.extChild(t, dst, e.label); d != nil {
			l.merge(t, d, e)
		} else {
			l.stats.NodeDrops++
		}
	}
}

// finalize computes the statistics and decisions of a freshly merged
// subtree, children first. The caller accounts n's own contribution to its
// parent.
func (l *Learner) finalize(t *tree, n *node) {
	n.resetStats()
	for _, c := range n.words {
		l.finalize(t, c)
		if c.fixed {
			continue
		}
		n.d++
		n.wordHits += uint64(c.hits)
		if c.hits == 1 {
			n.n1++
		}
		n.rank(c)
	}
	if int(n.d) >= l.cfg.MaxChildren {
		n.full = true
	}
	for _, c := range n.words {
		c.coll = false
		syncCollection(n, c)
		addShape(n, c)
		if n.owner != nil && !c.fixed && n.owner.gc[c.label] >= 2 {
			n.rec++
		}
	}
	if n.class != nil {
		l.finalize(t, n.class)
	}
	for _, e := range n.exts {
		l.finalize(t, e)
	}
	t.account(n, 1)
	l.decide(t, n, nil)
}

// resetStats clears the statistics a node keeps about its children.
func (n *node) resetStats() {
	n.d, n.n1, n.wordHits, n.gc, n.topDF, n.top = 0, 0, 0, nil, 0, [4]*node{}
	n.cg, n.pl, n.pc, n.ppl, n.rec = 0, 0, 0, 0, 0
}

// release frees an overlay's nodes from the budget.
func (l *Learner) release(t *tree, n *node) {
	if n == nil {
		return
	}
	t.nodes--
	l.nodes--
	t.account(n, -1)
	for _, c := range n.words {
		l.release(t, c)
	}
	l.release(t, n.class)
	l.release(t, n.param)
	for _, e := range n.exts {
		l.release(t, e)
	}
}

func cloneString(s string) string {
	if s == "" {
		return ""
	}
	b := make([]byte, len(s))
	copy(b, s)
	return string(b)
}
