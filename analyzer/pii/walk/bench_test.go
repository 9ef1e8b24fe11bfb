package walk

import (
	"fmt"
	"strings"
	"testing"
)

// benchBody is a realistic API list response of about size bytes: user
// records with nested addresses, orders, escapes and numbers.
func benchBody(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i := 0; b.Len() < size-300; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"6f1c2a9e-8b7d-4c3e-9a1f-%012d","type":"user","attributes":{"email":"user%d@example.org","firstName":"Jane","lastName":"O\u0027Neil","phone":"+1415555%04d","createdAt":"2024-03-%02dT10:15:00Z","active":true,"score":%d.25,"address":{"street":"%d Market St","city":"San Francisco","postalCode":"94105","country":"US"},"tags":["beta","vip"],"lastOrder":{"orderNumber":"1000%012d","total":129.99,"currency":"USD","note":null}}}`,
			i, i, i%10000, i%28+1, i*7, i+1, i)
	}
	b.WriteString(`],"meta":{"page":1,"perPage":50,"next":"/v1/users?page=2&cursor=eyJpZCI6MTB9"}}`)
	return []byte(b.String())
}

func BenchmarkJSON(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 10 << 10} {
		body := benchBody(size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			var w Walker
			n := 0
			visit := func(l *Leaf) bool { n += len(l.Path); return true }
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.JSON(body, visit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkXML(b *testing.B) {
	body := []byte(strings.Repeat(soap, 8))
	body = append([]byte("<r>"), append(body[len(`<?xml version="1.0" encoding="UTF-8"?>`):], "</r>"...)...)
	var w Walker
	visit := func(l *Leaf) bool { return true }
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		w.XML(body, visit)
	}
}
