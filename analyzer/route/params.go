package route

import "strings"

// EachParam calls fn with the template segment ("{id}", braces kept) and
// the path's segment of every parameter of template ("/users/{id}/orders/{orderId}"), segment
// by segment; an empty segment is passed too. The inventory's templates
// and the paths they were made from have one segment per segment, so
// alignment is positional. It allocates nothing.
func EachParam(template, path string, fn func(name, value string)) {
	if !strings.Contains(template, "{") {
		return
	}
	t, p := strings.TrimPrefix(template, "/"), strings.TrimPrefix(path, "/")
	for t != "" && p != "" {
		var ts, ps string
		ts, t, _ = strings.Cut(t, "/")
		ps, p, _ = strings.Cut(p, "/")
		if len(ts) > 2 && ts[0] == '{' && ts[len(ts)-1] == '}' {
			fn(ts, ps)
		}
	}
}
