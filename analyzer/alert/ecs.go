package alert

import "time"

// ECS 8.x (Elastic Common Schema 8.11), event.kind "alert". What ECS has no
// field for is under "apitap"; mapping apitap.evidence as flattened keeps
// the evidence's own keys out of the index mapping.

const ecsVersion = "8.11.0"

// ecsSeverity is event.severity and event.risk_score by SeverityLevel:
// the 0-100 scale of Elastic's detection rules (low 21, medium 47,
// high 73, critical 99).
var ecsSeverity = [...]int64{1, 21, 47, 73, 99}

func appendECS(dst []byte, a *Alert) []byte {
	b := append(dst, '{')
	b = append(jsonKey(b, "@timestamp"), '"')
	b = a.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = append(jsonKey(b, "ecs"), `{"version":"`+ecsVersion+`"}`...)
	b = jsonStr(b, "message", a.Summary)

	b = append(jsonKey(b, "event"), `{"kind":"alert","category":["intrusion_detection"`...)
	if a.Method != "" {
		b = append(b, `,"web"`...)
	}
	b = append(b, `],"type":["info"]`...)
	b = jsonStr(b, "action", a.Action)
	b = jsonStr(b, "id", a.ID)
	if l := SeverityLevel(a.Severity); l >= 0 {
		b = jsonInt(b, "severity", ecsSeverity[l])
		b = jsonInt(b, "risk_score", ecsSeverity[l])
	}
	b = jsonStr(b, "dataset", "apitap.alert")
	b = jsonStr(b, "module", "apitap")
	b = jsonTime(b, "start", a.FirstSeen)
	b = jsonTime(b, "end", a.LastSeen)
	b = jsonTime(b, "created", a.Time)
	b = append(b, '}')

	if a.Kind != "" || a.Type != "" {
		b = append(jsonKey(b, "rule"), '{')
		b = append(jsonKey(b, "id"), '"')
		b = append(appendJSONChars(b, a.Kind), ':')
		b = append(appendJSONChars(b, a.Type), '"')
		b = jsonStr(b, "name", a.Type)
		b = jsonStr(b, "category", a.Kind)
		b = append(b, '}')
	}
	if a.ClientIP != "" {
		// source.address is the raw form; source.ip only takes an address.
		b = append(jsonKey(b, "source"), '{')
		b = jsonStr(b, "address", a.ClientIP)
		if addrFamily(a.ClientIP) != 0 {
			b = jsonStr(b, "ip", a.ClientIP)
		}
		b = append(b, '}')
	}
	if a.Host != "" || a.Endpoint != "" {
		// url.path is the route template, not a requested path.
		b = append(jsonKey(b, "url"), '{')
		b = jsonStr(b, "domain", a.Host)
		b = jsonStr(b, "path", a.Endpoint)
		b = append(b, '}')
	}
	if a.Method != "" {
		b = append(jsonKey(b, "http"), `{"request":{`...)
		b = jsonStr(b, "method", a.Method)
		b = append(b, "}}"...)
	}
	if a.Principal != "" {
		b = append(jsonKey(b, "user"), '{')
		b = jsonStr(b, "id", a.Principal)
		b = append(b, '}')
	}
	b = append(jsonKey(b, "observer"), `{"product":"apitap","vendor":"apitap","type":"ids"`...)
	b = jsonStr(b, "hostname", a.Observer)
	b = jsonStr(b, "version", a.Version)
	b = append(b, '}')

	mark := len(b)
	b = append(jsonKey(b, "apitap"), '{')
	b = jsonStr(b, "dedup_key", a.DedupKey)
	if a.Revision > 0 {
		b = jsonUint(b, "revision", uint64(a.Revision))
	}
	b = jsonStr(b, "finding_id", a.FindingID)
	b = jsonStr(b, "severity", a.Severity)
	b = jsonStr(b, "confidence", a.Confidence)
	b = jsonStr(b, "location", a.Location)
	b = jsonStr(b, "field", a.Field)
	b = jsonStr(b, "masked_sample", a.MaskedSample)
	b = jsonStr(b, "fingerprint", a.Fingerprint)
	if a.Count > 0 {
		b = jsonUint(b, "count", a.Count)
	}
	b = jsonEvidence(b, "evidence", a.Evidence)
	if b[len(b)-1] == '{' {
		return append(b[:mark], '}') // nothing of apitap's own
	}
	b = append(b, '}')
	return append(b, '}')
}
