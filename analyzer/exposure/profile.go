package exposure

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"time"

	"github.com/apitap/apitap/analyzer/pii"
)

// Field is the aggregate of one (location, field, type) on one endpoint.
// Exported fields are its stored state (the inventory's state blob).
type Field struct {
	Kind     string `json:"kind"`
	Location string `json:"location"`
	Field    string `json:"field"`
	Type     string `json:"type"`
	// Best is the highest tier seen (pii.Confidence).
	Best uint8 `json:"best"`
	// Messages carrying the field; Matches: values matched in them;
	// Valid: matches a validator confirmed; Values: leaves at the field in
	// those messages; Examples: matches that were examples or placeholders.
	Messages uint64 `json:"messages"`
	Matches  uint64 `json:"matches"`
	Valid    uint64 `json:"valid"`
	Values   uint64 `json:"values"`
	Examples uint64 `json:"examples"`
	// MaxPerMessage is the most values of the field in one message.
	MaxPerMessage uint32    `json:"max_per_message"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	Masked        string    `json:"masked,omitempty"`
	Fingerprint   string    `json:"fingerprint,omitempty"`
	Detail        string    `json:"detail,omitempty"`
	Severity      string    `json:"severity,omitempty"` // a custom detector's severity

	ph uint64 // hash of the field's leaf path (Watch), 0 for locations without leaf counts

	// What was last reported (Profile.Findings).
	repAt   time.Time
	repConf pii.Confidence
	repBulk bool
}

type fieldKey struct{ kind, loc, field, typ string }

// Profile is the sensitive-data profile of one endpoint. It is owned by
// the inventory entry it belongs to (single goroutine).
type Profile struct {
	en     *Engine
	fields map[fieldKey]*Field
	watch  []Watch // the distinct (location, path hash) of counted fields; nil: rebuild
}

// Watch is a field whose values a Scanner counts in every message of the
// endpoint (Item.Watch).
type Watch struct {
	Loc  string
	Hash uint64
}

// pathHash is the hash of the leaf path a field was found at, for the
// locations whose leaves are counted (bodies, query, cookies); else 0.
func (en *Engine) pathHash(loc, field string) uint64 {
	switch loc {
	case RequestBody, ResponseBody:
		return maphash.String(en.seed, field)
	case RequestQuery, RequestCookie:
		return maphash.String(en.seed, "$."+field)
	}
	return 0
}

// Watch returns the fields whose values Scan should count for this
// endpoint. The slice is shared: do not modify it.
func (p *Profile) Watch() []Watch {
	if p == nil {
		return nil
	}
	if p.watch == nil {
		p.watch = []Watch{}
		for _, f := range p.fields {
			if f.ph == 0 || f.Kind != KindPII {
				continue
			}
			w := Watch{f.Location, f.ph}
			if !slices.Contains(p.watch, w) {
				p.watch = append(p.watch, w)
			}
		}
	}
	return p.watch
}

// NewProfile returns an empty Profile charged to en's field budget.
func (en *Engine) NewProfile() *Profile {
	return &Profile{en: en, fields: map[fieldKey]*Field{}}
}

// Len is the number of fields.
func (p *Profile) Len() int {
	if p == nil {
		return 0
	}
	return len(p.fields)
}

// Add folds one message's hits (seen at capture time t).
func (p *Profile) Add(hits []Hit, t time.Time) {
	for i := range hits {
		h := &hits[i]
		if h.Kind == "" { // values of known fields, none matching
			for _, f := range p.fields {
				if f.ph == h.ph && f.Location == h.Location && f.Kind == KindPII {
					f.Values += uint64(h.Values)
				}
			}
			continue
		}
		k := fieldKey{h.Kind, h.Location, h.Field, h.Type}
		f := p.fields[k]
		if f == nil {
			if !p.charge() {
				continue
			}
			f = &Field{Kind: h.Kind, Location: h.Location, Field: h.Field, Type: h.Type, FirstSeen: t,
				Detail: h.Detail, Severity: h.Severity, ph: p.en.pathHash(h.Location, h.Field)}
			p.fields[k] = f
			p.watch = nil
		}
		f.Messages++
		f.Matches += uint64(h.N)
		f.Valid += uint64(h.Valid)
		f.Values += uint64(max(h.Values, h.N))
		f.Examples += uint64(h.Examples)
		f.MaxPerMessage = max(f.MaxPerMessage, h.N)
		f.Best = max(f.Best, uint8(h.Conf))
		if t.Before(f.FirstSeen) || f.FirstSeen.IsZero() {
			f.FirstSeen = t
		}
		if t.After(f.LastSeen) {
			f.LastSeen = t
		}
		// Keep a sample that is not an example once there is one.
		if h.Masked != "" && (f.Masked == "" || (f.Examples == f.Matches-uint64(h.N) && h.Examples < h.N && f.Matches > uint64(h.N))) {
			f.Masked, f.Fingerprint = h.Masked, h.Fingerprint
		}
	}
}

// charge takes one field from the budgets; false when one is exhausted.
func (p *Profile) charge() bool {
	if len(p.fields) >= p.en.cfg.MaxFieldsPerEndpoint || p.en.budget <= 0 {
		p.en.overflow++
		return false
	}
	p.en.budget--
	return true
}

// Release gives p's fields back to the budget (p is dropped).
func (p *Profile) Release() {
	if p == nil {
		return
	}
	p.en.budget += len(p.fields)
	clear(p.fields)
	p.watch = nil
}

// Merge folds o into p (two templates folded into one); o is not used
// afterwards.
func (p *Profile) Merge(o *Profile) {
	if o == nil {
		return
	}
	for k, of := range o.fields {
		p.en.budget++ // o's field is released; charge it again below
		f := p.fields[k]
		if f == nil {
			if !p.charge() {
				continue
			}
			p.fields[k] = of
			p.watch = nil
			continue
		}
		f.Messages += of.Messages
		f.Matches += of.Matches
		f.Valid += of.Valid
		f.Values += of.Values
		f.Examples += of.Examples
		f.MaxPerMessage = max(f.MaxPerMessage, of.MaxPerMessage)
		f.Best = max(f.Best, of.Best)
		if of.FirstSeen.Before(f.FirstSeen) {
			f.FirstSeen = of.FirstSeen
		}
		if of.LastSeen.After(f.LastSeen) {
			f.LastSeen = of.LastSeen
		}
		if f.Masked == "" {
			f.Masked, f.Fingerprint = of.Masked, of.Fingerprint
		}
	}
	clear(o.fields)
	o.watch = nil
}

// MarshalJSON stores the fields, sorted (so a state blob is stable).
func (p *Profile) MarshalJSON() ([]byte, error) {
	return json.Marshal(p.sorted())
}

func (p *Profile) sorted() []*Field {
	fs := make([]*Field, 0, len(p.fields))
	for _, f := range p.fields {
		fs = append(fs, f)
	}
	slices.SortFunc(fs, func(a, b *Field) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Location, b.Location),
			cmp.Compare(a.Field, b.Field), cmp.Compare(a.Type, b.Type))
	})
	return fs
}

// Restore returns the profile stored by MarshalJSON, merged into p when p
// is not nil. Its fields count as already reported.
func (en *Engine) Restore(p *Profile, data []byte) (*Profile, error) {
	var fs []*Field
	if err := json.Unmarshal(data, &fs); err != nil {
		return p, fmt.Errorf("exposure: stored profile: %w", err)
	}
	r := en.NewProfile()
	for _, f := range fs {
		k := fieldKey{f.Kind, f.Location, f.Field, f.Type}
		if r.fields[k] != nil || !r.charge() {
			continue
		}
		f.repAt, f.repConf, f.repBulk = f.LastSeen, en.confidence(f), en.bulk(f)
		f.ph = en.pathHash(f.Location, f.Field)
		r.fields[k] = f
	}
	if p == nil {
		return r, nil
	}
	p.Merge(r)
	return p, nil
}

// Types lists the pii types of the profile by location, sorted, for
// endpoints.jsonl's pii_types (fields at the possible tier only or made
// only of examples are left out).
func (p *Profile) Types() map[string][]string {
	if p == nil {
		return nil
	}
	var out map[string][]string
	for _, f := range p.fields {
		if f.Kind != KindPII || p.en.confidence(f) < pii.Likely || f.Examples >= f.Matches {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		if !slices.Contains(out[f.Location], f.Type) {
			out[f.Location] = append(out[f.Location], f.Type)
		}
	}
	for _, ts := range out {
		slices.Sort(ts)
	}
	return out
}

// Endpoint identifies the endpoint a profile belongs to, for findings.
type Endpoint struct {
	Host      string
	Port      uint16
	Method    string
	Path      string
	Operation string
}

// Findings returns the profile's findings, sorted. With dueOnly, only
// the fields due for a report (new, changed tier or bulk state, or
// ReportEvery of capture time since the last report) are returned, and
// they are marked reported.
func (p *Profile) Findings(ep Endpoint, dueOnly bool) []Finding {
	if p == nil || len(p.fields) == 0 {
		return nil
	}
	var out []Finding
	for _, f := range p.sorted() {
		conf, bulk := p.en.confidence(f), p.en.bulk(f)
		if dueOnly {
			if !f.repAt.IsZero() && conf == f.repConf && bulk == f.repBulk && f.LastSeen.Sub(f.repAt) < p.en.cfg.ReportEvery {
				continue
			}
		}
		f.repAt, f.repConf, f.repBulk = f.LastSeen, conf, bulk
		out = append(out, p.en.finding(ep, f, conf, bulk))
	}
	return out
}

// confidence is a field's tier: the best seen, dropped to possible when
// the field is mostly values that do not match (noise).
func (en *Engine) confidence(f *Field) pii.Confidence {
	c := pii.Confidence(f.Best)
	if f.Kind == KindPII && f.Values >= uint64(en.cfg.NoiseMinValues) &&
		float64(f.Matches) < en.cfg.NoiseShare*float64(f.Values) && c > pii.Possible {
		c = pii.Possible
	}
	return c
}

func (en *Engine) bulk(f *Field) bool {
	return f.Kind == KindPII && f.Location == ResponseBody && f.MaxPerMessage >= uint32(en.cfg.BulkValues)
}

// Finding is one aggregated finding of findings.jsonl (a contract: names
// are kept, fields only added) and of the findings table.
type Finding struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"` // "pii" or "exposure"
	Type       string `json:"type"`
	Severity   string `json:"severity"`
	Confidence string `json:"confidence"`
	Host       string `json:"host"`
	Port       uint16 `json:"port"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Operation  string `json:"operation,omitempty"`
	Location   string `json:"location"`
	Field      string `json:"field"`
	// Count is how many messages carried the field; Matches how many
	// values matched; ValidShare the share of the field's values that a
	// validator confirmed; MatchShare the share that matched at all.
	Count         uint64  `json:"count"`
	Matches       uint64  `json:"matches"`
	Values        uint64  `json:"values"`
	ValidShare    float64 `json:"valid_share"`
	MatchShare    float64 `json:"match_share"`
	MaxPerMessage uint32  `json:"max_per_message"`
	// Bulk: one response carried at least bulk_values of them.
	Bulk bool `json:"bulk"`
	// Example: every value was a documented example or a placeholder.
	Example bool `json:"example"`
	// Alert: the finding is at or above the alerting tier and not an example.
	Alert        bool      `json:"alert"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	MaskedSample string    `json:"masked_sample"`
	Fingerprint  string    `json:"fingerprint"`
	Detail       string    `json:"detail,omitempty"`
	Summary      string    `json:"summary"`
}

func (en *Engine) finding(ep Endpoint, f *Field, conf pii.Confidence, bulk bool) Finding {
	example := f.Kind == KindPII && f.Examples >= f.Matches
	fd := Finding{Kind: f.Kind, Type: f.Type, Confidence: conf.String(), Host: ep.Host, Port: ep.Port,
		Method: ep.Method, Path: ep.Path, Operation: ep.Operation, Location: f.Location, Field: f.Field,
		Count: f.Messages, Matches: f.Matches, Values: f.Values, MaxPerMessage: f.MaxPerMessage, Bulk: bulk,
		Example: example, FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, MaskedSample: f.Masked,
		Fingerprint: f.Fingerprint, Detail: f.Detail}
	if f.Values > 0 {
		fd.ValidShare = round3(float64(f.Valid) / float64(f.Values))
		fd.MatchShare = round3(float64(f.Matches) / float64(f.Values))
	}
	fd.Severity = severity(f, conf, bulk, example)
	fd.Alert = conf >= en.alertMin && !example && fd.Severity != "info"
	sum := sha256.Sum256([]byte(f.Kind + "\x00" + ep.Host + "\x00" + fmt.Sprint(ep.Port) + "\x00" + ep.Method + "\x00" +
		ep.Path + "\x00" + ep.Operation + "\x00" + f.Location + "\x00" + f.Field + "\x00" + f.Type))
	fd.ID = hex.EncodeToString(sum[:12])
	fd.Summary = summary(&fd)
	return fd
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

var severities = []string{"info", "low", "medium", "high", "critical"}

// typeSeverity is the base severity of a value type found in a response.
var typeSeverity = map[string]int{
	"private_key": 4, "aws_secret_key": 4, "connection_string": 4, "password": 4, "credit_card": 4,
	"us_ssn": 3, "iban": 3, "bank_account": 3, "passport_number": 3, "aws_access_key": 3, "github_token": 3,
	"api_key": 3, "uk_nino": 3, "uk_nhs_number": 3, "ca_sin": 3, "in_aadhaar": 3, "in_pan": 3, "es_dni": 3,
	"es_nie": 3, "br_cpf": 3,
	"email": 2, "phone": 2, "date_of_birth": 2, "street_address": 2, "person_name": 2,
	"ip_address": 1, "jwt": 1, "session_token": 1,
	SecretInURL: 3, CleartextCredentials: 3, SensitiveErrorResponse: 2, VerboseError: 2,
}

// severity: the type's base; one level lower for values a client sends
// (a form taking an email is the API's purpose, not an exposure); one
// higher for bulk exposure and for SQL errors; info for the possible tier
// and for examples.
func severity(f *Field, conf pii.Confidence, bulk, example bool) string {
	if example || conf <= pii.Possible {
		return "info"
	}
	lvl, ok := typeSeverity[f.Type]
	if !ok {
		lvl = 2
		if i := slices.Index(severities, f.Severity); i >= 0 {
			lvl = i
		}
	}
	if f.Kind == KindPII && f.Location != ResponseBody && f.Location != ResponseHeader {
		lvl--
	}
	if bulk || (f.Type == VerboseError && f.Field == "sql_error") {
		lvl++
	}
	return severities[min(max(lvl, 0), len(severities)-1)]
}

func summary(f *Finding) string {
	where := f.Location + " " + f.Field
	switch f.Type {
	case SecretInURL:
		return fmt.Sprintf("%s %s carries a secret (%s) in %s", f.Method, f.Path, f.Detail, where)
	case CleartextCredentials:
		return fmt.Sprintf("%s %s receives credentials (%s) over plain HTTP in %s", f.Method, f.Path, f.Detail, where)
	case SensitiveErrorResponse:
		return fmt.Sprintf("%s %s returns %s in error responses (%s)", f.Method, f.Path, f.Detail, where)
	case VerboseError:
		return fmt.Sprintf("%s %s leaks a %s (%s) in responses", f.Method, f.Path, f.Field, f.Detail)
	}
	s := fmt.Sprintf("%s %s: %s in %s (%d messages, %s)", f.Method, f.Path, f.Type, where, f.Count, f.Confidence)
	if f.Bulk {
		s += fmt.Sprintf(", bulk: up to %d in one response", f.MaxPerMessage)
	}
	return s
}
