package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/pcapgen"
)

// Values planted in the capture below; none may appear in any output file.
var planted = []string{"ann.lee@corp-mail.com", "4539148803436467", "GB34BARC20005377719911", "+442079460321",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLWJ5dGVzLXNpZ25hdHVyZQ"}

// sensitiveCapture writes a capture of a customer API that returns
// personal data, takes a JWT in the query string and leaks a stack trace.
func sensitiveCapture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sensitive.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg := func(start string, headers string, body string) []byte {
		return fmt.Appendf(nil, "%s\r\n%sContent-Length: %d\r\n\r\n%s", start, headers, len(body), body)
	}
	build := func(i int, host string) (req, resp []byte) {
		h := "Host: " + host + "\r\n"
		switch i % 4 {
		case 0, 1:
			var b strings.Builder
			b.WriteString(`{"customers":[`)
			for k := range 3 {
				if k > 0 {
					b.WriteString(",")
				}
				email := fmt.Sprintf("c%d.%d@corp-mail.com", i, k)
				if i == 0 && k == 0 {
					email = planted[0]
				}
				fmt.Fprintf(&b, `{"id":%d,"email":%q,"phone":%q,"payment":{"card_number":%q},"iban":%q}`,
					i*10+k, email, planted[3], planted[1], planted[2])
			}
			b.WriteString(`]}`)
			return msg(fmt.Sprintf("GET /api/v2/customers?page=%d HTTP/1.1", i), h, ""),
				msg("HTTP/1.1 200 OK", "Content-Type: application/json\r\n", b.String())
		case 2:
			return msg(fmt.Sprintf("GET /api/v2/reports/%d?access_token=%s HTTP/1.1", 1000+i, planted[4]), h, ""),
				msg("HTTP/1.1 200 OK", "Content-Type: application/json\r\n", `{"rows":12}`)
		default:
			return msg(fmt.Sprintf("GET /api/v2/orders/%d HTTP/1.1", 5000+i), h, ""),
				msg("HTTP/1.1 500 Internal Server Error", "Content-Type: text/plain\r\n",
					"java.lang.IllegalStateException: order state\n\tat com.shop.orders.OrderService.load(OrderService.java:118)\n"+
						"\tat com.shop.orders.OrderController.get(OrderController.java:52)\n")
		}
	}
	if _, err := pcapgen.Write(f, pcapgen.Options{Exchanges: 200, Conns: 10, Build: build}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunSensitiveData: the output contract of issue 5 — findings.jsonl
// carries aggregated pii and exposure findings with the contract fields,
// endpoints.jsonl lists pii_types by location, and no output file holds a
// raw value.
func TestRunSensitiveData(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"run", "--pcap", sensitiveCapture(t), "--out", dir, "--log-level", "error"}, &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	type key struct{ kind, typ, field string }
	got := map[key]map[string]any{}
	readLines(t, filepath.Join(dir, "findings.jsonl"), func(m map[string]any) {
		got[key{fmt.Sprint(m["kind"]), fmt.Sprint(m["type"]), fmt.Sprint(m["field"])}] = m
	})
	email := got[key{"pii", "email", "$.customers[].email"}]
	if email == nil {
		t.Fatalf("no email finding in %v", got)
	}
	for _, f := range []string{"kind", "type", "host", "method", "path", "location", "field", "confidence", "count",
		"first_seen", "last_seen", "masked_sample", "fingerprint", "severity"} {
		if _, ok := email[f]; !ok {
			t.Errorf("findings.jsonl lacks %q: %v", f, email)
		}
	}
	if email["host"] != "api.example.com" || email["method"] != "GET" || email["path"] != "/api/v2/customers" ||
		email["location"] != "response.body" || email["count"] != 100.0 || email["confidence"] == "possible" {
		t.Errorf("email finding %v", email)
	}
	for _, k := range []key{
		{"pii", "credit_card", "$.customers[].payment.card_number"},
		{"pii", "iban", "$.customers[].iban"},
		{"pii", "phone", "$.customers[].phone"},
		{"exposure", "secret_in_url", "access_token"},
		{"exposure", "verbose_error", "stack_trace"},
	} {
		if got[k] == nil {
			t.Errorf("missing finding %v", k)
		}
	}
	if c := got[key{"pii", "credit_card", "$.customers[].payment.card_number"}]; c != nil &&
		(c["severity"] != "critical" || c["masked_sample"] != "************6467" && !strings.HasSuffix(c["masked_sample"].(string), "6467")) {
		t.Errorf("card finding %v", c)
	}
	var types map[string][]string
	readLines(t, filepath.Join(dir, "endpoints.jsonl"), func(m map[string]any) {
		if m["path"] == "/api/v2/customers" {
			b, _ := json.Marshal(m["pii_types"])
			json.Unmarshal(b, &types)
		}
	})
	if !slices.Equal(types["response.body"], []string{"credit_card", "email", "iban", "phone"}) {
		t.Errorf("pii_types %v", types)
	}
	if !strings.Contains(out.String(), "sensitive data:") || !strings.Contains(out.String(), "credit_card") {
		t.Errorf("summary:\n%s", out.String())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		for _, v := range planted {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds the raw value %q", e.Name(), v)
			}
		}
	}
}

func readLines(t *testing.T, path string, f func(map[string]any)) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		f(m)
	}
}
