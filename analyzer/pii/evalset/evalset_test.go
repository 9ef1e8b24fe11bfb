package evalset

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/apitap/apitap/analyzer/pii/walk"
)

func TestDeterministic(t *testing.T) {
	a, b := Generate(7, 300), Generate(7, 300)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different items")
	}
	if reflect.DeepEqual(a, Generate(8, 300)) {
		t.Fatal("different seeds, same items")
	}
}

func TestCoverage(t *testing.T) {
	items := Generate(1, 3000)
	count := map[string]map[string]int{}
	for _, it := range items {
		for _, l := range it.Labels {
			if count[l.Kind] == nil {
				count[l.Kind] = map[string]int{}
			}
			count[l.Kind][l.Type]++
		}
	}
	for _, typ := range Types {
		if n := count[Positive][typ]; n < 200 {
			t.Errorf("%s: %d positives", typ, n)
		}
	}
	for _, typ := range append([]string{"credit_card", "iban", "github_token", "us_ssn", "aws_access_key", "jwt"}, CountryTypes...) {
		if n := count[NearMiss][typ]; n < 50 {
			t.Errorf("%s: %d near-misses", typ, n)
		}
	}
	if n := count[HardNegative][""]; n < 2000 {
		t.Errorf("%d hard negatives", n)
	}
	t.Logf("positives %v\nnear-misses %v\nhard negatives %d", count[Positive], count[NearMiss], count[HardNegative][""])
}

// checks: positives pass the type's check, near-misses fail it.
var checks = map[string]func(string) bool{
	"credit_card":    Luhn,
	"iban":           IBANValid,
	"github_token":   GitHubValid,
	"us_ssn":         SSNValid,
	"aws_access_key": AWSKeyIDValid,
	"jwt":            JWTValid,
	"uk_nino":        NINOValid,
	"uk_nhs_number":  NHSValid,
	"ca_sin":         SINValid,
	"in_aadhaar":     AadhaarValid,
	"in_pan":         PANValid,
	"es_dni":         DNIValid,
	"es_nie":         NIEValid,
	"br_cpf":         CPFValid,
}

func TestChecks(t *testing.T) {
	// Published examples.
	for _, v := range []string{"DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606", "NL91ABNA0417164300"} {
		if !IBANValid(v) {
			t.Errorf("%s", v)
		}
	}
	if !Luhn("4111 1111 1111 1111") || Luhn("4111 1111 1111 1112") {
		t.Error("luhn")
	}
	// Published and hand-computed country IDs, and their breakages.
	for _, c := range []struct {
		check func(string) bool
		ok    []string
		bad   []string
	}{
		{NINOValid, []string{"AB123456C", "JG 10 37 29 B", "JG 103729 B"}, []string{"QQ123456C", "GB123456A", "JG103729E", "JO103729B"}},
		{NHSValid, []string{"943 476 5919", "401-023-2137"}, []string{"9434765918", "943476591"}},
		{SINValid, []string{"130 692 544"}, []string{"046 454 286", "130692545"}},
		{AadhaarValid, []string{"2341 2341 2346", "499118665248"}, []string{"234123412345", "134123412346"}},
		{PANValid, []string{"ABCPE1234F", "AAACB1234C"}, []string{"ABCDE1234F", "ABCPE0000F"}},
		{DNIValid, []string{"12345678Z", "48264310-Y"}, []string{"12345678A"}},
		{NIEValid, []string{"X1234567L", "Z-7654321-H"}, []string{"X1234567A", "W1234567L"}},
		{CPFValid, []string{"529.982.247-25", "11144477735"}, []string{"529.982.247-26", "111.111.111-11"}},
	} {
		for _, v := range c.ok {
			if !c.check(v) {
				t.Errorf("%s rejected", v)
			}
		}
		for _, v := range c.bad {
			if c.check(v) {
				t.Errorf("%s accepted", v)
			}
		}
	}
	for _, it := range Generate(3, 2000) {
		for _, l := range it.Labels {
			check := checks[l.Type]
			if check == nil || l.Kind == HardNegative {
				continue
			}
			if ok := check(l.Value); ok != (l.Kind == Positive) {
				t.Errorf("%s %s %q: check %v", l.Kind, l.Type, l.Value, ok)
			}
		}
	}
}

// Every label's path is a leaf the walker produces on the item, holding
// the labelled value (whole, or as a substring of a free-text or header leaf).
func TestLabelsOnWalkerPaths(t *testing.T) {
	var w walk.Walker
	for i, it := range Generate(5, 2000) {
		leaves := map[string][]string{}
		err := Walk(&w, &it, func(l *walk.Leaf) bool {
			leaves[string(l.Path)] = append(leaves[string(l.Path)], string(l.Value))
			return true
		})
		if err != nil {
			t.Fatalf("item %d (%s): %v\n%s", i, it.ContentType, err, it.Body)
		}
		for _, l := range it.Labels {
			found := false
			for _, v := range leaves[l.Path] {
				if v == l.Value || strings.Contains(v, l.Value) && (it.Location == RequestHeader || strings.Contains(v, " ")) {
					found = true
				}
			}
			if !found {
				t.Fatalf("item %d (%s %s): label %+v not at a walker leaf; leaves %q\n%s", i, it.Location, it.ContentType, l, leaves, it.Body)
			}
		}
		if strings.Contains(it.ContentType, "json") && !strings.Contains(it.ContentType, "ndjson") && !json.Valid(it.Body) {
			t.Fatalf("item %d: invalid JSON", i)
		}
	}
}

func TestEscapesUsed(t *testing.T) {
	n := 0
	for _, it := range Generate(9, 500) {
		if bytes.Contains(it.Body, []byte(`\u0040`)) {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no item escapes '@'")
	}
}
