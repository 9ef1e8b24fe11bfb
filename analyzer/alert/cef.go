package alert

import (
	"math"
	"strconv"
	"time"
)

// CEF:0 (Micro Focus "Implementing ArcSight CEF", rev 25). Extension keys
// are the dictionary's own where one fits: a custom string (cs1-cs6) or
// flex string needs its label beside it, and a custom key
// (apitapEvidence) lands in ESM's unsearchable "Additional Data".

// cefExt writes the extension's key=value pairs, space separated.
type cefExt struct{ pairs }

// custom writes a custom field and, after it, its label: a label (fixed
// text) after each free-text value keeps the value's trailing spaces, which
// a parser keeps only for a value that is not the last.
func (w *cefExt) custom(k, v, label string) {
	if v == "" {
		return
	}
	w.str(k, v)
	w.b = append(w.b, ' ')
	w.b = append(w.b, k...)
	w.b = append(w.b, "Label="...)
	w.b = append(w.b, label...)
}

func (w *cefExt) millis(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.key(k)
	w.b = strconv.AppendInt(w.b, t.UnixMilli(), 10)
}

// appendCEF writes the syslog MSG of a in CEF. The most useful keys come
// first and the evidence last: the syslog transport truncates the tail.
func appendCEF(dst []byte, a *Alert) []byte {
	dst = append(dst, "CEF:0|apitap|apitap|"...)
	dst = appendText(dst, productVersion(a), cefHeader)
	dst = append(dst, '|')
	sig := len(dst)
	dst = appendText(dst, a.Kind, cefHeader)
	dst = append(dst, ':')
	dst = appendText(dst, a.Type, cefHeader)
	dst = append(dst, '|')
	if a.Summary != "" {
		dst = appendText(dst, a.Summary, cefHeader)
	} else {
		dst = append(dst, dst[sig:len(dst)-1]...) // the signature id, already escaped
	}
	dst = append(dst, '|')
	if l := SeverityLevel(a.Severity); l >= 0 {
		dst = strconv.AppendInt(dst, tenScale[l], 10)
	} else {
		dst = append(dst, "Unknown"...) // the spec's string form; never from Policy
	}
	dst = append(dst, '|')

	w := cefExt{pairs{b: dst, start: len(dst), sep: ' ', m: cefValue}}
	w.millis("rt", a.Time)
	w.str("externalId", a.ID)
	w.str("act", a.Action)
	w.str("cat", a.Kind)
	w.custom("cs1", a.Type, "type")
	w.custom("cs2", a.Confidence, "confidence")
	switch addrFamily(a.ClientIP) {
	case 4:
		w.str("src", a.ClientIP)
	case 6:
		// src is IPv4 only; c6a2 is the dictionary's source IPv6 address.
		w.custom("c6a2", a.ClientIP, "Source IPv6 Address")
	default:
		w.str("shost", a.ClientIP) // not an address: the source's name
	}
	w.str("suser", a.Principal)
	w.str("dhost", a.Host)
	w.str("requestMethod", a.Method)
	w.str("request", a.Endpoint)
	w.custom("cs3", a.Location, "location")
	w.custom("flexString1", a.Field, "field")
	w.custom("cs4", a.MaskedSample, "masked_sample")
	w.custom("cs5", a.FindingID, "finding_id")
	w.custom("cs6", a.DedupKey, "dedup_key")
	w.custom("flexString2", a.Fingerprint, "fingerprint")
	w.str("dvchost", a.Observer)
	w.str("msg", a.Summary)
	w.millis("start", a.FirstSeen)
	w.millis("end", a.LastSeen)
	if a.Count > 0 {
		w.key("cnt")
		w.b = strconv.AppendUint(w.b, min(a.Count, math.MaxInt32), 10) // cnt is a 32-bit Integer
	}
	if a.Revision > 0 {
		w.key("cn1")
		w.b = strconv.AppendUint(w.b, uint64(a.Revision), 10)
		w.b = append(w.b, " cn1Label=revision"...)
	}
	if len(a.Evidence) > 0 {
		w.key("apitapEvidence")
		w.b = appendEvidenceText(w.b, a.Evidence, cefValue)
	}
	return w.b
}
