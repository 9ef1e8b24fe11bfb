package exchange

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// fuzzCards are valid Luhn numbers in the spellings a body carries them:
// grouped and bare, a real-looking one and a documented test card.
var fuzzCards = []string{"4539 5787 6362 1486", "4539578763621486", "4242 4242 4242 4242", "5555-5555-5555-4444"}

// FuzzMask: an arbitrary body under an arbitrary media type, whole or cut,
// never panics, keeps its length, only ever gets '*', '0' or ' ' written
// into it, and stays valid JSON (valid NDJSON lines) when it was. And a
// card number planted under "card_number" next to the arbitrary bytes, in
// a JSON, NDJSON or form body, never survives: whole, only its last four
// digits are left; cut by the end of the body anywhere inside it, none.
func FuzzMask(f *testing.F) {
	f.Add([]byte(`{"email":"john.doe@gmail.com","a":[1,"x\u0041",{"b":null}]}`), "application/json", uint16(0xffff), uint8(0))
	f.Add([]byte("{\"a\":1}\n{\"cc\":\"4539578763621486\"}\n"), "application/x-ndjson", uint16(20), uint8(1))
	f.Add([]byte("email=a%40b.co&pin=1234&x"), "application/x-www-form-urlencoded", uint16(9), uint8(2))
	f.Add([]byte("pay with 4539 5787 6362 1486 thanks"), "text/plain", uint16(30), uint8(3))
	f.Add([]byte(`["\ud83d\ude00 x@y.com \u00e9", 1e5, -0]`), "", uint16(0xffff), uint8(4))
	f.Add([]byte(`{"password": hunter2, "a":[1,2,],}`), "application/problem+json", uint16(40), uint8(5))
	f.Add([]byte("\x1e{\"ssn\":\"234-56-7890\"}\n\x1e[\"+14155552671\"]"), "application/json-seq", uint16(0xffff), uint8(6))
	f.Add([]byte("<a>john.doe@gmail.com</a>"), "application/xml", uint16(0xffff), uint8(7))
	f.Add([]byte(`{"a":"\`), "application/json", uint16(0xffff), uint8(8))

	m := newTestMasker(f, nil)
	f.Fuzz(func(t *testing.T, body []byte, ct string, cutAt uint16, variant uint8) {
		ctb := []byte(strings.ToLower(ct))
		kind := mediaKind(ctb, body)

		// 1. Any body.
		for _, cut := range []bool{false, true} {
			out := append([]byte(nil), body...)
			m.data(ctb, out, cut)
			if len(out) != len(body) {
				t.Fatalf("length %d, want %d", len(out), len(body))
			}
			for i := range out {
				if c := out[i]; c != body[i] && c != '*' && c != '0' && c != ' ' {
					t.Fatalf("byte %d: %q became %q", i, body[i], c)
				}
			}
			switch kind {
			case mkJSON:
				if json.Valid(body) && !json.Valid(out) {
					t.Fatalf("valid JSON became invalid:\n%q\n%q", body, out)
				}
			case mkNDJSON:
				in, got := bytes.Split(body, []byte("\n")), bytes.Split(out, []byte("\n"))
				for i := range in {
					if json.Valid(in[i]) && !json.Valid(got[i]) {
						t.Fatalf("valid NDJSON line %d became invalid:\n%q\n%q", i, in[i], got[i])
					}
				}
			}
		}

		// 2. A planted card.
		card := fuzzCards[int(variant)%len(fuzzCards)]
		var (
			planted []byte
			pct     string
			isNum   bool
		)
		note, _ := json.Marshal(string(body))
		switch (variant / 4) % 5 {
		case 0: // JSON string
			planted, pct = []byte(`{"note":`+string(note)+`,"card_number":"`+card+`","z":1}`), "application/json"
		case 1: // JSON number
			card = strings.NewReplacer(" ", "", "-", "").Replace(card)
			planted, pct, isNum = []byte(`{"note":`+string(note)+`,"card_number":`+card+`,"z":1}`), "application/json", true
		case 2: // NDJSON after a raw line of arbitrary bytes
			planted, pct = []byte(string(body)+"\n{\"card_number\":\""+card+"\",\"z\":1}\n"), "application/x-ndjson"
		case 3: // form after arbitrary raw pairs
			card = strings.ReplaceAll(card, " ", "+")
			planted, pct = []byte(string(body)+"&card_number="+card+"&z=1"), "application/x-www-form-urlencoded"
		case 4: // sniffed JSON, the arbitrary bytes as a key
			planted, pct = []byte(`{`+string(note)+`:1,"card_number":"`+card+`"}`), ""
		}
		start := bytes.LastIndex(planted, []byte(card))
		end := start + len(card)
		cut := int(cutAt) < len(planted)
		if cut {
			planted = planted[:cutAt]
		}
		if int(cutAt) <= start {
			return // the card is not in the body
		}
		m.data([]byte(pct), planted, cut)
		region := planted[start:min(end, len(planted))]
		if !cut || int(cutAt) > end {
			// Whole: the preview, or 0 for a number.
			want := []byte(card)
			if isNum {
				want = append([]byte("0"), bytes.Repeat([]byte(" "), len(card)-1)...)
			} else {
				for i, nd := len(want)-1, 0; i >= 0; i-- {
					if isDigit(want[i]) {
						if nd >= 4 {
							want[i] = '*'
						}
						nd++
					}
				}
			}
			if !bytes.Equal(region, want) {
				t.Fatalf("card %q became %q, want %q in\n%q", card, region, want, planted)
			}
			return
		}
		// Cut inside the card: no digit of it is left (a number becomes 0).
		for i, c := range region {
			if isDigit(c) && !(isNum && i == 0 && c == '0') {
				t.Fatalf("cut card %q left %q in\n%q", card, region, planted)
			}
		}
	})
}
