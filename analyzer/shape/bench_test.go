package shape

import (
	"encoding/json"
	"testing"
)

// body is a realistic ~1 KB response: an order with a customer, items,
// addresses, timestamps, ids and nullable fields.
var body = []byte(`{
  "id": "5f0c2b8e-9d1a-4c6e-8b7f-3a2d1e0f9c8b",
  "number": 100234,
  "status": "shipped",
  "created_at": "2024-03-14T09:26:53.589Z",
  "updated_at": "2024-03-15T11:02:17Z",
  "customer": {
    "id": 88213,
    "email": "jane.doe@example.com",
    "name": "Jane Doe",
    "phone": null,
    "verified": true,
    "signup_ip": "203.0.113.42"
  },
  "shipping_address": {
    "line1": "1 Main Street", "line2": null, "city": "Springfield",
    "postal_code": "12345", "country": "US"
  },
  "items": [
    {"sku": "SKU-1001", "name": "Widget", "quantity": 2, "unit_price": 19.99, "discount": 0, "image": "https://cdn.example.com/i/1001.png"},
    {"sku": "SKU-2002", "name": "Gadget", "quantity": 1, "unit_price": 149.5, "discount": 10.0, "image": "https://cdn.example.com/i/2002.png"},
    {"sku": "SKU-3003", "name": "Doohickey", "quantity": 5, "unit_price": 3.25, "discount": 0, "image": null}
  ],
  "totals": {"subtotal": 205.73, "tax": 16.46, "shipping": 0, "total": 222.19, "currency": "USD"},
  "payment": {"method": "card", "brand": "visa", "last4": "4242", "paid_on": "2024-03-14"},
  "tags": ["priority", "gift"],
  "notes": "Leave at the door\n\"fragile\"",
  "links": {"self": "https://api.example.com/v1/orders/100234", "invoice": "https://api.example.com/v1/invoices/77"}
}`)

func BenchmarkObserveJSON(b *testing.B) {
	var s Shape
	s.ObserveJSON(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !s.ObserveJSON(body) {
			b.Fatal("not JSON")
		}
	}
}

// BenchmarkUnmarshalAny is the baseline the package avoids: decoding the
// same body into a generic tree, before any inference.
func BenchmarkUnmarshalAny(b *testing.B) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	var o Shape
	o.ObserveJSON(body)
	b.ReportAllocs()
	for b.Loop() {
		var s Shape
		s.Merge(&o)
	}
}

func BenchmarkSchema(b *testing.B) {
	var s Shape
	s.ObserveJSON(body)
	b.ReportAllocs()
	for b.Loop() {
		s.Schema()
	}
}
