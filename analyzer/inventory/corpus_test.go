package inventory

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer/spec"
	"github.com/apitap/apitap/internal/testutil"
)

var paramRE = regexp.MustCompile(`\{[^}/]*\}`)

// shapeOf blanks parameter names: /users/{id} and /users/{userId} are the
// same route.
func shapeOf(p string) string { return paramRE.ReplaceAllString(p, "{}") }

// value invents a realistic value for a path parameter from its name.
func value(name string, i int, r *rand.Rand) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "uuid") || strings.Contains(n, "guid"):
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(65536), r.IntN(4096), r.IntN(4096), r.Uint64()&0xffffffffffff)
	case strings.Contains(n, "date"):
		return fmt.Sprintf("2024-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))
	case strings.HasSuffix(n, "id") || strings.Contains(n, "number") || n == "id":
		return fmt.Sprint(1000 + r.IntN(900000))
	default: // Stripe/Twilio-style prefixed ids: letters and digits
		return fmt.Sprintf("%s_%d%c%d", n[:min(3, len(n))], i, 'a'+r.IntN(26), r.IntN(100000))
	}
}

// The spec handed back with changes: traffic generated from a real spec
// (withheld from nobody here: the inventory gets the edited spec), then
// some operations marked deprecated and some paths removed. Every
// operation's traffic must come out in the right state: documented,
// zombie (deprecated), shadow (removed; the learned template must have
// the parameters where the spec had them).
func TestStatesAgainstRealSpecs(t *testing.T) {
	dir := filepath.Join(testutil.Corpus(t), "openapi")
	for _, name := range []string{"stripe-spec3-2022-04-12.json", "crapi-openapi-spec.json", "vampi-openapi3.yml", "petstore3-openapi.yaml"} {
		t.Run(name, func(t *testing.T) {
			orig, err := spec.Load(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if strings.HasSuffix(name, ".json") {
				err = json.Unmarshal(raw, &doc)
			} else {
				err = yamlUnmarshal(raw, &doc)
			}
			if err != nil {
				t.Fatal(err)
			}
			paths := doc["paths"].(map[string]any)
			deprecated, removed := map[string]bool{}, map[string]bool{}
			i := 0
			for _, op := range orig.Operations {
				i++
				key := op.Method + " " + op.Path
				switch {
				case i%7 == 0:
					if item, ok := paths[op.Path].(map[string]any); ok {
						delete(item, strings.ToLower(op.Method))
						removed[key] = true
					}
				case i%5 == 0:
					if item, ok := paths[op.Path].(map[string]any); ok {
						if o, ok := item[strings.ToLower(op.Method)].(map[string]any); ok {
							o["deprecated"] = true
							deprecated[key] = true
						}
					}
				}
			}
			edited, _ := json.Marshal(doc)
			file := filepath.Join(t.TempDir(), "edited.json")
			if err := os.WriteFile(file, edited, 0o644); err != nil {
				t.Fatal(err)
			}
			inv, err := New(func() Config { c := DefaultConfig(); c.Specs = []string{file}; return c }())
			if err != nil {
				t.Fatal(err)
			}
			host := "api.example.net"
			if len(orig.Hosts) > 0 {
				host = orig.Hosts[0]
			}
			base := ""
			if len(orig.BasePaths) > 0 {
				base = orig.BasePaths[0]
			}
			r := rand.New(rand.NewPCG(7, 7))
			type sent struct{ key, concrete string }
			var traffic []sent
			for _, op := range orig.Operations {
				for k := range 8 {
					p := paramRE.ReplaceAllStringFunc(op.Path, func(m string) string { return value(m[1:len(m)-1], k, r) })
					traffic = append(traffic, sent{op.Method + " " + op.Path, base + p})
				}
			}
			r.Shuffle(len(traffic), func(i, j int) { traffic[i], traffic[j] = traffic[j], traffic[i] })
			for i, s := range traffic {
				m, _, _ := strings.Cut(s.key, " ")
				feed(inv, req(host, m, s.concrete, 200, time.Duration(i)*time.Millisecond, fmt.Sprint("10.7.", i%200/100, ".", i%100)))
			}
			inv.Canonicalize()
			// Which state did each operation's traffic get?
			got := map[string]map[string]bool{}
			for _, s := range traffic {
				m, _, _ := strings.Cut(s.key, " ")
				c := inv.Classify(req(host, m, s.concrete, 200, 0, "10.0.0.1"))
				if got[s.key] == nil {
					got[s.key] = map[string]bool{}
				}
				state := c.State
				if state == Shadow && shapeOf(strings.TrimPrefix(c.Path, base)) != shapeOf(strings.SplitN(s.key, " ", 2)[1]) {
					state = "shadow-misshapen:" + c.Path
				}
				got[s.key][state] = true
			}
			right, total := 0, 0
			var wrong []string
			for _, op := range orig.Operations {
				key := op.Method + " " + op.Path
				want := Documented
				switch {
				case removed[key]:
					want = Shadow
				case deprecated[key]:
					want = Zombie
				case op.Deprecated:
					want = Zombie
				}
				total++
				if len(got[key]) == 1 && got[key][want] {
					right++
				} else if len(wrong) < 10 {
					wrong = append(wrong, fmt.Sprintf("%s: want %s, got %v", key, want, got[key]))
				}
			}
			share := float64(right) / float64(total)
			t.Logf("%s: %d/%d operations in the right state (%.3f); %d deprecated, %d removed", name, right, total, share, len(deprecated), len(removed))
			if share < 0.95 {
				t.Fatalf("only %.3f right; e.g. %v", share, wrong)
			}
		})
	}
}
