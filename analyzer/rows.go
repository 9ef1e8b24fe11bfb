package analyzer

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/apitap/apitap/flow"
)

// rowStrings gives the exchange rows strings of their own. A decoded
// record's strings point into its message (a few KB with the bodies): a row
// holding one of them would keep the whole message in memory until the row
// is stored. Rows instead share one copy of each value — hosts, methods,
// content types, sensor ids, credential fingerprints and schemes, query
// parameter names, addresses and flag sets repeat from row to row — so a
// prepared batch costs a few hundred bytes per row however large the
// records were, and the records can go as soon as the batch is analysed.
// Each table is bounded (maxInterned entries): when one is full it starts
// over, which costs copies, never correctness. Used by Prepare only.
type rowStrings struct {
	strs  map[string]string
	addrs map[netip.Addr]string
	flags map[flow.Flags][]string
	keys  []string // scratch for query parameter names
}

// maxInterned bounds each table of rowStrings.
const maxInterned = 1 << 16

func newRowStrings() rowStrings {
	return rowStrings{strs: map[string]string{}, addrs: map[netip.Addr]string{}, flags: map[flow.Flags][]string{}}
}

// str returns a copy of s that does not point into a record.
func (t *rowStrings) str(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := t.strs[s]; ok {
		return v
	}
	if len(t.strs) >= maxInterned {
		clear(t.strs)
	}
	v := strings.Clone(s)
	t.strs[v] = v
	return v
}

// method is str for a request method, without a lookup for the common ones.
func (t *rowStrings) method(m string) string {
	switch m {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "HEAD":
		return "HEAD"
	case "OPTIONS":
		return "OPTIONS"
	}
	return t.str(m)
}

// addr is the text form of a (unmapped) address, "" for an invalid one.
func (t *rowStrings) addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	if v, ok := t.addrs[a]; ok {
		return v
	}
	if len(t.addrs) >= maxInterned {
		clear(t.addrs)
	}
	v := a.Unmap().String()
	t.addrs[a] = v
	return v
}

// flagNames is f.Names(), one shared (read-only) slice per flag set.
func (t *rowStrings) flagNames(f flow.Flags) []string {
	if f == 0 {
		return nil
	}
	if v, ok := t.flags[f]; ok {
		return v
	}
	if len(t.flags) >= maxInterned {
		clear(t.flags)
	}
	v := f.Names()
	t.flags[f] = v
	return v
}

// queryKeys returns the parameter names of a raw query, decoded, in order,
// without values (values may carry secrets or personal data).
func (t *rowStrings) queryKeys(q string) []string {
	if q == "" {
		return nil
	}
	keys := t.keys[:0]
	for part := range strings.SplitSeq(q, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k == "" {
			continue
		}
		if strings.ContainsAny(k, "%+") {
			if d, err := url.QueryUnescape(k); err == nil {
				k = d
			}
		}
		keys = append(keys, t.str(k))
	}
	t.keys = keys[:0]
	if len(keys) == 0 {
		return nil
	}
	return append([]string(nil), keys...)
}
