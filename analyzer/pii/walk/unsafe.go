package walk

import "unsafe"

// unsafeBytes views s as bytes without copying; the walker only reads them.
// Query and Cookies take strings (as net/url and net/http hand them out)
// and must not allocate a copy per call.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
