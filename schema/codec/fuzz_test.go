package codec

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/apitap/apitap/flow"
)

func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnknownKind):
		return "unknown-kind"
	case errors.Is(err, ErrFutureVersion):
		return "future-version"
	}
	return "other: " + err.Error()
}

// checkDecode is the property every input must have: Decode does not panic,
// fails only with the package's errors and then returns no record, agrees
// with the generated code's parser (same record, same class of error), and
// whatever it accepts re-encodes and decodes to the same record.
func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	r, err := Decode(b)
	ref, refErr := refDecode(b)
	if c, rc := errClass(err), errClass(refErr); c != rc {
		t.Fatalf("Decode: %v; generated code: %v", err, refErr)
	} else if c != "ok" && c != "malformed" && c != "unknown-kind" && c != "future-version" {
		t.Fatalf("unexpected error: %v", err)
	}
	if !reflect.DeepEqual(r, ref) {
		t.Fatalf("Decode and the generated code disagree:\n%#v\n%#v", r, ref)
	}
	owned := Record{Meta: Meta{SensorID: "stale"}, Loss: new(flow.Loss)} // overwritten
	if oerr := DecodeOwned(&owned, append([]byte(nil), b...)); errClass(oerr) != errClass(err) || !reflect.DeepEqual(owned, r) {
		t.Fatalf("DecodeOwned: %v, %#v; Decode: %v, %#v", oerr, owned, err, r)
	}
	if err != nil {
		if r.Exchange != nil || r.Loss != nil {
			t.Fatal("a record came with an error")
		}
		return
	}
	if (r.Exchange == nil) == (r.Loss == nil) {
		t.Fatalf("want exactly one record: %+v", r)
	}
	var out []byte
	if r.Exchange != nil {
		out, err = AppendExchange(nil, r.Meta, r.Exchange)
	} else {
		out, err = AppendLoss(nil, r.Meta, r.Loss)
	}
	if err != nil {
		t.Fatalf("a decoded record does not re-encode: %v", err)
	}
	r2, err := Decode(out)
	if err != nil {
		t.Fatalf("re-encoded record does not decode: %v", err)
	}
	if !reflect.DeepEqual(r, r2) {
		t.Fatalf("round trip differs:\n%#v\n%#v", r, r2)
	}
}

func FuzzDecode(f *testing.F) {
	ex, _ := AppendExchange(nil, sampleMeta, sampleExchange())
	loss, _ := AppendLoss(nil, sampleMeta, sampleLoss())
	f.Add(ex)
	f.Add(loss)
	f.Fuzz(checkDecode)
}

// TestDecodeMutations runs the fuzz property on mutated valid records in
// every `go test`, without the fuzzing engine: flipped, inserted, deleted
// and duplicated bytes, truncations, and spliced records (a field seen twice
// must be merged exactly as protobuf merges it).
func TestDecodeMutations(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(9, 10))}
	r := g.r
	for i := 0; i < 20000; i++ {
		var b []byte
		var err error
		if i%3 == 0 {
			b, err = AppendLoss(nil, g.meta(), g.loss())
		} else {
			b, err = AppendExchange(nil, g.meta(), g.exchange())
		}
		if err != nil {
			t.Fatal(err)
		}
		for k := r.IntN(4); k >= 0 && len(b) > 0; k-- {
			p := r.IntN(len(b))
			switch r.IntN(6) {
			case 0:
				b[p] ^= byte(1 << r.IntN(8))
			case 1:
				b = append(b[:p], append([]byte{byte(r.Uint32())}, b[p:]...)...)
			case 2:
				b = append(b[:p], b[p+1:]...)
			case 3:
				b = b[:p]
			case 4: // splice another record: repeated and merged fields
				o, _ := AppendExchange(nil, g.meta(), g.exchange())
				b = append(b, o[r.IntN(len(o)):]...)
			case 5:
				b = append(b, b...)
			}
		}
		checkDecode(t, b)
	}
}
