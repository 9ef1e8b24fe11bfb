// Package route learns route templates from concrete request paths, the way
// a developer wrote the route:
//
//	/api/v2/users/5f0c8a1e2b3c4d5e6f708192/orders  →  /api/v2/users/{userId}/orders
//
// Two kinds of evidence make a segment a parameter. A segment of an
// identifier class (integers, UUIDs, hashes, dates, emails, base64 and
// prefixed ids… see Class) is one at once. A word segment (a username, a
// slug, a namespace) is one when the statistics of its position in the
// host's path tree say so: many distinct values, most seen rarely; or
// values that share what comes after them. Version and API prefixes never
// become parameters; siblings that carry far more traffic than the values
// around them (/users/me next to a thousand usernames) stay static; rules
// from the configuration override all of it. docs/templating.md has the
// rules and the measured accuracy.
//
// Templates are a function of the statistics accumulated so far, not of
// the order paths arrived in: the same traffic shuffled gives the same
// templates. A path templated early, before its position had shown enough
// values, can get a different template later; Canonical re-templates such
// an early template through the current tree.
//
// A Learner is not safe for concurrent use: one goroutine (the analyzer's)
// owns it, calls Observe for the traffic and Template for each exchange.
package route

import (
	"errors"
	"fmt"
)

// Config tunes the learner (YAML key analyzer.inventory.templating;
// docs/templating.md explains each rule).
type Config struct {
	// MinDistinct is the number of distinct word values a position needs
	// before it can be a parameter by cardinality. Default 5: a sparse
	// route seen a dozen times shows no more than a dozen values.
	MinDistinct int `yaml:"min_distinct"`
	// OpenShare is the percentage of those values that must have been
	// seen only once, and NewShare the per mille of the position's
	// traffic whose value was seen only once, for the cardinality rule (an
	// open vocabulary: new values keep coming). Defaults 25 and 20.
	OpenShare int `yaml:"open_share"`
	NewShare  int `yaml:"new_share"`
	// MinShared is how many values must share a common next segment
	// (every namespace has pods…) for the structure rule. Default 3.
	MinShared int `yaml:"min_shared"`
	// Dominance keeps the most visited values of a parameter position
	// static when they stand this many times above the next value down
	// (and have MinStaticHits): /users/me beside the usernames. Default 4.
	Dominance int `yaml:"dominance"`
	// MinStaticHits is the least traffic a value needs to stay static by
	// dominance. Default 10.
	MinStaticHits int `yaml:"min_static_hits"`
	// MaxChildren bounds the distinct word values tracked per position.
	// A position that reaches it collapses into a parameter; further
	// values are only counted (Stats.Untracked). Default 1000.
	MaxChildren int `yaml:"max_children"`
	// MaxNodesPerHost and MaxNodes bound the tree of one host and of all
	// hosts. Paths that would grow a tree beyond them are learned only as
	// far as it goes (Stats.NodeDrops). A node costs about 400 bytes, so
	// the defaults bound the tree to about 200 MB. Defaults 100000 and 500000.
	MaxNodesPerHost int `yaml:"max_nodes_per_host"`
	MaxNodes        int `yaml:"max_nodes"`
	// MaxHosts bounds the hosts learned; others are templated by token
	// class only (Stats.HostDrops). Default 10000.
	MaxHosts int `yaml:"max_hosts"`
	// MaxDepth is the most segments learned per path; deeper segments are
	// templated by class only. Default 32.
	MaxDepth int `yaml:"max_depth"`
	// Rules override the learning (see Rule).
	Rules []Rule `yaml:"rules"`
}

// DefaultConfig returns the defaults stated on Config.
func DefaultConfig() Config {
	return Config{
		MinDistinct: 5, OpenShare: 25, NewShare: 20, MinShared: 3, Dominance: 4, MinStaticHits: 10,
		MaxChildren: 1000, MaxNodesPerHost: 100000, MaxNodes: 500000, MaxHosts: 10000, MaxDepth: 32,
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v, min int) {
		if v < min {
			errs = append(errs, fmt.Errorf("templating %s must be >= %d", name, min))
		}
	}
	pos("min_distinct", c.MinDistinct, 2)
	pos("open_share", c.OpenShare, 0)
	if c.OpenShare > 100 {
		errs = append(errs, errors.New("templating open_share must be <= 100"))
	}
	pos("new_share", c.NewShare, 0)
	if c.NewShare > 1000 {
		errs = append(errs, errors.New("templating new_share must be <= 1000"))
	}
	pos("min_shared", c.MinShared, 2)
	pos("dominance", c.Dominance, 2)
	pos("min_static_hits", c.MinStaticHits, 1)
	pos("max_children", c.MaxChildren, 2)
	pos("max_nodes_per_host", c.MaxNodesPerHost, 16)
	pos("max_nodes", c.MaxNodes, 16)
	pos("max_hosts", c.MaxHosts, 1)
	pos("max_depth", c.MaxDepth, 1)
	if c.MaxDepth > maxDepth {
		errs = append(errs, fmt.Errorf("templating max_depth must be <= %d", maxDepth))
	}
	for i, r := range c.Rules {
		if _, err := compileRule(r); err != nil {
			errs = append(errs, fmt.Errorf("templating rule %d (%q): %w", i, r.Pattern, err))
		}
	}
	return errors.Join(errs...)
}

const maxDepth = 256

// Param is one parameter of a template.
type Param struct {
	// Position is the index of the segment in the path, from 0 for the
	// segment after the first '/'.
	Position int
	// Name is the parameter's name in the template, without braces.
	Name string
	// Reason says why the segment is a parameter: "class:uuid" (its token
	// class), "cardinality:57" (57 distinct values, most seen rarely),
	// "structure:9" (9 values sharing what follows them),
	// "cardinality:1000+" (the position collapsed at MaxChildren),
	// "known:3" (3 values known as parameter values elsewhere on the
	// host), "rule:force", "rule:merge".
	Reason string
}

// Result is a template with its parameters.
type Result struct {
	Template string
	Params   []Param
}

// Stats counts the learner's work and what its bounds cut.
type Stats struct {
	Hosts        int    // hosts learned
	Nodes        int    // tree nodes, all hosts (overlays included)
	Observations uint64 // Observe calls
	Overlays     uint64 // parameter positions pooled
	Unpooled     uint64 // pooled positions whose statistics turned back
	Collapses    uint64 // positions that reached MaxChildren and became parameters
	Untracked    uint64 // values seen at collapsed positions and only counted
	NodeDrops    uint64 // nodes not created because a node budget was spent
	HostDrops    uint64 // observations of hosts beyond MaxHosts
	Truncated    uint64 // observations deeper than MaxDepth (tail not learned)
}

// Learner learns route templates per host. See the package comment.
type Learner struct {
	cfg    Config
	rules  []compiled
	merges []int // indexes of merge rules in rules
	init   []ruleState
	hosts  map[string]*tree
	nodes  int
	toks   []token
	stats  Stats
}

// New returns a Learner.
func New(cfg Config) (*Learner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Learner{cfg: cfg, hosts: map[string]*tree{}, toks: make([]token, 0, 32)}
	for _, r := range cfg.Rules {
		c, _ := compileRule(r)
		if c.action == actMerge {
			l.merges = append(l.merges, len(l.rules))
		} else {
			l.init = append(l.init, ruleState{rule: uint16(len(l.rules))})
		}
		l.rules = append(l.rules, c)
	}
	return l, nil
}

// Observe records a path of host in the tree. Call it for every exchange
// whose status is not 404 (paths that only ever 404 are probes, not
// routes). The path may carry a query string; it is ignored.
func (l *Learner) Observe(host, path string) {
	l.stats.Observations++
	t := l.hosts[host]
	if t == nil {
		if len(l.hosts) >= l.cfg.MaxHosts {
			l.stats.HostDrops++
			return
		}
		t = &tree{vals: map[string]valStat{}}
		root := l.newNode(t, kindRoot, "", 0, nil, false)
		if root == nil {
			l.stats.NodeDrops++
			return
		}
		root.prefix = true
		root.rules = l.init
		l.applyRules(root)
		t.root = root
		l.hosts[cloneString(host)] = t
	}
	var rest string
	l.toks, _, rest = tokenize(l.toks[:0], path, l.cfg.MaxDepth, false)
	if rest != "" {
		l.stats.Truncated++
	}
	l.observe(t, t.root, nil, l.toks, 0)
}

// Template returns the template of a path of host with its parameters.
func (l *Learner) Template(host, path string) Result {
	var ps []Param
	b := l.walk(make([]byte, 0, len(path)+16), host, path, false, &ps)
	return Result{Template: string(b), Params: ps}
}

// AppendTemplate appends the template of a path of host to dst: the fast
// path, which allocates nothing once dst has room.
func (l *Learner) AppendTemplate(dst []byte, host, path string) []byte {
	return l.walk(dst, host, path, false, nil)
}

// Canonical re-templates a template learned earlier (say before its
// position had enough values to be a parameter) through the current tree,
// so inventory entries of the same route can be merged under one key:
// Canonical(h, "/users/octocat/repos") is "/users/{userId}/repos" once
// usernames are learned. Parameters ({...}) of the input stay parameters.
func (l *Learner) Canonical(host, template string) string {
	return string(l.walk(make([]byte, 0, len(template)+16), host, template, true, nil))
}

// Stats returns the counters.
func (l *Learner) Stats() Stats {
	s := l.stats
	s.Hosts = len(l.hosts)
	s.Nodes = l.nodes
	return s
}
