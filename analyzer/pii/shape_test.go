package pii

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// shapeKeys: neutral, negative and every kind of hint, so that the key
// rules that still run after a scan-free shape are exercised too.
var shapeKeys = []string{"", "$.value", "$.items[].id", "$.created_at", "$.card_number", "$.user.ssn",
	"$.client_ip", "$.api_key", "$.access_token", "$.password", "$.phone", "$.iban", "$.account_number",
	"$.routing_number", "$.dob", "$.passport_number", "$.aws_secret_access_key", "$.session_id",
	"$.database_url", "$.user.name", "$.first_name", "$.address", "$.private_key", "X-Api-Key", "$.version"}

func randFrom(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// scanFreeValues generates values of every scan-free shape, the
// adversarial ones included (all-digit groups, AWS and IBAN prefixes,
// 12-19 digits before the first letter, every timestamp variant).
func scanFreeValues(r *rand.Rand) []string {
	var vs []string
	hexL, hexU, digits := "0123456789abcdef", "0123456789ABCDEF", "0123456789"
	for range 3000 {
		// UUIDs
		a := hexL
		switch r.IntN(4) {
		case 0:
			a = hexU
		case 1:
			a = digits
		case 2:
			a = hexL + hexU
		}
		u := randFrom(r, a, 8) + "-" + randFrom(r, a, 4) + "-" + randFrom(r, a, 4) + "-" + randFrom(r, a, 4) + "-" + randFrom(r, a, 12)
		switch r.IntN(4) {
		case 0:
			u = "ACCA" + randFrom(r, "234567ABCDEF", 4) + u[8:] // an AWS key id prefix
		case 1:
			u = "AB" + randFrom(r, digits, 2) + randFrom(r, hexU, 4) + u[8:] // an IBAN's country and check digits
		}
		vs = append(vs, u)
		// timestamps
		ts := fmt.Sprintf("%04d-%02d-%02d%c%02d:%02d", r.IntN(10000), r.IntN(100), r.IntN(100), "T "[r.IntN(2)], r.IntN(100), r.IntN(100))
		if r.IntN(4) > 0 {
			ts += fmt.Sprintf(":%02d", r.IntN(100))
			if r.IntN(2) == 0 {
				ts += "." + randFrom(r, digits, 1+r.IntN(9))
			}
		}
		switch r.IntN(5) {
		case 0:
			ts += "Z"
		case 1:
			ts += string("+-"[r.IntN(2)]) + randFrom(r, digits, 2) + ":" + randFrom(r, digits, 2)
		case 2:
			ts += string("+-"[r.IntN(2)]) + randFrom(r, digits, 4)
		}
		vs = append(vs, ts)
		// hex ids
		n := 16 + r.IntN(49)
		h := randFrom(r, hexL, n)
		if r.IntN(3) == 0 { // a long digit run before the first letter
			d := min(n-1, 10+r.IntN(12))
			h = randFrom(r, digits, d) + randFrom(r, "abcdef", 1) + h[d+1:]
		}
		if strings.ContainsAny(h, "abcdef") {
			vs = append(vs, h)
		}
	}
	// valid cards, SSNs and IPs hidden in the digit groups
	vs = append(vs, "45391488-0343-6467-0000-000000000000",
		"00000000-0000-0000-0000-000000000000", "123e4567-e89b-12d3-a456-426614174000",
		"4539148803436467abcdef0123456789", "078051120abcdef0123456", "19216811abcdefabcdef",
		"2026-03-01T10:10:00.123456789+01:00", "1999-12-31 23:59", "2026-03-01T10:10:00.1-0500")
	return vs
}

// TestScanFreeShapes: in every value of a scan-free shape the scanner
// finds nothing whatever the key, so value() may skip it; Leaf gives what
// the scanner and the key rules give together.
func TestScanFreeShapes(t *testing.T) {
	d := newDet(t)
	r := rand.New(rand.NewPCG(7, 11))
	vs := scanFreeValues(r)
	for _, v := range vs {
		if !scanFree([]byte(v)) {
			t.Fatalf("%q: not recognised as scan-free", v)
		}
		for _, key := range shapeKeys {
			k := parseKey([]byte(key))
			if ms, _ := d.scan(nil, &k, []byte(v), 0, true); len(ms) > 0 {
				t.Fatalf("Leaf(%q, %q): the scanner finds %s", key, v, show(ms, v))
			}
			k = parseKey([]byte(key))
			want := d.context(nil, &k, []byte(v), 0)
			if got := d.Leaf(nil, []byte(key), []byte(v)); !slices.Equal(got, want) {
				t.Fatalf("Leaf(%q, %q) = %s, want %s", key, v, show(got, v), show(want, v))
			}
		}
	}
	// A hint still applies to a scan-free value.
	if ms := d.Leaf(nil, []byte("$.session_token"), []byte("123e4567-e89b-12d3-a456-426614174000")); len(ms) != 1 || ms[0].Type != SessionToken {
		t.Fatalf("uuid session token: %s", show(ms, ""))
	}
}

// TestScanFreeRejects: values close to the shapes that the scanner must
// see.
func TestScanFreeRejects(t *testing.T) {
	for _, v := range []string{
		"4539148803436467", "45391488034364670000", "0123456789012345", // digits only: cards, phones
		"4539-1488-0343-6467-000000000000", "4539 1488 0343 6467 000000000000", // a card in groups
		"4539148803436467-0343-6467-0000-0000",
		"2026-03-01", "2026-03-01T10:10:00 +01:00", "2026-03-01T10:10:00.1234567890Z", "2026-03-01T10:10:00+1:00",
		"2026-03-01T10:10:00Zx", "2026-03-01x10:10:00", "2026-0a-01T10:10:00",
		"123e4567-e89b-12d3-a456-42661417400g", "123e4567_e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-4266141740000",
		"ABCDEF0123456789ABCDEF", "AKIAIOSFODNN7EXAMPLE", "abcdef0123456789abcdeg", "abcdef012345678", // upper-case hex, short
		"jane.doe@example.org", "eyJhbGciOiJIUzI1NiJ9.e30.abc", "dapi0123456789abcdef0123456789abcdef",
	} {
		if scanFree([]byte(v)) {
			t.Errorf("%q: scan-free", v)
		}
	}
}

func FuzzScanFree(f *testing.F) {
	for _, v := range scanFreeValues(rand.New(rand.NewPCG(1, 1)))[:40] {
		f.Add([]byte(v))
	}
	d, _ := New(Config{})
	f.Fuzz(func(t *testing.T, v []byte) {
		if !scanFree(v) {
			return
		}
		for _, key := range shapeKeys {
			k := parseKey([]byte(key))
			if ms, _ := d.scan(nil, &k, v, 0, true); len(ms) > 0 {
				t.Fatalf("Leaf(%q, %q): the scanner finds %s", key, v, show(ms, string(v)))
			}
		}
	})
}
