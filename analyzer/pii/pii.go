// Package pii classifies single values seen in API traffic (a JSON leaf, a
// header value, a query parameter, a cookie, a text span) as personal data
// or secrets, given the key context they were found under.
//
// Design (docs/pii.md): validators decide wherever a type has a checksum or a
// strict structure; types without one need a whole-word key hint; one
// hand-written byte scanner finds candidates, so the common leaf (a short
// word, a number, a flag) is decided in a few nanoseconds without
// allocating. Nothing here keeps, logs or returns raw values: callers get
// spans, and Mask and Fingerprinter give what may be stored.
package pii

import (
	"fmt"
	"strings"
)

// Type is a kind of sensitive value.
type Type uint8

// The types. Values are part of the stored findings: append only.
const (
	Email Type = iota + 1
	Phone
	CreditCard
	USSSN
	IBAN
	DateOfBirth
	StreetAddress
	PersonName
	IPAddress
	PassportNumber
	BankAccount
	JWT
	AWSAccessKey
	AWSSecretKey
	GitHubToken
	PrivateKey
	APIKey
	Password
	ConnectionString
	SessionToken
	numTypes
)

var typeNames = [numTypes]string{"", "email", "phone", "credit_card", "us_ssn", "iban",
	"date_of_birth", "street_address", "person_name", "ip_address", "passport_number",
	"bank_account", "jwt", "aws_access_key", "aws_secret_key", "github_token",
	"private_key", "api_key", "password", "connection_string", "session_token"}

func (t Type) String() string {
	if t == 0 || t >= numTypes {
		return fmt.Sprintf("pii.Type(%d)", uint8(t))
	}
	return typeNames[t]
}

// Types lists every type, in value order.
func Types() []Type {
	ts := make([]Type, 0, numTypes-1)
	for t := Email; t < numTypes; t++ {
		ts = append(ts, t)
	}
	return ts
}

// ParseType is the inverse of Type.String.
func ParseType(s string) (Type, bool) {
	for t := Email; t < numTypes; t++ {
		if typeNames[t] == s {
			return t, true
		}
	}
	return 0, false
}

// Confidence is an ordinal tier, not a score: Confirmed means a validator
// (checksum or a structure as strict as one) passed; Likely means a strict
// format or a key hint; Possible means the pattern alone (counted, not
// alerted on by default).
type Confidence uint8

// Tiers, lowest first so that comparisons read naturally.
const (
	Possible Confidence = iota + 1
	Likely
	Confirmed
)

func (c Confidence) String() string {
	switch c {
	case Possible:
		return "possible"
	case Likely:
		return "likely"
	case Confirmed:
		return "confirmed"
	}
	return fmt.Sprintf("pii.Confidence(%d)", uint8(c))
}

// ParseConfidence is the inverse of Confidence.String.
func ParseConfidence(s string) (Confidence, bool) {
	for c := Possible; c <= Confirmed; c++ {
		if c.String() == s {
			return c, true
		}
	}
	return 0, false
}

// Match is one finding inside a value: value[Start:End] is the sensitive
// span. Example marks a documented example or a placeholder (test card,
// AWS docs key, REDACTED, ${VAR}): counted, never alerted on.
type Match struct {
	Type       Type
	Confidence Confidence
	Start, End int
	Example    bool
}

// Config selects what a Detector reports.
type Config struct {
	// Disabled lists type names (Type.String) never reported. Default: none.
	Disabled []string `yaml:"disabled"`
	// MinConfidence is the lowest tier reported: possible, likely or
	// confirmed. Default: possible (everything; alerting filters later).
	MinConfidence string `yaml:"min_confidence"`
	// MaxScan caps the bytes of one value that are looked at, so one huge
	// leaf costs bounded time. Default 65536; the rest of the value is not
	// scanned (docs/pii.md).
	MaxScan int `yaml:"max_scan"`
}

// DefaultMaxScan is Config.MaxScan's default.
const DefaultMaxScan = 64 << 10

// Detector classifies values. It is read-only after New, so one Detector
// is shared by every goroutine.
type Detector struct {
	off     [numTypes]bool
	min     Confidence
	maxScan int
}

// New validates cfg and builds a Detector.
func New(cfg Config) (*Detector, error) {
	d := &Detector{min: Possible, maxScan: cfg.MaxScan}
	if d.maxScan == 0 {
		d.maxScan = DefaultMaxScan
	}
	if d.maxScan < 0 {
		return nil, fmt.Errorf("pii: max_scan %d is negative", cfg.MaxScan)
	}
	if cfg.MinConfidence != "" {
		c, ok := ParseConfidence(strings.ToLower(cfg.MinConfidence))
		if !ok {
			return nil, fmt.Errorf("pii: min_confidence %q is not possible, likely or confirmed", cfg.MinConfidence)
		}
		d.min = c
	}
	for _, s := range cfg.Disabled {
		t, ok := ParseType(strings.ToLower(strings.TrimSpace(s)))
		if !ok {
			return nil, fmt.Errorf("pii: disabled: unknown type %q", s)
		}
		d.off[t] = true
	}
	return d, nil
}

// add appends m unless its type is disabled or its tier is below the floor.
func (d *Detector) add(dst []Match, t Type, c Confidence, start, end int, example bool) []Match {
	if d.off[t] || c < d.min || c == 0 {
		return dst
	}
	return append(dst, Match{Type: t, Confidence: c, Start: start, End: end, Example: example})
}
