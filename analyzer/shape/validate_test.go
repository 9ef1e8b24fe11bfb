package shape

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/pb33f/jsonschema/v6"
)

// TestBodiesValidate checks the inferred schema against a real JSON Schema
// 2020-12 implementation: the schema compiles (it is checked against the
// 2020-12 meta-schema), and with RequiredRatio 1 and limits the bodies stay
// within, every body observed validates against it, formats asserted.
// A detected format that the validator's own format checker rejects, a
// wrong integer, a missing type or a wrong required fails here.
func TestBodiesValidate(t *testing.T) {
	for seed := uint64(0); seed < 15; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		s := Shape{RequiredRatio: 1, MaxDepth: 64, MaxItems: 64, MaxNodes: 1 << 20, MaxProperties: 1 << 20}
		var bodies [][]byte
		for len(bodies) < 30 {
			b := randomBody(r)
			if json.Valid(b) && s.ObserveJSON(b) {
				bodies = append(bodies, b)
			}
		}
		sch := compile(t, s.Schema())
		for _, b := range bodies {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				js, _ := json.Marshal(s.Schema())
				t.Fatalf("seed %d: body %s does not validate against %s: %v", seed, b, js, err)
			}
		}
	}
}

func compile(t testing.TB, schema map[string]any) *jsonschema.Schema {
	t.Helper()
	raw, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("mem://schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://schema.json")
	if err != nil {
		t.Fatalf("schema %s: %v", raw, err)
	}
	return sch
}
