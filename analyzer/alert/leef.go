package alert

import (
	"strconv"
	"time"
)

// LEEF:2.0 (IBM QRadar LEEF 2.0). The attribute delimiter is a tab, named
// in the header by its hex form "x09": a literal tab in the header is
// invisible and some relays turn it into spaces. LEEF defines no escaping:
// a tab, CR or LF in a value becomes a space, and '|' in a header field
// becomes '/'. '=' stays: a value runs to the next delimiter.

// leefTimeLayout is devTimeFormat "MMM dd yyyy HH:mm:ss.SSS z" (IBM's
// suggested pattern) in Go, the zone written as GMT, which Java's
// SimpleDateFormat parses.
const (
	leefTimeLayout = "Jan 02 2006 15:04:05.000"
	leefTimeFormat = "MMM dd yyyy HH:mm:ss.SSS z"
)

// leefAttrs writes the tab-separated key=value attributes.
type leefAttrs struct{ pairs }

func (w *leefAttrs) stamp(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.key(k)
	w.b = t.UTC().AppendFormat(w.b, leefTimeLayout)
	w.b = append(w.b, " GMT"...)
}

func (w *leefAttrs) uint(k string, v uint64) {
	if v == 0 {
		return
	}
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

// appendLEEF writes the syslog MSG of a in LEEF 2.0; as in CEF, the
// evidence comes last for the transport's truncation.
func appendLEEF(dst []byte, a *Alert) []byte {
	dst = append(dst, "LEEF:2.0|apitap|apitap|"...)
	dst = appendText(dst, productVersion(a), leefHeader)
	dst = append(dst, '|')
	dst = appendText(dst, a.Kind, leefHeader)
	dst = append(dst, ':')
	dst = appendText(dst, a.Type, leefHeader)
	dst = append(dst, "|x09|"...)

	w := leefAttrs{pairs{b: dst, start: len(dst), sep: '\t', m: leefValue}}
	if !a.Time.IsZero() {
		w.stamp("devTime", a.Time)
		w.str("devTimeFormat", leefTimeFormat)
	}
	w.str("cat", a.Kind)
	if l := SeverityLevel(a.Severity); l >= 0 {
		w.uint("sev", uint64(tenScale[l])) // sev takes 1-10 only: no sev for an unknown name
	}
	w.str("apitapType", a.Type)
	w.str("apitapConfidence", a.Confidence)
	if addrFamily(a.ClientIP) != 0 {
		w.str("src", a.ClientIP) // IPv4 or IPv6
	} else {
		w.str("client", a.ClientIP)
	}
	w.str("usrName", a.Principal)
	w.str("host", a.Host)
	w.str("method", a.Method)
	w.str("endpoint", a.Endpoint)
	w.str("location", a.Location)
	w.str("field", a.Field)
	w.str("maskedSample", a.MaskedSample)
	w.str("findingId", a.FindingID)
	w.str("alertId", a.ID)
	w.str("dedupKey", a.DedupKey)
	w.str("action", a.Action)
	w.uint("revision", uint64(a.Revision))
	w.uint("count", a.Count)
	w.stamp("firstSeen", a.FirstSeen)
	w.stamp("lastSeen", a.LastSeen)
	w.str("fingerprint", a.Fingerprint)
	w.str("observer", a.Observer)
	w.str("summary", a.Summary)
	if len(a.Evidence) > 0 {
		w.key("evidence")
		w.b = appendEvidenceText(w.b, a.Evidence, leefValue)
	}
	return w.b
}
