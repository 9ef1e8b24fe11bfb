// Package alert turns findings into alerts for SIEMs: which findings are
// alerts (Policy: severity and confidence floors per kind and type, a dedup
// key, a suppression window), and how an alert reads in each format a SIEM
// parses natively (CEF, LEEF 2.0, OCSF, ECS, apitap's own JSON).
//
// Delivery (spool, destinations, retries) is in analyzer/alert/deliver; the
// on-disk queue in analyzer/alert/spool. docs/alerting.md is the user's
// view of all three.
package alert

import (
	"encoding/json"
	"time"
)

// Alert is one alert: a finding that crossed the alerting policy, as it is
// sent. Its JSON form (the tags) is the "json" format and the spool's
// record; fields are only ever added (docs/alerting.md).
//
// An episode that goes on (the same dedup key) keeps its ID: a SIEM
// correlates the updates by it, Revision orders them.
type Alert struct {
	// ID is stable for the dedup key: every revision of the alert has it.
	ID string `json:"id"`
	// DedupKey is the hex key the alert is deduplicated on: kind, type,
	// host, method, endpoint, and for anomalies client and principal
	// (DedupKey).
	DedupKey string `json:"dedup_key"`
	// Action is "new" for the first revision, "update" for later ones
	// (more evidence after the suppression window, or a higher severity);
	// "test" for `apitap alert test`.
	Action   string `json:"action"`
	Revision uint32 `json:"revision"`
	// Time is when the alert (this revision) was raised, wall clock.
	Time time.Time `json:"time"`

	// The finding (table findings): FindingID is its stable id.
	FindingID  string `json:"finding_id"`
	Kind       string `json:"kind"`     // shadow_endpoint, zombie_endpoint, pii, exposure, anomaly
	Type       string `json:"type"`     // e.g. undocumented, email, bola_enumeration
	Severity   string `json:"severity"` // info, low, medium, high, critical
	Confidence string `json:"confidence,omitempty"`
	Host       string `json:"host,omitempty"`
	Method     string `json:"method,omitempty"`
	Endpoint   string `json:"endpoint,omitempty"` // the route template
	ClientIP   string `json:"client_ip,omitempty"`
	// Principal is the caller's keyed fingerprint (a JWT caller's
	// jwt:fp:<hex>@iss; its sub@iss only with anomaly.jwt_subjects raw),
	// never a raw credential.
	Principal    string `json:"principal,omitempty"`
	Location     string `json:"location,omitempty"`
	Field        string `json:"field,omitempty"`
	MaskedSample string `json:"masked_sample,omitempty"`
	Fingerprint  string `json:"fingerprint,omitempty"`
	Count        uint64 `json:"count"`
	// FirstSeen and LastSeen are capture time.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Summary   string    `json:"summary"`
	// Evidence is the finding's evidence object (JSON; never raw values).
	Evidence json.RawMessage `json:"evidence,omitempty"`

	// Observer: the analyzer that raised it (host name) and apitap's
	// version.
	Observer string `json:"observer,omitempty"`
	Version  string `json:"product_version,omitempty"`
}

// Severities, lowest first.
var severities = [...]string{"info", "low", "medium", "high", "critical"}

// SeverityLevel is 0 (info) to 4 (critical), -1 for an unknown name.
func SeverityLevel(s string) int {
	for i, n := range severities {
		if n == s {
			return i
		}
	}
	return -1
}

// confidences, lowest first.
var confidences = [...]string{"possible", "likely", "confirmed"}

// ConfidenceLevel is 0 (possible) to 2 (confirmed), -1 for an unknown name.
// An empty confidence (findings that have none) ranks as confirmed.
func ConfidenceLevel(s string) int {
	if s == "" {
		return len(confidences) - 1
	}
	for i, n := range confidences {
		if n == s {
			return i
		}
	}
	return -1
}

// Format is how an alert is written for a destination.
type Format string

const (
	JSON Format = "json" // the Alert's JSON form above
	OCSF Format = "ocsf" // OCSF 1.1 Detection Finding (class 2004)
	ECS  Format = "ecs"  // Elastic Common Schema 8.x, event.kind alert
	CEF  Format = "cef"  // ArcSight CEF:0, for syslog
	LEEF Format = "leef" // QRadar LEEF:2.0, for syslog
)
