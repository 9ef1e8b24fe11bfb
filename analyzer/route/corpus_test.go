package route

// Traffic generated from the real OpenAPI specs of the shared corpus, for
// the accuracy and order-independence tests. Only the specs' paths and
// path-parameter definitions are read (until analyzer/spec exists).

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type specParam struct {
	name, typ, format, pattern string
	enum                       []string
}

type specRoute struct {
	path   string
	params map[string]specParam
}

type corpusSpec struct {
	file   string
	routes []specRoute
	words  []string // vocabulary harvested from the spec's prose
	stripe bool
}

var specFiles = []string{
	"crapi-openapi-spec.json",
	"github-api.github.com-2020-08.json",
	"github-api.github.com-2022-07-18.json",
	"kubernetes-v1.36-swagger.json",
	"petstore3-openapi.yaml",
	"stripe-spec3-2022-04-12.json",
	"twilio-api-v2010.json",
	"vampi-openapi3.yml",
}

func loadSpec(t testing.TB, dir, file string) *corpusSpec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "openapi", file))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if strings.HasSuffix(file, ".json") {
		err = json.Unmarshal(raw, &doc)
	} else {
		err = yaml.Unmarshal(raw, &doc)
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	s := &corpusSpec{file: file, stripe: strings.Contains(file, "stripe")}
	paths, _ := doc["paths"].(map[string]any)
	for p, v := range paths {
		item, _ := v.(map[string]any)
		r := specRoute{path: p, params: map[string]specParam{}}
		var list []any
		if ps, ok := item["parameters"].([]any); ok {
			list = append(list, ps...)
		}
		for _, op := range item {
			if m, ok := op.(map[string]any); ok {
				if ps, ok := m["parameters"].([]any); ok {
					list = append(list, ps...)
				}
			}
		}
		for _, x := range list {
			m := resolve(doc, x)
			if m == nil || m["in"] != "path" {
				continue
			}
			sp := specParam{name: str(m["name"])}
			sch := m
			if s, ok := m["schema"].(map[string]any); ok {
				sch = resolve(doc, s)
			}
			sp.typ, sp.format, sp.pattern = str(sch["type"]), str(sch["format"]), str(sch["pattern"])
			if e, ok := sch["enum"].([]any); ok {
				for _, v := range e {
					sp.enum = append(sp.enum, fmt.Sprint(v))
				}
			}
			if _, seen := r.params[sp.name]; !seen || sp.pattern != "" {
				r.params[sp.name] = sp
			}
		}
		s.routes = append(s.routes, r)
	}
	sort.Slice(s.routes, func(i, j int) bool { return s.routes[i].path < s.routes[j].path })
	s.words = harvestWords(doc)
	return s
}

func resolve(doc map[string]any, x any) map[string]any {
	m, _ := x.(map[string]any)
	for i := 0; m != nil && i < 8; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

var wordRE = regexp.MustCompile(`[a-z]{3,12}`)

// harvestWords collects lowercase words from the spec's descriptions: the
// vocabulary of names, slugs and labels. It holds API words (search,
// export, status…) on purpose: real usernames and slugs collide with them.
func harvestWords(doc map[string]any) []string {
	seen := map[string]bool{}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, k)
			}
		case []any:
			for _, c := range x {
				walk(c, key)
			}
		case string:
			if key == "description" || key == "summary" || key == "title" {
				for _, w := range wordRE.FindAllString(x, -1) {
					seen[w] = true
				}
			}
		}
	}
	walk(doc, "")
	words := make([]string, 0, len(seen))
	for w := range seen {
		words = append(words, w)
	}
	sort.Strings(words)
	if len(words) < 200 { // small specs: add a neutral vocabulary
		for _, w := range strings.Fields(fallbackWords) {
			if !seen[w] {
				words = append(words, w)
			}
		}
	}
	return words
}

const fallbackWords = `amber apple arrow aspen atlas autumn badger basil beacon birch blossom bramble breeze brook canyon cedar cherry cinder clover cobalt comet copper coral cosmos crane crystal cypress dahlia dawn delta desert dune eagle ember falcon fern fjord flint forest fox garnet glacier granite harbor hazel heron hollow indigo iris ivory jade jasper juniper kelp lagoon lark laurel lemon lilac linen lotus lunar maple marble meadow mint misty moss nectar nova oak ocean olive onyx orchid otter pebble pepper pine plum polar poppy prairie quartz raven reef ridge river robin rowan ruby saffron sage sapphire scarlet shadow sierra silver sky slate sparrow spruce stone summit swift thistle thunder tide timber topaz tulip tundra valley velvet violet walnut willow winter wren zephyr`

// gen makes realistic values for a spec's parameters. Every parameter
// kind draws from its own pool with Zipf popularity: a few values are
// popular, most are rare, as with real users, repositories and ids.
type gen struct {
	rng   *rand.Rand
	spec  *corpusSpec
	pools map[string][]string
	zipf  map[int]*rand.Zipf
}

func newGen(s *corpusSpec, seed int64) *gen {
	return &gen{rng: rand.New(rand.NewSource(seed)), spec: s, pools: map[string][]string{}, zipf: map[int]*rand.Zipf{}}
}

// pick draws from a pool with Zipf popularity (s = 1.1).
func (g *gen) pick(pool []string) string {
	z := g.zipf[len(pool)]
	if z == nil {
		z = rand.NewZipf(g.rng, 1.1, 1, uint64(len(pool)-1))
		g.zipf[len(pool)] = z
	}
	return pool[z.Uint64()]
}

// pool returns the named pool, making size values with mk on first use.
func (g *gen) pool(name string, size int, mk func(i int) string) []string {
	if p, ok := g.pools[name]; ok {
		return p
	}
	seen := map[string]bool{}
	var p []string
	for i := 0; len(p) < size && i < size*20; i++ {
		v := mk(i)
		if v != "" && !seen[v] {
			seen[v] = true
			p = append(p, v)
		}
	}
	g.pools[name] = p
	return p
}

func (g *gen) word() string { return g.spec.words[g.rng.Intn(len(g.spec.words))] }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (g *gen) randFrom(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.Intn(len(alphabet))]
	}
	return string(b)
}

func (g *gen) login(i int) string {
	switch g.rng.Intn(5) {
	case 0:
		return g.word() + "-" + g.word()
	case 1:
		return g.word() + fmt.Sprint(g.rng.Intn(100))
	case 2:
		return strings.ToUpper(g.word()[:1]) + g.word()
	default:
		return g.word()
	}
}

func (g *gen) slug(i int) string {
	switch g.rng.Intn(4) {
	case 0:
		return g.word()
	case 1:
		return g.word() + "_" + g.word()
	default:
		return g.word() + "-" + g.word()
	}
}

var countries = strings.Fields(`US GB CA AU DE FR ES IT NL BE SE NO DK FI IE PT AT CH PL CZ HU RO GR BR MX AR CL CO PE JP KR CN HK SG MY TH ID PH VN IN PK IL AE SA ZA NG KE EG TR UA NZ LT LV EE SK SI HR BG IS LU MT CY`)

var stripeCapabilities = strings.Fields(`acss_debit_payments affirm_payments afterpay_clearpay_payments au_becs_debit_payments bacs_debit_payments bancontact_payments blik_payments boleto_payments card_issuing card_payments cartes_bancaires_payments eps_payments fpx_payments giropay_payments grabpay_payments ideal_payments jcb_payments klarna_payments konbini_payments legacy_payments link_payments oxxo_payments p24_payments paynow_payments sepa_debit_payments sofort_payments tax_reporting_us_1099_k tax_reporting_us_1099_misc transfers treasury us_bank_account_ach_payments`)

var stripeReportTypes = strings.Fields(`balance.summary.1 balance_change_from_activity.itemized.1 balance_change_from_activity.itemized.2 balance_change_from_activity.itemized.3 balance_change_from_activity.summary.1 connected_account_balance.summary.1 ending_balance_reconciliation.itemized.1 ending_balance_reconciliation.summary.1 payout_reconciliation.itemized.5 payout_reconciliation.summary.1 payouts.itemized.1 payouts.summary.1 tax.transactions.itemized.1 activity.itemized.2 activity.summary.1 card_payments_fees.transaction_level.2`)

var licenses = strings.Fields(`agpl-3.0 apache-2.0 bsd-2-clause bsd-3-clause bsl-1.0 cc0-1.0 epl-2.0 gpl-2.0 gpl-3.0 lgpl-2.1 mit mpl-2.0 unlicense cc-by-4.0 cc-by-sa-4.0 isc ofl-1.1 zlib wtfpl postgresql ms-pl eupl-1.2 artistic-2.0 osl-3.0 afl-3.0 ecl-2.0 lppl-1.3c ncsa vim 0bsd`)

var k8sNamespaces = strings.Fields(`default kube-system kube-public kube-node-lease monitoring logging ingress-nginx cert-manager istio-system argocd flux-system prod staging dev qa payments checkout search catalog identity billing analytics data-platform ml-serving observability vault external-dns keda velero team-alpha team-beta team-gamma sandbox preview ci-runners gatekeeper-system linkerd tekton-pipelines knative-serving`)

// value returns a value for parameter p of route r, whose segment before
// it is prev.
func (g *gen) value(p specParam, prev string) string {
	name := strings.ToLower(strings.ReplaceAll(p.name, "_", ""))
	hex := "0123456789abcdef"
	switch {
	case len(p.enum) > 0:
		return g.pick(p.enum)
	case p.pattern != "":
		if m := regexp.MustCompile(`^\^\(?([A-Z|]+)\)?\[0-9a-fA-F\]\{32\}\$$`).FindStringSubmatch(p.pattern); m != nil {
			prefixes := strings.Split(m[1], "|")
			return g.pick(g.pool("sid:"+p.name, 400, func(int) string {
				return prefixes[g.rng.Intn(len(prefixes))] + g.randFrom(hex, 32)
			}))
		}
	case p.format == "iso-country-code" || name == "countrycode" || name == "country":
		return g.pick(countries)
	case p.format == "uuid":
		return g.pick(g.pool("uuid", 2000, func(int) string {
			b := g.randFrom(hex, 32)
			return b[:8] + "-" + b[8:12] + "-4" + b[13:16] + "-a" + b[17:20] + "-" + b[20:]
		}))
	case p.format == "date" || p.format == "date-time":
		return g.pick(g.pool("date", 400, func(int) string {
			return fmt.Sprintf("20%02d-%02d-%02d", 18+g.rng.Intn(7), 1+g.rng.Intn(12), 1+g.rng.Intn(28))
		}))
	case p.format == "email" || strings.Contains(name, "email"):
		return g.pick(g.pool("email", 1000, func(int) string { return g.word() + "." + g.word() + "@example.com" }))
	}
	if strings.HasSuffix(p.name, "Sid") { // Twilio SIDs without a pattern
		prefix := strings.ToUpper(p.name[:2])
		return g.pick(g.pool("sid:"+p.name, 400, func(int) string { return prefix + g.randFrom(hex, 32) }))
	}
	if p.typ == "integer" || p.typ == "number" {
		return g.pick(g.pool("int", 5000, func(int) string { return fmt.Sprint(1 + g.rng.Intn(40000000)) }))
	}
	if g.spec.stripe {
		return g.stripeValue(name)
	}
	return g.namedValue(name, prev)
}

func (g *gen) stripeValue(name string) string {
	switch name {
	case "capability":
		return g.pick(stripeCapabilities)
	case "reporttype":
		return g.pick(stripeReportTypes)
	case "coupon", "promotioncode": // merchant-chosen codes
		return g.pick(g.pool("coupon", 300, func(int) string {
			return strings.ToUpper(g.word()) + fmt.Sprint(5*(1+g.rng.Intn(20)))
		}))
	case "plan": // legacy plans: merchant-chosen ids, or price ids
		return g.pick(g.pool("plan", 300, func(i int) string {
			if i%2 == 0 {
				return g.word() + "-" + []string{"monthly", "yearly", "weekly"}[g.rng.Intn(3)]
			}
			return "price_1" + g.randFrom(base62, 23)
		}))
	}
	prefix := name
	if len(prefix) > 4 {
		prefix = prefix[:4]
	}
	return g.pick(g.pool("stripe:"+name, 3000, func(int) string {
		return prefix + "_" + g.randFrom(base62, 14+g.rng.Intn(11))
	}))
}

func (g *gen) namedValue(name, prev string) string {
	hex := "0123456789abcdef"
	switch name {
	case "owner", "username", "org", "user", "assignee", "targetuser", "templateowner", "enterprise", "enterpriseororg":
		return g.pick(g.pool("login", 1500, g.login))
	case "repo", "reponame", "templaterepo":
		return g.pick(g.pool("repo", 1000, g.slug))
	case "teamslug", "appslug":
		return g.pick(g.pool("slug", 300, g.slug))
	case "branch", "base", "head":
		return g.pick(g.pool("branch", 150, g.branch))
	case "ref":
		if g.rng.Intn(4) == 0 {
			return g.randFrom(hex, 40)
		}
		return g.pick(g.pool("branch", 150, g.branch))
	case "tag":
		return g.pick(g.pool("tag", 300, func(int) string {
			return fmt.Sprintf("v%d.%d.%d", g.rng.Intn(5), g.rng.Intn(20), g.rng.Intn(10))
		}))
	case "basehead":
		b := g.pool("branch", 150, g.branch)
		return g.pick(b) + "..." + g.pick(b)
	case "sha", "commitsha", "treesha", "filesha", "tagsha", "fingerprint":
		return g.randFrom(hex, 40)
	case "gistid":
		return g.randFrom(hex, 32)
	case "clientid":
		return "Iv1." + g.randFrom(hex, 16)
	case "accesstoken":
		return "ghu_" + g.randFrom(base62, 36)
	case "codespacename":
		return g.pick(g.pool("login", 1500, g.login)) + "-" + g.word() + "-" + g.randFrom("abcdefghijklmnopqrstuvwxyz0123456789", 16)
	case "sarifid", "scimuserid", "scimgroupid", "exportid":
		b := g.randFrom(hex, 32)
		return b[:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:]
	case "organizationid", "alertnumber", "workflowid":
		return fmt.Sprint(1 + g.rng.Intn(900000))
	case "archiveformat":
		return []string{"tarball", "zipball"}[g.rng.Intn(2)]
	case "license":
		return g.pick(licenses)
	case "secretname":
		return g.pick(g.pool("secret", 120, func(int) string {
			return strings.ToUpper(g.word() + "_" + g.word())
		}))
	case "environmentname":
		return g.pick(g.pool("env", 60, func(i int) string {
			if i < 6 {
				return []string{"production", "staging", "development", "qa", "preview", "test"}[i]
			}
			return g.word() + "-" + []string{"prod", "stage", "dev"}[g.rng.Intn(3)]
		}))
	case "path", "dir", "logpath":
		return g.pick(g.pool("file", 300, func(int) string {
			return g.word() + []string{"", ".go", ".md", ".py", ".log", ".ts", "", ""}[g.rng.Intn(8)]
		}))
	case "namespace":
		return g.pick(k8sNamespaces)
	case "name":
		return g.k8sOrNamed(prev)
	}
	if strings.HasSuffix(name, "id") || strings.HasSuffix(name, "number") {
		return g.pick(g.pool("int", 5000, func(int) string { return fmt.Sprint(1 + g.rng.Intn(40000000)) }))
	}
	return g.pick(g.pool("word:"+name, 200, g.slug))
}

func (g *gen) branch(i int) string {
	if i < 4 {
		return []string{"main", "master", "develop", "gh-pages"}[i]
	}
	return []string{"feature", "fix", "chore", "release"}[g.rng.Intn(4)] + "-" + g.word()
}

// k8sOrNamed names a Kubernetes object by its kind (the segment before),
// as clusters do: pods and replica sets carry hash suffixes, nodes are
// host names, namespaces come from the namespace list, the rest are
// application names.
func (g *gen) k8sOrNamed(kind string) string {
	alnum := "bcdfghjklmnpqrstvwxz2456789"
	app := func() string { return g.pick(g.pool("app", 250, g.slug)) }
	switch kind {
	case "pods":
		return app() + "-" + g.randFrom(alnum, 10) + "-" + g.randFrom(alnum, 5)
	case "replicasets", "controllerrevisions":
		return app() + "-" + g.randFrom(alnum, 10)
	case "jobs":
		return app() + "-" + fmt.Sprint(27000000+g.rng.Intn(999999))
	case "events":
		return app() + "." + g.randFrom("0123456789abcdef", 16)
	case "nodes":
		return g.pick(g.pool("node", 120, func(int) string {
			return fmt.Sprintf("ip-10-%d-%d-%d.ec2.internal", g.rng.Intn(8), g.rng.Intn(256), g.rng.Intn(256))
		}))
	case "namespaces":
		return g.pick(k8sNamespaces)
	case "labels":
		return g.pick(g.pool("label", 150, func(int) string { return g.word() }))
	}
	return app()
}

// request is one generated path with the spec path it came from.
type request struct{ path, route string }

// traffic generates requests for every route of s: a log-uniform count per
// route between minPerRoute and maxPerRoute, each request with fresh draws
// for its parameters, shuffled.
func traffic(s *corpusSpec, seed int64) []request {
	g := newGen(s, seed)
	var out []request
	paramRE := regexp.MustCompile(`\{([^}]+)\}`)
	for _, r := range s.routes {
		n := int(math.Round(math.Exp(math.Log(minPerRoute) + g.rng.Float64()*(math.Log(maxPerRoute)-math.Log(minPerRoute)))))
		segs := strings.Split(r.path, "/")
		for k := 0; k < n; k++ {
			parts := make([]string, len(segs))
			for i, seg := range segs {
				prev := ""
				if i > 0 {
					prev = segs[i-1]
				}
				parts[i] = paramRE.ReplaceAllStringFunc(seg, func(m string) string {
					name := m[1 : len(m)-1]
					p, ok := r.params[name]
					if !ok {
						p = specParam{name: name, typ: "string"}
					}
					return g.value(p, prev)
				})
			}
			out = append(out, request{path: strings.Join(parts, "/"), route: r.path})
		}
	}
	g.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

const (
	minPerRoute = 1
	maxPerRoute = 150
)

// shape normalises a template for comparison: each parameter becomes {}
// (keeping what surrounds it in the segment, as in {Sid}.json).
func shape(tpl string) string {
	var b strings.Builder
	for i := 0; i < len(tpl); i++ {
		c := tpl[i]
		if c == '{' {
			j := strings.IndexByte(tpl[i:], '}')
			if j > 0 {
				b.WriteString("{}")
				i += j
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
