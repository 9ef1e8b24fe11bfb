package alert

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestECS(t *testing.T) {
	a := sampleAlert()
	a.Field, a.MaskedSample, a.Fingerprint = "$.email", "a***@example.com", "hmac:ab"
	out, _ := Append(nil, ECS, a)
	m := decodeJSON(t, out)
	ts, err := time.Parse(time.RFC3339Nano, at(m, "@timestamp").(string))
	if err != nil || !ts.Equal(a.Time) {
		t.Fatalf("@timestamp %v (%v), want %v", at(m, "@timestamp"), err, a.Time)
	}
	rfc := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	checkPaths(t, m, map[string]any{
		"ecs.version": "8.11.0", "message": a.Summary,
		"event.kind": "alert", "event.category": []any{"intrusion_detection", "web"}, "event.type": []any{"info"},
		"event.action": "new", "event.id": a.ID, "event.severity": int64(73), "event.risk_score": int64(73),
		"event.dataset": "apitap.alert", "event.module": "apitap", "event.start": rfc(a.FirstSeen),
		"event.end": rfc(a.LastSeen), "event.created": rfc(a.Time),
		"rule.id": "anomaly:bola_enumeration", "rule.name": "bola_enumeration", "rule.category": "anomaly",
		"source.ip": "10.0.0.7", "source.address": "10.0.0.7",
		"url.domain": "api.example.com", "url.path": "/users/{id}", "http.request.method": "GET",
		"user.id":          a.Principal,
		"observer.product": "apitap", "observer.vendor": "apitap", "observer.type": "ids",
		"observer.hostname": "analyzer-1", "observer.version": "1.4.0",
		"apitap.dedup_key": a.DedupKey, "apitap.revision": int64(1), "apitap.finding_id": a.FindingID,
		"apitap.severity": "high", "apitap.confidence": "likely", "apitap.location": "behaviour",
		"apitap.field": "$.email", "apitap.masked_sample": "a***@example.com", "apitap.fingerprint": "hmac:ab",
		"apitap.count": int64(40), "apitap.evidence.distinct_ids": int64(40),
	})
}

func TestECSMappings(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Alert)
		want map[string]any
	}{
		{func(a *Alert) { a.Severity = "info" }, map[string]any{"event.severity": int64(1), "event.risk_score": int64(1)}},
		{func(a *Alert) { a.Severity = "low" }, map[string]any{"event.severity": int64(21)}},
		{func(a *Alert) { a.Severity = "medium" }, map[string]any{"event.severity": int64(47)}},
		{func(a *Alert) { a.Severity = "critical" }, map[string]any{"event.severity": int64(99), "event.risk_score": int64(99)}},
		{func(a *Alert) { a.Severity = "urgent" }, map[string]any{"event.severity": nil, "event.risk_score": nil, "apitap.severity": "urgent"}},
		{func(a *Alert) { a.Method = "" }, map[string]any{"event.category": []any{"intrusion_detection"}, "http": nil}},
		{func(a *Alert) { a.ClientIP = "_hidden" }, map[string]any{"source.address": "_hidden", "source.ip": nil}},
		{func(a *Alert) { a.ClientIP = "" }, map[string]any{"source": nil}},
		{func(a *Alert) { a.Principal, a.Host, a.Endpoint = "", "", "" }, map[string]any{"user": nil, "url": nil}},
		{func(a *Alert) { a.Kind, a.Type = "", "" }, map[string]any{"rule": nil}},
		{func(a *Alert) { a.Evidence = []byte("[1,\n 2]") }, map[string]any{"apitap.evidence": []any{int64Num(1), int64Num(2)}}},
		{func(a *Alert) { a.Evidence = []byte("{bad") }, map[string]any{"apitap.evidence": "{bad"}},
		{func(a *Alert) { a.FirstSeen, a.LastSeen = time.Time{}, time.Time{} }, map[string]any{"event.start": nil, "event.end": nil}},
	} {
		a := sampleAlert()
		c.mod(a)
		out, _ := Append(nil, ECS, a)
		checkPaths(t, decodeJSON(t, out), c.want)
	}
	out, _ := Append(nil, ECS, &Alert{})
	checkPaths(t, decodeJSON(t, out), map[string]any{"event.kind": "alert", "observer.type": "ids", "apitap": nil,
		"message": nil, "event.id": nil, "@timestamp": "0001-01-01T00:00:00Z"})
}

func TestECSHostile(t *testing.T) {
	for _, v := range hostileValues {
		a := hostileAlert(v)
		out, _ := Append(nil, ECS, a)
		same := func(s string) string { return strings.Map(func(r rune) rune { return r }, s) }
		checkPaths(t, decodeJSON(t, out), map[string]any{"message": same(a.Summary), "user.id": same(a.Principal),
			"rule.id": same(a.Kind) + ":" + same(a.Type), "url.path": same(a.Endpoint)})
	}
}

// int64Num is n as decodeJSON reads it inside arrays.
func int64Num(n int) any { return json.Number(strconv.Itoa(n)) }
