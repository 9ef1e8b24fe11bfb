package alert

import (
	"math"
	"strconv"
)

// OCSF 1.1.0 Detection Finding (class 2004, category 2 Findings). Only
// attributes the 1.1.0 class defines are written, so a validating consumer
// (Amazon Security Lake) takes the event: the network and caller context
// goes in evidences[0] (Evidence Artifacts: actor, src_endpoint,
// dst_endpoint, data), the endpoint in resources[0], what has no place in
// unmapped. 1.1.0 has no http_request in either.

const ocsfClass = 2004

var (
	// severity_id and its caption by SeverityLevel.
	ocsfSeverities = [...]string{"Informational", "Low", "Medium", "High", "Critical"}
	// confidence_id and its caption by ConfidenceLevel.
	ocsfConfidences = [...]string{"Low", "Medium", "High"}
)

func appendOCSF(dst []byte, a *Alert) []byte {
	activity, activityName := int64(1), "Create" // new, and test
	if a.Action == "update" {
		activity, activityName = 2, "Update"
	}
	b := append(dst, '{')
	b = jsonInt(b, "activity_id", activity)
	b = jsonStr(b, "activity_name", activityName)
	b = jsonInt(b, "category_uid", 2)
	b = jsonStr(b, "category_name", "Findings")
	b = jsonInt(b, "class_uid", ocsfClass)
	b = jsonStr(b, "class_name", "Detection Finding")
	b = jsonInt(b, "type_uid", ocsfClass*100+activity)
	b = append(jsonKey(b, "type_name"), `"Detection Finding: `...)
	b = append(b, activityName...)
	b = append(b, '"')
	b = jsonInt(b, "time", a.Time.UnixMilli()) // required: always written
	switch l := SeverityLevel(a.Severity); {
	case l >= 0:
		b = jsonInt(b, "severity_id", int64(l+1))
		b = jsonStr(b, "severity", ocsfSeverities[l])
	case a.Severity == "":
		b = jsonInt(b, "severity_id", 0)
		b = jsonStr(b, "severity", "Unknown")
	default: // Other: the caption is the source's own
		b = jsonInt(b, "severity_id", 99)
		b = jsonStr(b, "severity", a.Severity)
	}
	// status is the triage state, which apitap does not know past New.
	b = jsonInt(b, "status_id", 1)
	b = jsonStr(b, "status", "New")
	if a.Confidence != "" {
		if l := ConfidenceLevel(a.Confidence); l >= 0 {
			b = jsonInt(b, "confidence_id", int64(l+1))
			b = jsonStr(b, "confidence", ocsfConfidences[l])
		} else {
			b = jsonInt(b, "confidence_id", 99)
			b = jsonStr(b, "confidence", a.Confidence)
		}
	}
	b = jsonStr(b, "message", a.Summary)
	if a.Count > 0 {
		b = jsonUint(b, "count", min(a.Count, math.MaxInt32)) // integer_t; exact in unmapped
	}
	b = jsonMillis(b, "start_time", a.FirstSeen)
	b = jsonMillis(b, "end_time", a.LastSeen)

	b = append(jsonKey(b, "metadata"), '{')
	b = jsonStr(b, "version", "1.1.0")
	b = append(jsonKey(b, "product"), '{')
	b = jsonStr(b, "name", "apitap")
	b = jsonStr(b, "vendor_name", "apitap")
	b = jsonStr(b, "version", a.Version)
	b = append(b, '}')
	if a.ID != "" {
		// One uid per revision, the same on a retried delivery: a SIEM can
		// drop the duplicate.
		b = append(jsonKey(b, "uid"), '"')
		b = appendJSONChars(b, a.ID)
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(a.Revision), 10)
		b = append(b, '"')
	}
	b = jsonStr(b, "correlation_uid", a.DedupKey)
	if a.Revision > 0 {
		b = jsonUint(b, "sequence", uint64(a.Revision))
	}
	b = append(b, '}')

	b = append(jsonKey(b, "finding_info"), '{')
	b = jsonStr(b, "uid", a.ID)
	if a.Summary != "" {
		b = jsonStr(b, "title", a.Summary)
	} else if a.Kind != "" || a.Type != "" {
		b = append(jsonKey(b, "title"), '"')
		b = append(appendJSONChars(b, a.Kind), ':')
		b = append(appendJSONChars(b, a.Type), '"')
	}
	if a.Kind != "" || a.Type != "" {
		b = append(jsonKey(b, "types"), '[')
		for _, t := range [...]string{a.Kind, a.Type} {
			if t != "" {
				b = appendJSONString(jsonSep(b), t)
			}
		}
		b = append(b, ']')
	}
	b = jsonMillis(b, "first_seen_time", a.FirstSeen)
	b = jsonMillis(b, "last_seen_time", a.LastSeen)
	b = append(jsonKey(b, "data_sources"), `["network traffic"]`...)
	b = append(b, '}')

	if a.Host != "" || a.Method != "" || a.Endpoint != "" {
		b = append(jsonKey(b, "resources"), `[{"type":"api_endpoint"`...)
		b = append(jsonKey(b, "name"), '"')
		sep := false
		for _, s := range [...]string{a.Method, a.Host, a.Endpoint} {
			if s == "" {
				continue
			}
			if sep {
				b = append(b, ' ')
			}
			b = appendJSONChars(b, s)
			sep = true
		}
		b = append(b, '"')
		b = append(jsonKey(b, "data"), '{')
		b = jsonStr(b, "host", a.Host)
		b = jsonStr(b, "method", a.Method)
		b = jsonStr(b, "endpoint", a.Endpoint)
		b = append(b, "}}]"...)
	}

	clientIP := addrFamily(a.ClientIP) != 0
	if a.Principal != "" || clientIP || a.Host != "" || len(a.Evidence) > 0 {
		b = append(jsonKey(b, "evidences"), "[{"...)
		if a.Principal != "" {
			b = append(jsonKey(b, "actor"), '{')
			b = append(jsonKey(b, "user"), '{')
			b = jsonStr(b, "uid", a.Principal)
			b = append(b, "}}"...)
		}
		if clientIP {
			b = append(jsonKey(b, "src_endpoint"), '{')
			b = jsonStr(b, "ip", a.ClientIP)
			b = append(b, '}')
		}
		if a.Host != "" {
			b = append(jsonKey(b, "dst_endpoint"), '{')
			if addrFamily(a.Host) != 0 {
				b = jsonStr(b, "ip", a.Host)
			} else {
				b = jsonStr(b, "hostname", a.Host)
			}
			b = append(b, '}')
		}
		b = jsonEvidence(b, "data", a.Evidence)
		b = append(b, "}]"...)
	}

	mark := len(b)
	b = append(jsonKey(b, "unmapped"), '{')
	b = jsonStr(b, "finding_id", a.FindingID)
	b = jsonStr(b, "action", a.Action)
	if !clientIP {
		b = jsonStr(b, "client_ip", a.ClientIP)
	}
	b = jsonStr(b, "location", a.Location)
	b = jsonStr(b, "field", a.Field)
	b = jsonStr(b, "masked_sample", a.MaskedSample)
	b = jsonStr(b, "fingerprint", a.Fingerprint)
	if a.Count > 0 {
		b = jsonUint(b, "count", a.Count)
	}
	b = jsonStr(b, "observer", a.Observer)
	if b[len(b)-1] == '{' {
		return append(b[:mark], '}') // nothing unmapped
	}
	return append(b, "}}"...)
}
