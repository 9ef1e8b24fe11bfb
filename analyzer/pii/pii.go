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
	// Country IDs (docs/pii.md): off unless Config.CountryIDs names them.
	UKNINO      // UK National Insurance number
	UKNHSNumber // UK NHS number
	CASIN       // Canadian Social Insurance Number
	INAadhaar   // Indian Aadhaar number
	INPAN       // Indian Permanent Account Number
	ESDNI       // Spanish DNI
	ESNIE       // Spanish NIE
	BRCPF       // Brazilian CPF
	numTypes
)

// CustomBase is the first Type given to the custom detectors of a
// Detector, in their configuration order (Detector.Name gives their names).
const CustomBase Type = 100

// MaxCustom is the most custom detectors one Detector takes.
const MaxCustom = 64

var typeNames = [numTypes]string{"", "email", "phone", "credit_card", "us_ssn", "iban",
	"date_of_birth", "street_address", "person_name", "ip_address", "passport_number",
	"bank_account", "jwt", "aws_access_key", "aws_secret_key", "github_token",
	"private_key", "api_key", "password", "connection_string", "session_token",
	"uk_nino", "uk_nhs_number", "ca_sin", "in_aadhaar", "in_pan", "es_dni", "es_nie", "br_cpf"}

// String is the built-in type's name; a custom type's name is known only
// to its Detector (Detector.Name).
func (t Type) String() string {
	if t == 0 || t >= numTypes {
		return fmt.Sprintf("pii.Type(%d)", uint8(t))
	}
	return typeNames[t]
}

// Types lists every built-in type, country IDs included, in value order.
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
	// CountryIDs lists the country ID types to detect (uk_nino,
	// uk_nhs_number, ca_sin, in_aadhaar, in_pan, es_dni, es_nie, br_cpf),
	// or "all". Default: none; each is a checksum plus key context, worth
	// its cost only where such IDs are expected.
	CountryIDs []string `yaml:"country_ids"`
	// Custom adds user-defined detectors (key and/or value regular
	// expressions). Default: none.
	Custom []Custom `yaml:"custom"`
}

// Custom is a user-defined detector: a key regex, a value regex, or both.
type Custom struct {
	// Name is the type name reported (Detector.Name): lower_snake, not a
	// built-in type's name, unique.
	Name string `yaml:"name"`
	// KeyRegex is matched against the key as given to Leaf: a JSON path
	// ("$.user.tax_ref"), a header or parameter name. RE2 syntax; use
	// (?i) for case-insensitive.
	KeyRegex string `yaml:"key_regex"`
	// ValueRegex is searched in the value (Leaf, LeafKey; Text when Match
	// is "any" or there is no KeyRegex). The match is the reported span.
	ValueRegex string `yaml:"value_regex"`
	// Match is "all" (key and value must match; the default) or "any"
	// (either). With one regex, that one decides.
	Match string `yaml:"match"`
	// Confidence is the tier reported: possible, likely (default) or
	// confirmed.
	Confidence string `yaml:"confidence"`
	// Severity is passed on with the findings (Detector.Severity): info,
	// low, medium (default), high or critical.
	Severity string `yaml:"severity"`
}

// severities are the values Custom.Severity takes, lowest first.
var severities = []string{"info", "low", "medium", "high", "critical"}

// Validate reports whether cfg can build a Detector (New): type names,
// tiers, country IDs, custom detectors' names and regular expressions.
func (cfg Config) Validate() error {
	_, err := New(cfg)
	return err
}

// DefaultMaxScan is Config.MaxScan's default.
const DefaultMaxScan = 64 << 10

// Detector classifies values. It is read-only after New, so one Detector
// is shared by every goroutine.
type Detector struct {
	off     [numTypes]bool
	min     Confidence
	maxScan int
	// ids is the set of country ID types detected (bit t-UKNINO); 0 keeps
	// the country validators off the path entirely.
	ids uint16
	// custom holds the user-defined detectors, Type CustomBase+i; keyed
	// says one of them has a key regex.
	custom []custom
	keyed  bool
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
	if err := d.countryIDs(cfg.CountryIDs); err != nil {
		return nil, err
	}
	if err := d.compileCustom(cfg.Custom); err != nil {
		return nil, err
	}
	return d, nil
}

// Name is t's type name: Type.String for a built-in type, the configured
// name for one of d's custom detectors.
func (d *Detector) Name(t Type) string {
	if i := int(t) - int(CustomBase); i >= 0 && i < len(d.custom) {
		return d.custom[i].name
	}
	return t.String()
}

// Severity is the configured severity of one of d's custom detectors;
// false for a built-in type (its severity is the caller's policy).
func (d *Detector) Severity(t Type) (string, bool) {
	if i := int(t) - int(CustomBase); i >= 0 && i < len(d.custom) {
		return d.custom[i].sev, true
	}
	return "", false
}

// add appends m unless its type is disabled or its tier is below the floor.
func (d *Detector) add(dst []Match, t Type, c Confidence, start, end int, example bool) []Match {
	if d.off[t] || c < d.min || c == 0 {
		return dst
	}
	// Field by field into the new element: append(dst, Match{...}) builds
	// the literal on the stack and copies it with 16-byte moves across its
	// narrower stores, a store-forwarding stall per match.
	dst = append(dst, Match{})
	m := &dst[len(dst)-1]
	m.Type, m.Confidence, m.Start, m.End, m.Example = t, c, start, end, example
	return dst
}
