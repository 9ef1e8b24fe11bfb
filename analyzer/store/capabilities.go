package store

import (
	"fmt"
	"strconv"
	"strings"
)

// Capabilities are the schema features the server supports, derived from
// its version (SELECT version()). The DDL templates use them, so one
// migration renders for every supported version (docs/storage.md, "Version
// gates"). The gates are conservative: a feature is used from the first
// release where it is neither experimental nor behind a setting, rounded up
// to a release line that has had its early bugs fixed.
type Capabilities struct {
	// LowCardinality: dictionary-encoded LowCardinality(String) columns.
	// Experimental behind allow_experimental_low_cardinality_type up to
	// 18.x, on by default in 19.x; used from 20.1.
	LowCardinality bool
	// Codecs: per-column compression codecs (CODEC(Delta, ZSTD(1))),
	// from 19.x; used from 20.1.
	Codecs bool
	// DateTime64: millisecond time columns (DateTime64(3)), from 20.1.
	// Without it time columns are DateTime (whole seconds).
	DateTime64 bool
	// TTL: table TTL expressions (retention), from 19.6.
	TTL bool
	// AddColumnIfNotExists: ALTER TABLE … ADD COLUMN IF NOT EXISTS, from
	// 19.x (18.16 rejects it); used from 20.1. Without it Migrate treats
	// "column already exists" on an ADD COLUMN as applied.
	AddColumnIfNotExists bool
}

// Minimum versions of each capability, as [major, minor].
var (
	minLowCardinality = [2]int{20, 1}
	minCodecs         = [2]int{20, 1}
	minDateTime64     = [2]int{20, 1}
	minTTL            = [2]int{19, 6}
	minAddColumnIfNot = [2]int{20, 1}
)

// CapabilitiesOf derives the capabilities from a server version string such
// as "18.16.1", "24.8.4.13" or "23.3.1.2823-lts".
func CapabilitiesOf(version string) (Capabilities, error) {
	major, minor, err := parseVersion(version)
	if err != nil {
		return Capabilities{}, err
	}
	atLeast := func(m [2]int) bool { return major > m[0] || major == m[0] && minor >= m[1] }
	return Capabilities{
		LowCardinality: atLeast(minLowCardinality),
		Codecs:         atLeast(minCodecs),
		DateTime64:     atLeast(minDateTime64),
		TTL:            atLeast(minTTL),

		AddColumnIfNotExists: atLeast(minAddColumnIfNot),
	}, nil
}

// parseVersion reads the leading major.minor of a ClickHouse version.
func parseVersion(v string) (major, minor int, err error) {
	s := strings.TrimSpace(v)
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("clickhouse: version %q: want major.minor[.patch...]", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	// the minor may be followed by a suffix when there is no patch ("24.8-lts")
	mi := parts[1]
	if i := strings.IndexFunc(mi, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		mi = mi[:i]
	}
	minor, err2 := strconv.Atoi(mi)
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return 0, 0, fmt.Errorf("clickhouse: version %q: want major.minor[.patch...]", v)
	}
	return major, minor, nil
}
