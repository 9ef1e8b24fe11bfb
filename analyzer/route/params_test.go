package route

import (
	"slices"
	"testing"
)

func TestEachParam(t *testing.T) {
	for _, c := range []struct {
		template, path string
		want           []string
	}{
		{"/users/{id}/orders/{orderId}", "/users/42/orders/a-9", []string{"{id}=42", "{orderId}=a-9"}},
		{"/users/{id}", "/users/42/extra", []string{"{id}=42"}},
		{"/users/{id}/x", "/users", nil},
		{"/static/path", "/static/path", nil},
		{"/a/{}/b", "/a/1/b", nil}, // "{}" names nothing
		{"/a/{p}", "/a/", nil},
		{"/a//{p}", "/a//v", []string{"{p}=v"}},
		{"files/{name}", "/files/x.txt", []string{"{name}=x.txt"}},
	} {
		var got []string
		EachParam(c.template, c.path, func(n, v string) { got = append(got, n+"="+v) })
		if !slices.Equal(got, c.want) {
			t.Errorf("EachParam(%q, %q) = %q, want %q", c.template, c.path, got, c.want)
		}
	}
	n := 0
	if a := testing.AllocsPerRun(100, func() {
		EachParam("/users/{id}/orders/{orderId}", "/users/42/orders/9", func(string, string) { n++ })
	}); a != 0 {
		t.Fatalf("EachParam allocates %.0f times", a)
	}
}
