package freelist

import "testing"

func TestList(t *testing.T) {
	l := New[int](2)
	a, b, c := l.Get(), l.Get(), l.Get()
	if a == b || b == c {
		t.Fatal("Get on an empty list must return new objects")
	}
	if !l.Put(a) || !l.Put(b) {
		t.Fatal("Put under the bound must keep the object")
	}
	if l.Put(c) { // over the bound: dropped
		t.Fatal("Put over the bound must report the object dropped")
	}
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
