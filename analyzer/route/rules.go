package route

import (
	"errors"
	"fmt"
	"strings"
)

// Rule overrides the learning. Patterns are paths whose segments are
// literals, "*" (any one segment), "{name}" (any one segment, a parameter
// for the param action) or, last and for merge only, "**" (any rest).
//
//   - pattern: /api/files/{name}        # param: the segment after /api/files is a parameter {name}
//     action: param
//   - pattern: /users/me                # static: "me" stays static under /users
//     action: static
//   - pattern: /v*/orders/{id}/**       # merge: templates matching become one
//     action: merge
//     into: /orders/{orderId}
//
// param and static rules apply to the tree (they decide positions, so the
// segments below a forced parameter pool their statistics); merge rules
// rewrite the finished template. Rules apply from the first observation.
type Rule struct {
	Pattern string `yaml:"pattern"`
	// Action is "param", "static" or "merge".
	Action string `yaml:"action"`
	// Into is the template a merge rule maps its templates to.
	Into string `yaml:"into"`
	// Name names the parameters of a param rule written "{}".
	Name string `yaml:"name"`
}

const (
	actParam = iota
	actStatic
	actMerge
)

const (
	patLit  = iota
	patAny  // *, or {x} in a static pattern
	patVar  // {name}: a forced parameter (param rules), a parameter segment (merge)
	patRest // **
)

type pat struct {
	kind uint8
	lit  string
}

type compiled struct {
	action int
	segs   []pat
	name   string
	into   string
	params []Param // of into
}

type ruleState struct{ rule, pos uint16 }

func compileRule(r Rule) (compiled, error) {
	var c compiled
	switch r.Action {
	case "param":
		c.action = actParam
	case "static":
		c.action = actStatic
	case "merge":
		c.action = actMerge
	default:
		return c, fmt.Errorf("action %q: want param, static or merge", r.Action)
	}
	if !strings.HasPrefix(r.Pattern, "/") {
		return c, errors.New("pattern must start with /")
	}
	parts := strings.Split(strings.TrimSuffix(r.Pattern[1:], "/"), "/")
	if len(parts) > maxDepth {
		return c, fmt.Errorf("pattern longer than %d segments", maxDepth)
	}
	vars := 0
	for i, p := range parts {
		switch {
		case p == "**":
			if c.action != actMerge || i != len(parts)-1 {
				return c, errors.New("** only as the last segment of a merge pattern")
			}
			c.segs = append(c.segs, pat{kind: patRest})
		case p == "*":
			c.segs = append(c.segs, pat{kind: patAny})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			if name == "" {
				name = r.Name
			}
			if !validName(name) && (c.action == actParam || name != "") {
				return c, fmt.Errorf("parameter name %q: want letters, digits, _", name)
			}
			switch c.action {
			case actParam:
				vars++
				c.segs = append(c.segs, pat{kind: patVar, lit: name})
			case actMerge:
				c.segs = append(c.segs, pat{kind: patVar}) // matches a parameter segment
			default:
				c.segs = append(c.segs, pat{kind: patAny})
			}
		case strings.ContainsAny(p, "{}*"):
			return c, fmt.Errorf("segment %q: braces and * only as whole segments", p)
		default:
			c.segs = append(c.segs, pat{kind: patLit, lit: p})
		}
	}
	switch c.action {
	case actParam:
		if vars == 0 {
			return c, errors.New("a param rule needs a {name} segment")
		}
	case actStatic:
		if last := c.segs[len(c.segs)-1]; last.kind != patLit || last.lit == "" {
			return c, errors.New("a static rule's last segment must be a literal")
		}
		if r.Into != "" {
			return c, errors.New("into is for merge rules")
		}
	case actMerge:
		if !strings.HasPrefix(r.Into, "/") {
			return c, errors.New("a merge rule needs into, a template starting with /")
		}
		c.into = r.Into
		for i, p := range strings.Split(r.Into[1:], "/") {
			if strings.HasPrefix(p, "{") {
				j := strings.IndexByte(p, '}')
				if j < 0 || !validName(p[1:j]) {
					return c, fmt.Errorf("into segment %q: want {name}", p)
				}
				c.params = append(c.params, Param{Position: i, Name: p[1:j], Reason: "rule:merge"})
			}
		}
	}
	return c, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// advance returns the rule states alive below an edge: a word label, or a
// parameter edge (edgeParam: the class pool or an overlay).
func (l *Learner) advance(states []ruleState, label string, edgeParam bool) []ruleState {
	out := l.advanceInto(nil, states, label, edgeParam)
	if len(out) == 0 {
		return nil
	}
	return out
}

// advanceInto is advance appending to out.
func (l *Learner) advanceInto(out, states []ruleState, label string, edgeParam bool) []ruleState {
	for _, st := range states {
		r := &l.rules[st.rule]
		p := r.segs[st.pos]
		if p.kind == patLit && (edgeParam || p.lit != label) {
			continue
		}
		if int(st.pos)+1 < len(r.segs) {
			out = append(out, ruleState{st.rule, st.pos + 1})
		}
	}
	return out
}

// applyRules marks a node whose children a param rule makes parameters.
func (l *Learner) applyRules(n *node) {
	_, n.forced = l.forcedName(n.rules)
}

// forcedName returns the name a param rule gives the segments below the
// position of states, if one does.
func (l *Learner) forcedName(states []ruleState) (string, bool) {
	for _, st := range states {
		r := &l.rules[st.rule]
		if p := r.segs[st.pos]; r.action == actParam && p.kind == patVar {
			return p.lit, true
		}
	}
	return "", false
}

// staticIn reports a static rule keeping label static at the position of
// states.
func (l *Learner) staticIn(states []ruleState, label string) bool {
	for _, st := range states {
		r := &l.rules[st.rule]
		if r.action == actStatic && int(st.pos) == len(r.segs)-1 && r.segs[st.pos].lit == label {
			return true
		}
	}
	return false
}

// applyMerge rewrites the template dst[start:] by the first merge rule
// that matches it.
func (l *Learner) applyMerge(dst []byte, start int, ps *[]Param) []byte {
	t := dst[start:]
	for _, ri := range l.merges {
		r := &l.rules[ri]
		if !matchTemplate(r.segs, t) {
			continue
		}
		dst = append(dst[:start], r.into...)
		if ps != nil {
			*ps = append((*ps)[:0], r.params...)
		}
		return dst
	}
	return dst
}

// matchTemplate matches a template against a merge pattern: literals
// equal, "*" any segment, "{x}" a parameter segment, "**" any rest.
func matchTemplate(segs []pat, t []byte) bool {
	if len(t) > 0 && t[0] == '/' {
		t = t[1:]
	}
	if len(t) > 0 && t[len(t)-1] == '/' {
		t = t[:len(t)-1]
	}
	more := len(t) > 0
	for _, p := range segs {
		if p.kind == patRest {
			return true
		}
		if !more {
			return false
		}
		j := 0
		for j < len(t) && t[j] != '/' {
			j++
		}
		s := t[:j]
		if j < len(t) {
			t = t[j+1:]
		} else {
			t, more = nil, false
		}
		switch p.kind {
		case patLit:
			if string(s) != p.lit {
				return false
			}
		case patVar:
			if len(s) == 0 || s[0] != '{' {
				return false
			}
		}
	}
	return !more
}
