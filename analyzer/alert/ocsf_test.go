package alert

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// decodeJSON decodes one object with numbers kept as written.
func decodeJSON(t *testing.T, out []byte) map[string]any {
	t.Helper()
	if bytes.ContainsAny(out, "\r\n") {
		t.Fatalf("not one line: %q", out)
	}
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if d.More() {
		t.Fatalf("more than one value: %s", out)
	}
	return m
}

// at is the value at a dotted path ("evidences.0.actor.user.uid"), nil
// when absent.
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// checkPaths compares paths with values: an int64 wants that integer as
// written (no exponent, no fraction), nil wants the path absent.
func checkPaths(t *testing.T, m map[string]any, want map[string]any) {
	t.Helper()
	for p, w := range want {
		got := at(m, p)
		switch w := w.(type) {
		case int64:
			if n, ok := got.(json.Number); !ok || n.String() != strconv.FormatInt(w, 10) {
				t.Errorf("%s = %#v, want the integer %d", p, got, w)
			}
		case nil:
			if got != nil {
				t.Errorf("%s = %#v, want it absent", p, got)
			}
		default:
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s = %#v, want %#v", p, got, w)
			}
		}
	}
}

// The attributes OCSF 1.1.0 defines for Detection Finding, and for its
// Evidence Artifacts object: anything else fails a validating consumer.
var (
	ocsfDetectionFinding = strings.Fields(`action action_id activity_id activity_name actor api attacks authorizations
		category_name category_uid class_name class_uid cloud comment confidence confidence_id confidence_score count
		device disposition disposition_id duration end_time enrichments evidences finding_info firewall_rule impact
		impact_id impact_score malware message metadata observables raw_data remediation resources risk_level
		risk_level_id risk_score severity severity_id start_time status status_code status_detail status_id time
		timezone_offset type_name type_uid unmapped vulnerabilities`)
	ocsfEvidences = strings.Fields(`actor api connection_info data dst_endpoint file process query src_endpoint`)
)

func keysIn(t *testing.T, what string, m any, allowed []string) {
	t.Helper()
	obj, _ := m.(map[string]any)
	for k := range obj {
		if !strings.Contains(" "+strings.Join(allowed, " ")+" ", " "+k+" ") {
			t.Errorf("%s has %q, not in OCSF 1.1.0", what, k)
		}
	}
}

func TestOCSF(t *testing.T) {
	a := sampleAlert()
	a.Field, a.MaskedSample, a.Fingerprint = "$.email", "a***@example.com", "hmac:ab"
	out, _ := Append(nil, OCSF, a)
	m := decodeJSON(t, out)
	keysIn(t, "the event", m, ocsfDetectionFinding)
	keysIn(t, "evidences[0]", at(m, "evidences.0"), ocsfEvidences)
	ms := func(t time.Time) int64 { return t.UnixMilli() }
	checkPaths(t, m, map[string]any{
		"class_uid": int64(2004), "category_uid": int64(2), "activity_id": int64(1), "type_uid": int64(200401),
		"class_name": "Detection Finding", "activity_name": "Create", "type_name": "Detection Finding: Create",
		"time": ms(a.Time), "severity_id": int64(4), "severity": "High", "status_id": int64(1), "status": "New",
		"confidence_id": int64(2), "confidence": "Medium", "message": a.Summary, "count": int64(40),
		"start_time": ms(a.FirstSeen), "end_time": ms(a.LastSeen),
		"metadata.version": "1.1.0", "metadata.product.name": "apitap", "metadata.product.vendor_name": "apitap",
		"metadata.product.version": "1.4.0", "metadata.correlation_uid": a.DedupKey, "metadata.uid": a.ID + "-1",
		"metadata.sequence":  int64(1),
		"finding_info.uid":   a.ID,
		"finding_info.title": a.Summary, "finding_info.types": []any{"anomaly", "bola_enumeration"},
		"finding_info.first_seen_time": ms(a.FirstSeen), "finding_info.last_seen_time": ms(a.LastSeen),
		"finding_info.data_sources":         []any{"network traffic"},
		"resources.0.type":                  "api_endpoint",
		"resources.0.name":                  "GET api.example.com /users/{id}",
		"resources.0.data.host":             "api.example.com",
		"resources.0.data.method":           "GET",
		"resources.0.data.endpoint":         "/users/{id}",
		"evidences.0.src_endpoint.ip":       "10.0.0.7",
		"evidences.0.dst_endpoint.hostname": "api.example.com",
		"evidences.0.actor.user.uid":        a.Principal,
		"evidences.0.data.distinct_ids":     int64(40),
		"unmapped.finding_id":               a.FindingID,
		"unmapped.action":                   "new",
		"unmapped.location":                 "behaviour",
		"unmapped.field":                    "$.email",
		"unmapped.masked_sample":            "a***@example.com",
		"unmapped.fingerprint":              "hmac:ab",
		"unmapped.count":                    int64(40),
		"unmapped.observer":                 "analyzer-1",
		"unmapped.client_ip":                nil,
		"http_request":                      nil,
		"src_endpoint":                      nil,
		"evidences.0.dst_endpoint.ip":       nil,
		"finding_info.related_events":       nil,
		"metadata.product.uid":              nil,
		"evidences.1":                       nil,
		"resources.1":                       nil,
		"finding_info.desc":                 nil,
		"evidences.0.src_endpoint.hostname": nil,
		"evidences.0.actor.user.name":       nil,
		"evidences.0.data.denied":           json.Number("0.35"),
		"unmapped.revision":                 nil,
	})
}

func TestOCSFMappings(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Alert)
		want map[string]any
	}{
		{func(a *Alert) { a.Action = "update"; a.Revision = 3 },
			map[string]any{"activity_id": int64(2), "type_uid": int64(200402), "type_name": "Detection Finding: Update",
				"metadata.uid": "8f1c2a9be0d4473a91c5e2f0-3", "metadata.sequence": int64(3)}},
		{func(a *Alert) { a.Action = "test" }, map[string]any{"activity_id": int64(1), "type_uid": int64(200401), "unmapped.action": "test"}},
		{func(a *Alert) { a.Severity = "info" }, map[string]any{"severity_id": int64(1), "severity": "Informational"}},
		{func(a *Alert) { a.Severity = "low" }, map[string]any{"severity_id": int64(2), "severity": "Low"}},
		{func(a *Alert) { a.Severity = "medium" }, map[string]any{"severity_id": int64(3), "severity": "Medium"}},
		{func(a *Alert) { a.Severity = "critical" }, map[string]any{"severity_id": int64(5), "severity": "Critical"}},
		{func(a *Alert) { a.Severity = "" }, map[string]any{"severity_id": int64(0), "severity": "Unknown"}},
		{func(a *Alert) { a.Severity = "urgent" }, map[string]any{"severity_id": int64(99), "severity": "urgent"}},
		{func(a *Alert) { a.Confidence = "possible" }, map[string]any{"confidence_id": int64(1), "confidence": "Low"}},
		{func(a *Alert) { a.Confidence = "confirmed" }, map[string]any{"confidence_id": int64(3), "confidence": "High"}},
		{func(a *Alert) { a.Confidence = "" }, map[string]any{"confidence_id": nil, "confidence": nil}},
		{func(a *Alert) { a.Confidence = "maybe" }, map[string]any{"confidence_id": int64(99), "confidence": "maybe"}},
		{func(a *Alert) { a.Count = 1 << 40 }, map[string]any{"count": int64(1<<31 - 1), "unmapped.count": int64(1 << 40)}},
		{func(a *Alert) { a.ClientIP = "_hidden" }, map[string]any{"evidences.0.src_endpoint": nil, "unmapped.client_ip": "_hidden"}},
		{func(a *Alert) { a.ClientIP = "2001:db8::7" }, map[string]any{"evidences.0.src_endpoint.ip": "2001:db8::7"}},
		{func(a *Alert) { a.Host = "192.0.2.1" }, map[string]any{"evidences.0.dst_endpoint.ip": "192.0.2.1", "evidences.0.dst_endpoint.hostname": nil}},
		{func(a *Alert) { a.Summary = "" }, map[string]any{"message": nil, "finding_info.title": "anomaly:bola_enumeration"}},
		{func(a *Alert) { a.Evidence = []byte("{\n \"x\" : 1 }\n") }, map[string]any{"evidences.0.data.x": int64(1)}},
		{func(a *Alert) { a.Evidence = []byte("not json\n") }, map[string]any{"evidences.0.data": "not json\n"}},
		{func(a *Alert) { a.FirstSeen, a.LastSeen, a.Count = time.Time{}, time.Time{}, 0 },
			map[string]any{"start_time": nil, "end_time": nil, "finding_info.first_seen_time": nil, "count": nil, "unmapped.count": nil}},
	} {
		a := sampleAlert()
		c.mod(a)
		out, _ := Append(nil, OCSF, a)
		checkPaths(t, decodeJSON(t, out), c.want)
	}
	// The empty alert is still a Detection Finding, without empty objects.
	out, _ := Append(nil, OCSF, &Alert{})
	m := decodeJSON(t, out)
	checkPaths(t, m, map[string]any{"class_uid": int64(2004), "type_uid": int64(200401), "severity_id": int64(0),
		"metadata.version": "1.1.0", "resources": nil, "evidences": nil, "unmapped": nil, "finding_info.uid": nil,
		"finding_info.types": nil})
}

// Hostile text survives as the same text.
func TestOCSFHostile(t *testing.T) {
	for _, v := range hostileValues {
		a := hostileAlert(v)
		out, _ := Append(nil, OCSF, a)
		m := decodeJSON(t, out)
		// Invalid UTF-8 becomes U+FFFD byte by byte, as strings.Map does.
		want := strings.Map(func(r rune) rune { return r }, a.Summary)
		checkPaths(t, m, map[string]any{"message": want, "finding_info.title": want,
			"evidences.0.actor.user.uid": strings.Map(func(r rune) rune { return r }, a.Principal)})
		std, _ := json.Marshal(a.Summary)
		var back string
		if json.Unmarshal(std, &back) != nil || at(m, "message") != back {
			t.Errorf("message %q differs from encoding/json's %q", at(m, "message"), back)
		}
	}
}

// FuzzJSONFormats: OCSF and ECS are written by hand; whatever the input,
// each is one valid JSON line whose text reads back as encoding/json
// would carry it.
func FuzzJSONFormats(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, ip string, count uint64, rev uint32, tm, first, last int64) {
		a := fuzzAlert(text, ip, count, rev, tm, first, last)
		// What encoding/json makes of a string: invalid UTF-8 → U+FFFD.
		same := func(s string) any {
			if s == "" {
				return nil
			}
			b, _ := json.Marshal(s)
			var back string
			json.Unmarshal(b, &back)
			return back
		}
		for _, f := range []Format{OCSF, ECS, JSON} {
			out, err := Append(nil, f, a)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) || bytes.ContainsAny(out, "\r\n") {
				t.Fatalf("%s: not one valid JSON line: %q", f, out)
			}
			var m map[string]any
			d := json.NewDecoder(bytes.NewReader(out))
			d.UseNumber()
			if err := d.Decode(&m); err != nil {
				t.Fatal(err)
			}
			switch f {
			case OCSF:
				if at(m, "message") != same(a.Summary) || at(m, "metadata.correlation_uid") != same(a.DedupKey) ||
					at(m, "unmapped.location") != same(a.Location) || at(m, "class_uid") != json.Number("2004") {
					t.Fatalf("OCSF lost text: %s", out)
				}
			case ECS:
				if at(m, "message") != same(a.Summary) || at(m, "user.id") != same(a.Principal) ||
					at(m, "apitap.masked_sample") != same(a.MaskedSample) || at(m, "source.address") != same(a.ClientIP) {
					t.Fatalf("ECS lost text: %s", out)
				}
			case JSON:
				if at(m, "summary") != same(a.Summary) && !(a.Summary == "" && at(m, "summary") == "") {
					t.Fatalf("JSON lost text: %s", out)
				}
			}
			if len(a.Evidence) > 0 && strings.TrimSpace(string(a.Evidence)) != "null" {
				key := map[Format]string{OCSF: "evidences.0.data", ECS: "apitap.evidence", JSON: "evidence"}[f]
				if at(m, key) == nil {
					t.Fatalf("%s: no evidence in %s", f, out)
				}
			}
		}
	})
}
