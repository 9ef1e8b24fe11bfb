package pii

import (
	"strings"
	"testing"
)

type benchLeaf struct{ key, value []byte }

// benchLeaves is a realistic mix of JSON leaves: mostly words, numbers,
// flags, ids and timestamps, with a few sensitive values.
func benchLeaves() []benchLeaf {
	kv := [][2]string{
		{"$.data.items.id", "8f14e45f-ceea-467f-a0b6-5b1f3e6c9a27"},
		{"$.data.items.status", "active"},
		{"$.data.items.enabled", "true"},
		{"$.data.items.count", "42"},
		{"$.data.items.price", "19.99"},
		{"$.data.items.created_at", "2024-05-20T10:31:00Z"},
		{"$.data.items.title", "Blue widget, large"},
		{"$.data.items.sku", "WID-0042-BL"},
		{"$.data.items.currency", "EUR"},
		{"$.data.items.updated", "1716201060"},
		{"$.data.items.type", "product"},
		{"$.data.items.tags", "sale"},
		{"$.data.items.url", "https://shop.acme.io/p/42"},
		{"$.data.items.etag", "5f4dcc3b5aa765d61d8327deb882cf99"},
		{"$.meta.page", "3"},
		{"$.meta.next", "null"},
		{"$.data.user.email", "jane.doe@acme.io"},
		{"$.data.user.first_name", "Jane"},
		{"$.data.user.phone", "+14155552671"},
		{"$.data.payment.card_number", "4556737586899855"},
		{"$.data.items.description", "A sturdy widget for everyday use."},
		{"$.data.items.locale", "en-US"},
		{"$.data.items.weight", "1.25"},
		{"$.data.items.in_stock", "false"},
	}
	out := make([]benchLeaf, len(kv))
	for i, p := range kv {
		out[i] = benchLeaf{[]byte(p[0]), []byte(p[1])}
	}
	return out
}

var benchText = func() []byte {
	s := "Order 8812 shipped on 2024-05-20 to the customer. Contact jane.doe@acme.io or call +1 415 555 2671 " +
		"if the parcel (tracking 1Z999AA10123456784) is late. Paid with card 4556 7375 8689 9855; version v1.2.3. " +
		"The quick brown fox jumps over the lazy dog, and the widget costs 19.99 EUR including VAT of 20%. "
	for len(s) < 1024 {
		s += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. "
	}
	return []byte(s[:1024])
}()

// jsonBytes is what the leaves weigh in a JSON body: "name":"value",
// (the walker builds the full path; the body holds only the last name).
func jsonBytes(leaves []benchLeaf) int {
	n := 0
	for _, l := range leaves {
		seg, _ := nextSeg(l.key, len(l.key))
		n += len(seg) + len(l.value) + 6
	}
	return n
}

// BenchmarkLeaf: MB/s of the equivalent JSON body, key parsed per leaf.
func BenchmarkLeaf(b *testing.B) {
	d := newDet(b)
	leaves := benchLeaves()
	n := jsonBytes(leaves)
	dst := make([]Match, 0, 16)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range leaves {
			dst = d.Leaf(dst[:0], l.key, l.value)
		}
	}
}

// BenchmarkLeafKey: the same with keys parsed once (ParseKey), as a walker
// does for array elements.
func BenchmarkLeafKey(b *testing.B) {
	d := newDet(b)
	leaves := benchLeaves()
	keys := make([]Key, len(leaves))
	for i, l := range leaves {
		keys[i] = ParseKey(l.key)
	}
	dst := make([]Match, 0, 16)
	b.SetBytes(int64(jsonBytes(leaves)))
	b.ReportAllocs()
	for b.Loop() {
		for i, l := range leaves {
			dst = d.LeafKey(dst[:0], keys[i], l.value)
		}
	}
}

func BenchmarkText(b *testing.B) {
	d := newDet(b)
	dst := make([]Match, 0, 16)
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	for b.Loop() {
		dst = d.Text(dst[:0], nil, benchText)
	}
}

func BenchmarkTextDigits(b *testing.B) {
	d := newDet(b)
	t := []byte(strings.Repeat("1234567890123456 ", 64))
	dst := make([]Match, 0, 128)
	b.SetBytes(int64(len(t)))
	b.ReportAllocs()
	for b.Loop() {
		dst = d.Text(dst[:0], nil, t)
	}
}
