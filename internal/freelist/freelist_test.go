package freelist

import "testing"

func TestList(t *testing.T) {
	l := New[int](2)
	a, b, c := l.Get(), l.Get(), l.Get()
	if a == b || b == c {
		t.Fatal("Get on an empty list must return new objects")
	}
	l.Put(a)
	l.Put(b)
	l.Put(c) // over the bound: dropped
	if l.Len() != 2 {
		t.Fatalf("Len %d, want 2", l.Len())
	}
	if x := l.Get(); x != b {
		t.Fatal("Get must return the last object put (LIFO: the warmest)")
	}
	if x := l.Get(); x != a {
		t.Fatal("second Get must return the first object put")
	}
	if l.Len() != 0 {
		t.Fatal("list not empty")
	}
	if n := testing.AllocsPerRun(100, func() { l.Put(l.Get()) }); n != 0 {
		t.Fatalf("reuse allocates %v times", n)
	}
}
