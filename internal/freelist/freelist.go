// Package freelist keeps idle objects for reuse: a bounded stack, so a
// burst that needed many leaves at most a few behind. Unlike sync.Pool it
// keeps them across garbage collections (they hold large buffers worth
// keeping) and never more than its bound. Not safe for concurrent use:
// the owner locks around it when it must.
package freelist

// List is a stack of at most max idle *T. The zero List keeps nothing.
type List[T any] struct {
	items []*T
	max   int
}

// New returns a List keeping at most max idle objects.
func New[T any](max int) List[T] { return List[T]{max: max} }

// Get returns an idle object, or a new zero one when there is none.
func (l *List[T]) Get() *T {
	n := len(l.items)
	if n == 0 {
		return new(T)
	}
	x := l.items[n-1]
	l.items[n-1] = nil
	l.items = l.items[:n-1]
	return x
}

// Put keeps x for a later Get, unless max objects are idle already (then x
// is left to the garbage collector, and Put reports false so that an owner
// of resources outside the Go heap can release them). The caller resets x
// first.
func (l *List[T]) Put(x *T) bool {
	if len(l.items) < l.max {
		l.items = append(l.items, x)
		return true
	}
	return false
}

// Len is the number of idle objects.
func (l *List[T]) Len() int { return len(l.items) }
