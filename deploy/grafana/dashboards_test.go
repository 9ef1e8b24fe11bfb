package grafana_test

// The dashboards' SQL is tested the way Grafana runs it: every panel's query
// (and every variable's) is expanded like the grafana-clickhouse-datasource
// plugin expands it (frontend: $__conditionalAll and the dashboard
// variables; backend: $__timeFilter, $__fromTime, $__toTime, $__interval_s)
// and run against a real ClickHouse holding seeded rows written through
// store.Write, part of them written twice (a replay) to prove that no panel
// double-counts. docs/dashboards.md describes the dashboards.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.uber.org/zap/zaptest"
	"gopkg.in/yaml.v3"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/analyzer/store"
	"github.com/apitap/apitap/internal/testutil"
)

const (
	datasourceFile = "provisioning/datasources/apitap-clickhouse.yaml"
	providerFile   = "provisioning/dashboards/apitap.yaml"
	pluginType     = "grafana-clickhouse-datasource"
)

// apitapTables are the ReplacingMergeTree tables: every read of them must
// go through FINAL.
var apitapTables = []string{"exchanges", "endpoints", "findings", "loss"}

// wantColumns is the column list every panel's query must return, by
// "<dashboard uid>/<panel title>". A panel missing here fails the test.
var wantColumns = map[string][]string{
	"apitap-traffic/Requests":                 {"requests"},
	"apitap-traffic/Error rates":              {"client_error_pct", "server_error_pct", "no_response_pct"},
	"apitap-traffic/Latency":                  {"p50_ms", "p99_ms"},
	"apitap-traffic/Requests by host":         {"t", "host", "requests"},
	"apitap-traffic/Requests by status class": {"t", "status_class", "requests"},
	"apitap-traffic/Latency percentiles":      {"t", "p50_ms", "p90_ms", "p99_ms"},
	"apitap-traffic/Error rate by host":       {"t", "host", "client_error_pct", "server_error_pct"},
	"apitap-traffic/Top endpoints": {"host", "method", "endpoint", "requests", "client_errors", "server_errors",
		"error_pct", "p50_ms", "p99_ms", "last_request"},
	"apitap-traffic/Status codes": {"status_code", "requests"},
	"apitap-traffic/Top clients":  {"client_ip", "requests", "principals", "errors", "last_request"},

	"apitap-inventory/Inventory":          {"endpoint_count", "shadow", "zombie", "hosts"},
	"apitap-inventory/Endpoints by state": {"state", "endpoint_count"},
	"apitap-inventory/Shadow and zombie endpoints": {"state", "host", "method", "endpoint", "first_seen", "last_seen",
		"requests", "client_errors", "server_errors", "clients"},
	"apitap-inventory/Endpoints discovered": {"t", "state", "endpoint_count"},
	"apitap-inventory/Endpoints per host":   {"host", "known", "shadow", "zombie"},
	"apitap-inventory/All endpoints": {"host", "method", "endpoint", "state", "first_seen", "last_seen",
		"requests", "client_errors", "server_errors", "clients"},
	"apitap-inventory/Inventory findings": {"last_seen", "type", "severity", "confidence", "host", "method", "endpoint",
		"count", "summary"},

	"apitap-pii/Sensitive data": {"finding_count", "endpoint_count", "data_types", "occurrences"},
	"apitap-pii/By data type":   {"type", "finding_count"},
	"apitap-pii/By severity":    {"severity", "finding_count"},
	"apitap-pii/By location":    {"part", "finding_count", "occurrences"},
	"apitap-pii/Endpoints exposing sensitive data": {"host", "method", "endpoint", "data_types", "max_severity",
		"finding_count", "occurrences", "latest"},
	"apitap-pii/Exposure by location": {"host", "method", "endpoint", "location", "type", "max_severity",
		"occurrences", "latest"},
	"apitap-pii/New sensitive-data findings": {"t", "type", "finding_count"},
	"apitap-pii/Latest findings": {"last_seen", "severity", "confidence", "type", "host", "method", "endpoint",
		"location", "count", "summary", "evidence", "id"},

	"apitap-anomalies/Anomalies":   {"finding_count", "clients", "principals", "high_or_critical"},
	"apitap-anomalies/By type":     {"type", "finding_count", "clients"},
	"apitap-anomalies/By severity": {"severity", "finding_count"},
	"apitap-anomalies/Top clients": {"client_ip", "finding_count", "types", "max_severity", "principals", "occurrences",
		"latest"},
	"apitap-anomalies/Top principals": {"principal", "finding_count", "types", "max_severity", "clients", "occurrences",
		"latest"},
	"apitap-anomalies/Anomalies by severity":         {"t", "severity", "finding_count"},
	"apitap-anomalies/Requests from flagged clients": {"t", "client_ip", "requests"},
	"apitap-anomalies/Latest anomalies": {"last_seen", "severity", "confidence", "type", "client_ip", "principal",
		"host", "method", "endpoint", "count", "summary", "evidence"},

	"apitap-sensor-health/Lost units":                   {"unit", "lost"},
	"apitap-sensor-health/Degraded exchanges":           {"exchange_count", "gap_or_midstream", "degraded_pct"},
	"apitap-sensor-health/Ingestion lag":                {"p50_lag_s", "max_lag_s"},
	"apitap-sensor-health/Loss by stage and reason":     {"t", "stage_reason", "lost"},
	"apitap-sensor-health/Exchanges with capture flags": {"t", "gap", "midstream", "truncated", "no_response"},
	"apitap-sensor-health/Ingestion lag percentiles":    {"t", "p50_lag_s", "p99_lag_s", "max_lag_s"},
	"apitap-sensor-health/Exchanges per sensor":         {"t", "sensor_id", "exchange_count"},
	"apitap-sensor-health/Loss records by stage and reason": {"stage", "reason", "unit", "records", "lost", "sensors",
		"first_window", "last_window"},
	"apitap-sensor-health/Per sensor": {"sensor_id", "exchange_count", "gap", "midstream", "p50_lag_s", "max_lag_s",
		"last_exchange", "last_ingested"},
	"apitap-sensor-health/Recent loss records": {"window_end", "sensor_id", "stage", "reason", "unit", "count",
		"window_start", "sequence"},
}

// ---------------------------------------------------------------------------
// Dashboard and provisioning files.

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	EditorType string `json:"editorType"`
	QueryType  string `json:"queryType"`
	Format     *int   `json:"format"`
	RawSQL     string `json:"rawSql"`
}

type panel struct {
	ID         *int     `json:"id"`
	Type       string   `json:"type"`
	Title      string   `json:"title"`
	Datasource *dsRef   `json:"datasource"`
	Targets    []target `json:"targets"`
	Panels     []panel  `json:"panels"` // collapsed rows
	Options    struct {
		XField string `json:"xField"`
	} `json:"options"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *dsRef          `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// sql is the variable's query: a string, or the plugin's query object.
func (v variable) sql() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var q struct {
		RawSQL string `json:"rawSql"`
	}
	if err := json.Unmarshal(v.Query, &q); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor an object: %v", v.Name, err)
	}
	return q.RawSQL, nil
}

type dashboard struct {
	file       string
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

// queryPanels returns the panels with queries, rows flattened.
func (d *dashboard) queryPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				out = append(out, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func (d *dashboard) key(p panel) string { return d.UID + "/" + p.Title }

type datasourceFileT struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name     string         `yaml:"name"`
		UID      string         `yaml:"uid"`
		Type     string         `yaml:"type"`
		JSONData map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

// provisionedUID reads the data source provisioning file and checks it.
func provisionedUID(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(datasourceFile)
	if err != nil {
		t.Fatal(err)
	}
	var f datasourceFileT
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", datasourceFile, err)
	}
	if f.APIVersion != 1 || len(f.Datasources) != 1 {
		t.Fatalf("%s: want apiVersion 1 and one data source, got %+v", datasourceFile, f)
	}
	ds := f.Datasources[0]
	if ds.Type != pluginType || ds.UID == "" {
		t.Fatalf("%s: type %q uid %q, want type %s and a uid", datasourceFile, ds.Type, ds.UID, pluginType)
	}
	for k, want := range map[string]any{"port": 9000, "protocol": "native", "defaultDatabase": "apitap"} {
		if got := ds.JSONData[k]; got != want {
			t.Errorf("%s: jsonData.%s = %v, want %v", datasourceFile, k, got, want)
		}
	}
	if h, _ := ds.JSONData["host"].(string); h == "" {
		t.Errorf("%s: jsonData.host is empty", datasourceFile)
	}
	return ds.UID
}

func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	files, err := filepath.Glob("dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards/*.json (%v)", err)
	}
	var out []*dashboard
	uids := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("%s: invalid JSON", f)
		}
		d := &dashboard{file: f}
		if err := json.Unmarshal(b, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || d.Title == "" {
			t.Fatalf("%s: missing uid or title", f)
		}
		if other, dup := uids[d.UID]; dup {
			t.Fatalf("%s and %s share uid %s", f, other, d.UID)
		}
		uids[d.UID] = f
		out = append(out, d)
	}
	return out
}

// ---------------------------------------------------------------------------
// Static checks (no server).

var (
	// tableRef finds FROM/JOIN <table> [FINAL]; subqueries (FROM ( ) do not match.
	tableRef = regexp.MustCompile("(?i)\\b(?:FROM|JOIN)\\s+`?(?:\\w+`?\\.`?)?(\\w+)`?(\\s+FINAL\\b)?")
	wordRef  = regexp.MustCompile(`(?i)\b(exchanges|endpoints|findings|loss)\b`)
)

// checkFinal reports every read of an apitap table without FINAL.
func checkFinal(sql string) error {
	for _, m := range tableRef.FindAllStringSubmatch(sql, -1) {
		if slices.Contains(apitapTables, strings.ToLower(m[1])) && m[2] == "" {
			return fmt.Errorf("reads %s without FINAL", m[1])
		}
	}
	if !tableRef.MatchString(sql) && wordRef.MatchString(sql) {
		return fmt.Errorf("no FROM clause found")
	}
	return nil
}

func TestDashboardFiles(t *testing.T) {
	uid := provisionedUID(t)

	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string         `yaml:"name"`
			Type    string         `yaml:"type"`
			Options map[string]any `yaml:"options"`
		} `yaml:"providers"`
	}
	b, err := os.ReadFile(providerFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prov); err != nil {
		t.Fatalf("%s: %v", providerFile, err)
	}
	if prov.APIVersion != 1 || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options["path"] == nil {
		t.Fatalf("%s: want one file provider with options.path, got %+v", providerFile, prov)
	}

	env := fakeEnv()
	seen := map[string]bool{}
	for _, d := range loadDashboards(t) {
		ids := map[int]bool{}
		titles := map[string]bool{}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				if p.ID == nil {
					t.Errorf("%s: panel %q has no id", d.file, p.Title)
				} else if ids[*p.ID] {
					t.Errorf("%s: panel id %d used twice", d.file, *p.ID)
				} else {
					ids[*p.ID] = true
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			if v.Datasource == nil || v.Datasource.UID != uid || v.Datasource.Type != pluginType {
				t.Errorf("%s: variable %s: datasource %+v, want uid %s", d.file, v.Name, v.Datasource, uid)
			}
			sql, err := v.sql()
			if err == nil {
				err = checkFinal(sql)
			}
			if err == nil {
				_, err = expand(sql, env)
			}
			if err != nil {
				t.Errorf("%s: variable %s: %v", d.file, v.Name, err)
			}
		}
		for _, p := range d.queryPanels() {
			key := d.key(p)
			if titles[p.Title] {
				t.Errorf("%s: two panels titled %q", d.file, p.Title)
			}
			titles[p.Title] = true
			seen[key] = true
			if p.Datasource == nil || p.Datasource.UID != uid || p.Datasource.Type != pluginType {
				t.Errorf("%s: datasource %+v, want uid %s", key, p.Datasource, uid)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", key)
			}
			if _, ok := wantColumns[key]; !ok {
				t.Errorf("%s: no expected columns in wantColumns", key)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != uid || tg.Datasource.Type != pluginType {
					t.Errorf("%s/%s: target datasource %+v, want uid %s", key, tg.RefID, tg.Datasource, uid)
				}
				wantFormat := 1 // table
				if p.Type == "timeseries" {
					wantFormat = 0 // time series (long frames widened by the plugin)
				}
				if tg.EditorType != "sql" || tg.Format == nil || *tg.Format != wantFormat || strings.TrimSpace(tg.RawSQL) == "" {
					t.Errorf("%s/%s: want editorType sql, format %d and rawSql, got %q %v", key, tg.RefID, wantFormat, tg.EditorType, tg.Format)
				}
				if err := checkFinal(tg.RawSQL); err != nil {
					t.Errorf("%s/%s: %v", key, tg.RefID, err)
				}
				if _, err := expand(tg.RawSQL, env); err != nil {
					t.Errorf("%s/%s: %v", key, tg.RefID, err)
				}
			}
		}
	}
	for key, cols := range wantColumns {
		if !seen[key] {
			t.Errorf("wantColumns has %s, no such panel", key)
		}
		// ClickHouse's newer analyzer can confuse a column alias named
		// like a table of the query with that table.
		for _, c := range cols {
			if slices.Contains(apitapTables, c) {
				t.Errorf("%s: column alias %s is a table name", key, c)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The plugin's macros and variable interpolation.

// selection is a variable's current value.
type selection struct {
	all     bool     // "All" ($__all) selected
	values  []string // selected values when not all
	options []string // every option (what All stands for without allValue)
	multi   bool
}

type expandEnv struct {
	from, to time.Time
	interval time.Duration
	vars     map[string]selection
}

func fakeEnv() expandEnv {
	to := time.Now()
	all := selection{all: true, options: []string{"a", "b"}, multi: true}
	return expandEnv{from: to.Add(-time.Hour), to: to, interval: time.Minute,
		vars: map[string]selection{"host": all, "endpoint": all, "sensor": all}}
}

// expand turns a dashboard query into the SQL the plugin sends: the
// frontend's $__conditionalAll and template variables first, then the
// backend macros. An unknown macro, variable or format is an error.
func expand(sql string, e expandEnv) (string, error) {
	sql, err := conditionalAll(sql, e)
	if err != nil {
		return "", err
	}
	if sql, err = interpolate(sql, e); err != nil {
		return "", err
	}
	if sql, err = backendMacros(sql, e); err != nil {
		return "", err
	}
	if i := strings.IndexByte(sql, '$'); i >= 0 {
		return "", fmt.Errorf("unexpanded %q", sql[i:min(len(sql), i+30)])
	}
	return sql, nil
}

// macroArgs parses the parenthesised, comma-separated arguments starting at
// s[open] == '(' (nested parentheses kept whole, as the plugin does) and
// returns them with the index after the closing parenthesis.
func macroArgs(s string, open int) ([]string, int, error) {
	if open >= len(s) || s[open] != '(' {
		return nil, 0, fmt.Errorf("macro without arguments at %q", s[max(0, open-20):min(len(s), open+20)])
	}
	depth, last := 0, open+1
	var args []string
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return append(args, s[last:i]), i + 1, nil
			}
		case ',':
			if depth == 1 {
				args = append(args, s[last:i])
				last = i + 1
			}
		}
	}
	return nil, 0, fmt.Errorf("unbalanced macro arguments at %q", s[open:min(len(s), open+40)])
}

var varInArg = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// conditionalAll is the plugin's frontend macro
// $__conditionalAll(<condition>, $var): "1=1" when All (or nothing) is
// selected, else the condition.
func conditionalAll(sql string, e expandEnv) (string, error) {
	const macro = "$__conditionalAll("
	for {
		i := strings.LastIndex(sql, macro)
		if i < 0 {
			return sql, nil
		}
		args, end, err := macroArgs(sql, i+len(macro)-1)
		if err != nil {
			return "", err
		}
		if len(args) != 2 {
			return "", fmt.Errorf("$__conditionalAll wants 2 arguments, got %d", len(args))
		}
		m := varInArg.FindStringSubmatch(strings.TrimSpace(args[1]))
		if m == nil {
			return "", fmt.Errorf("$__conditionalAll: second argument %q is not a variable", args[1])
		}
		name := m[1] + m[2]
		sel, ok := e.vars[name]
		if !ok {
			return "", fmt.Errorf("$__conditionalAll: unknown variable %s", name)
		}
		phrase := args[0]
		if sel.all || len(sel.values) == 0 {
			phrase = "1=1"
		}
		sql = sql[:i] + phrase + sql[end:]
	}
}

var varRef = regexp.MustCompile(`\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)`)

// interpolate replaces the dashboard variables as Grafana's template
// service does with the plugin's formatter: a multi-value becomes
// 'a','b'; ${var:singlequote} quotes each value. $__ names are left to the
// backend.
func interpolate(sql string, e expandEnv) (string, error) {
	var err error
	out := varRef.ReplaceAllStringFunc(sql, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name, format := m[1]+m[3]+m[5], m[2]+m[4]
		if m[5] != "" && strings.HasPrefix(name, "__") {
			return ref // backend macro
		}
		sel, ok := e.vars[name]
		if !ok {
			err = fmt.Errorf("unknown variable %s", ref)
			return ref
		}
		values := sel.values
		if sel.all {
			values = sel.options
		}
		switch format {
		case "":
			if sel.multi || sel.all {
				return "'" + strings.Join(values, "','") + "'"
			}
			return strings.Join(values, ",")
		case "singlequote":
			q := make([]string, len(values))
			for i, v := range values {
				q[i] = "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
			}
			return strings.Join(q, ",")
		default:
			err = fmt.Errorf("unsupported variable format %s", ref)
			return ref
		}
	})
	return out, err
}

var backendMacro = regexp.MustCompile(`\$__(\w+)`)

// backendMacros expands the plugin's backend macros used by the dashboards
// (pkg/macros of grafana-clickhouse-datasource).
func backendMacros(sql string, e expandEnv) (string, error) {
	from, to := e.from.Unix(), e.to.Unix()
	var b strings.Builder
	for {
		loc := backendMacro.FindStringSubmatchIndex(sql)
		if loc == nil {
			b.WriteString(sql)
			return b.String(), nil
		}
		b.WriteString(sql[:loc[0]])
		name, rest := sql[loc[2]:loc[3]], sql[loc[1]:]
		switch name {
		case "timeFilter":
			args, end, err := macroArgs(rest, 0)
			if err != nil {
				return "", err
			}
			if len(args) != 1 {
				return "", fmt.Errorf("$__timeFilter wants 1 argument, got %d", len(args))
			}
			col := strings.TrimSpace(args[0])
			fmt.Fprintf(&b, "%s >= toDateTime(%d) AND %s <= toDateTime(%d)", col, from, col, to)
			rest = rest[end:]
		case "fromTime":
			fmt.Fprintf(&b, "toDateTime(%d)", from)
		case "toTime":
			fmt.Fprintf(&b, "toDateTime(%d)", to)
		case "interval_s":
			b.WriteString(strconv.Itoa(max(1, int(e.interval.Seconds()))))
		default:
			return "", fmt.Errorf("unknown macro $__%s", name)
		}
		sql = rest
	}
}

func TestExpand(t *testing.T) {
	to := time.Unix(1_700_003_600, 0)
	e := expandEnv{from: to.Add(-time.Hour), to: to, interval: 30 * time.Second, vars: map[string]selection{
		"host":   {values: []string{"a.example", "o'hara"}, multi: true},
		"sensor": {all: true, options: []string{"s1"}, multi: true},
	}}
	got, err := expand("SELECT toDateTime(intDiv(toUInt32(time), $__interval_s) * $__interval_s) AS t FROM x FINAL WHERE $__timeFilter(time) AND "+
		"$__conditionalAll(host IN (${host:singlequote}), $host) AND $__conditionalAll(sensor_id IN (${sensor:singlequote}), $sensor) "+
		"AND last_seen >= $__fromTime AND first_seen <= $__toTime AND h IN ($host)", e)
	want := "SELECT toDateTime(intDiv(toUInt32(time), 30) * 30) AS t FROM x FINAL WHERE time >= toDateTime(1700000000) AND time <= toDateTime(1700003600) AND " +
		`host IN ('a.example','o\'hara') AND 1=1 ` +
		"AND last_seen >= toDateTime(1700000000) AND first_seen <= toDateTime(1700003600) AND h IN ('a.example','o'hara')"
	if err != nil || got != want {
		t.Fatalf("expand:\n got %s (%v)\nwant %s", got, err, want)
	}
	for _, bad := range []string{
		"SELECT $__timeInterval(time)",         // a macro the expander does not implement
		"SELECT $__unknown",                    // not a plugin macro
		"SELECT ${host:csv}",                   // unsupported format
		"SELECT $nope",                         // unknown variable
		"SELECT $__conditionalAll(1=1, $nope)", // unknown variable
		"SELECT $__timeFilter(a, b)",           // wrong argument count
	} {
		if got, err := expand(bad, e); err == nil {
			t.Errorf("expand(%q) = %q, want an error", bad, got)
		}
	}
	for sql, ok := range map[string]bool{
		"SELECT count() FROM exchanges FINAL WHERE 1":                                             true,
		"SELECT count() FROM exchanges WHERE 1":                                                   false,
		"SELECT a FROM (SELECT a FROM findings FINAL) ANY LEFT JOIN (SELECT a FROM loss) USING a": false,
		"SELECT a FROM `apitap`.`endpoints` FINAL":                                                true,
	} {
		if err := checkFinal(sql); (err == nil) != ok {
			t.Errorf("checkFinal(%q) = %v, want ok=%v", sql, err, ok)
		}
	}
}

// ---------------------------------------------------------------------------
// Seeded data.

type seedEndpoint struct{ host, method, endpoint, state string }

var (
	seedEndpoints = []seedEndpoint{
		{"api.example.com", "GET", "/api/v1/users/{id}", "documented"},
		{"api.example.com", "POST", "/api/v1/orders", "documented"},
		{"api.example.com", "GET", "/api/v1/orders/{id}", "documented"},
		{"api.example.com", "GET", "/api/v0/export", "zombie"},
		{"api.example.com", "GET", "/internal/debug/vars", "shadow"},
		{"shop.example.com", "GET", "/cart", "documented"},
		{"shop.example.com", "POST", "/checkout", "documented"}, // shadow at version 1, documented at version 2
		{"shop.example.com", "GET", "/products/{id}", "observed"},
		{"auth.example.com", "POST", "/login", "documented"},
		{"auth.example.com", "POST", "/token", "documented"},
		{"auth.example.com", "GET", "/admin/backup", "shadow"},
	}
	seedClients  = []string{"10.0.0.7", "10.0.0.9", "10.1.2.3", "192.168.5.20", "172.16.0.4"}
	seedStatuses = []uint16{200, 200, 201, 204, 400, 404, 500, 503, 0, 200}
	seedSensors  = []string{"sensor-a", "sensor-b"}
)

const (
	seedExchanges = 660 // 60 per endpoint; every endpoint sees every client and status
	checkoutIdx   = 6
	// The values the "selected" pass picks for the variables.
	selHost, selEndpoint, selSensor = "api.example.com", "/api/v1/users/{id}", "sensor-a"
)

type seed struct {
	now            time.Time
	first, replay  analyzer.Result // replay: a part of first, written again after update
	update         analyzer.Result // newer versions of an endpoint and a finding
	findings       []analyzer.FindingRow
	endpointStates map[string]string // host+method+endpoint -> current state
}

func makeSeed(now time.Time) *seed {
	s := &seed{now: now, endpointStates: map[string]string{}}
	r := &s.first
	start := now.Add(-3 * time.Hour)
	for i := range seedExchanges {
		ep := seedEndpoints[i%len(seedEndpoints)]
		client := seedClients[(i/len(seedEndpoints))%len(seedClients)]
		x := analyzer.ExchangeRow{
			Time: start.Add(time.Duration(i) * 15 * time.Second), SensorID: seedSensors[i%2], Sequence: uint64(1000 + i),
			ClientIP: client, ClientPort: uint16(40000 + i), ServerIP: "192.0.2.10", ServerPort: 443,
			Host: ep.host, Method: ep.method, Endpoint: ep.endpoint, Status: seedStatuses[i%len(seedStatuses)],
			RequestBytes: uint64(i % 700), ResponseBytes: uint64(i * 37 % 20000),
			RequestType: "application/json", ResponseType: "application/json",
			LatencyMicros: uint32(800 + i*7919%400000),
		}
		if i%4 != 0 {
			x.Principal, x.PrincipalType = "hmac:"+strings.ReplaceAll(client, ".", ""), "bearer"
		}
		if i%3 == 0 {
			x.QueryKeys = []string{"page", "limit"}
		}
		if i%23 == 0 {
			x.Flags = append(x.Flags, "truncated")
		}
		if i%13 == 0 {
			x.Flags = append(x.Flags, "gap")
		}
		if i%17 == 0 {
			x.Flags = append(x.Flags, "midstream")
		}
		if x.Status == 0 {
			x.Flags = append(x.Flags, "no_response")
			x.LatencyMicros = 0
		}
		x.GRPCStatus, x.EffectiveStatus = -1, x.Status
		if i%19 == 0 && x.Status == 200 {
			// a gRPC call answered 200 whose grpc-status said PERMISSION_DENIED
			x.ResponseType, x.GRPCStatus, x.EffectiveStatus = "application/grpc", 7, 403
		}
		r.Exchanges = append(r.Exchanges, x)
	}
	for i, ep := range seedEndpoints {
		row := analyzer.EndpointRow{Host: ep.host, Method: ep.method, Endpoint: ep.endpoint, State: ep.state,
			FirstSeen: start.Add(time.Duration(i) * 10 * time.Minute), LastSeen: now.Add(-5 * time.Minute),
			Requests: 60, ClientErrors: 12, ServerErrors: 12, Version: 1}
		if i == checkoutIdx {
			row.State = "shadow"
			up := row
			up.State, up.Version = ep.state, 2
			s.update.Endpoints = append(s.update.Endpoints, up)
		}
		r.Endpoints = append(r.Endpoints, row)
		s.endpointStates[ep.host+ep.method+ep.endpoint] = ep.state
	}
	// An entry the inventory folded into a learned template: storage keeps
	// it as state "merged", and no panel may count it.
	r.Endpoints = append(r.Endpoints, analyzer.EndpointRow{Host: seedEndpoints[0].host, Method: "GET",
		Endpoint: "/folded/red-shoes", State: "merged", FirstSeen: start, LastSeen: now, Requests: 5, Version: 3})

	type f struct {
		kind, typ, sev string
		ep             int
		client, princ  string
		location       string
		count          uint64
	}
	for k, x := range []f{
		{"pii", "email", "medium", 0, "", "", "response.body:$.user.email", 120},
		{"pii", "phone", "medium", 0, "", "", "response.body:$.user.phone", 80},
		{"pii", "credit_card", "critical", 6, "", "", "request.body:$.payment.card_number", 15},
		{"pii", "jwt", "high", 9, "", "", "response.body:$.access_token", 300},
		{"pii", "email", "low", 1, "", "", "request.body:$.customer.email", 40},
		{"pii", "api_key", "high", 0, "", "", "request.query:api_key", 7},
		{"anomaly", "bola_enumeration", "high", 0, "10.0.0.7", "hmac:10007", "", 450}, // updated to critical, version 2
		{"anomaly", "credential_stuffing", "critical", 8, "10.0.0.9", "", "", 900},
		{"anomaly", "excessive_data_access", "medium", 3, "10.1.2.3", "hmac:10123", "", 12},
		{"anomaly", "rate_spike", "low", 7, "10.0.0.7", "hmac:10007", "", 3000},
		{"anomaly", "bola_enumeration", "high", 2, "192.168.5.20", "hmac:192168520", "", 60},
		{"inventory", "shadow_endpoint", "medium", 4, "", "", "", 33},
		{"inventory", "shadow_endpoint", "medium", 10, "", "", "", 5},
		{"inventory", "zombie_endpoint", "high", 3, "", "", "", 60},
	} {
		ep := seedEndpoints[x.ep]
		t0 := now.Add(-2*time.Hour + time.Duration(k)*5*time.Minute)
		loc, field, _ := strings.Cut(x.location, ":") // stored as location + field (docs/sensitive-data.md)
		row := analyzer.FindingRow{
			ID: fmt.Sprintf("%s-%02d", x.kind, k), Time: t0, Kind: x.kind, Type: x.typ, Severity: x.sev, Confidence: "likely",
			Host: ep.host, Method: ep.method, Endpoint: ep.endpoint, ClientIP: x.client, Principal: x.princ,
			Location: loc, Field: field, Count: x.count, FirstSeen: t0, LastSeen: now.Add(-10 * time.Minute),
			MaskedSample: "j***@example.com", Fingerprint: "00112233445566778899aabbccddeeff",
			Summary: x.typ + " on " + ep.endpoint, Evidence: `{"samples":3}`, Version: 1,
		}
		r.Findings = append(r.Findings, row)
		if x.typ == "bola_enumeration" && x.ep == 0 {
			row.Severity, row.Count, row.LastSeen, row.Version = "critical", 600, now.Add(-time.Minute), 2
			s.update.Findings = append(s.update.Findings, row)
		}
		s.findings = append(s.findings, row) // the current state
	}

	for i, l := range []struct {
		sensor, stage, reason, unit string
		count                       uint64
	}{
		{"sensor-a", "capture", "kernel_drop", "packets", 1200},
		{"sensor-a", "reassembly", "gap_bytes", "bytes", 65536},
		{"sensor-a", "parser", "resync", "exchanges", 4},
		{"sensor-b", "queue", "queue_full", "exchanges", 17},
		{"sensor-b", "capture", "kernel_drop", "packets", 300},
		{"sensor-a", "publish", "kafka_error", "exchanges", 2},
	} {
		end := now.Add(-150*time.Minute + time.Duration(i)*20*time.Minute)
		r.Losses = append(r.Losses, analyzer.LossRow{SensorID: l.sensor, Sequence: uint64(10 + i), Stage: l.stage,
			Reason: l.reason, Unit: l.unit, Count: l.count, WindowStart: end.Add(-time.Minute), WindowEnd: end})
	}

	// The replay: half the exchanges, the old versions of the updated
	// endpoint and finding, half the loss records.
	s.replay = analyzer.Result{
		Exchanges: r.Exchanges[:seedExchanges/2],
		Endpoints: r.Endpoints[:checkoutIdx+1],
		Findings:  r.Findings[:8],
		Losses:    r.Losses[:3],
	}
	return s
}

// want* compute what the panels must show from the seed; sel: the
// "selected" variable values instead of All.
func (s *seed) wantRequests(sel bool) (n uint64) {
	for _, x := range s.first.Exchanges {
		if !sel || x.Host == selHost && x.Endpoint == selEndpoint {
			n++
		}
	}
	return n
}

// wantEffective counts the seeded exchanges whose effective status is in
// [lo, hi): gRPC calls answered 200 with a failing grpc-status count as
// what they map to.
func (s *seed) wantEffective(sel bool, lo, hi uint16) (n uint64) {
	for _, x := range s.first.Exchanges {
		if (!sel || x.Host == selHost && x.Endpoint == selEndpoint) && x.EffectiveStatus >= lo && x.EffectiveStatus < hi {
			n++
		}
	}
	return n
}

func (s *seed) wantFindings(kind string, sel bool) (n, occurrences, highOrCritical uint64) {
	for _, f := range s.findings {
		if f.Kind == kind && (!sel || f.Host == selHost && f.Endpoint == selEndpoint) {
			n++
			occurrences += f.Count
			if f.Severity == "high" || f.Severity == "critical" {
				highOrCritical++
			}
		}
	}
	return
}

func (s *seed) wantLost(sel bool) map[string]uint64 {
	m := map[string]uint64{}
	for _, l := range s.first.Losses {
		if !sel || l.SensorID == selSensor {
			m[l.Unit] += l.Count
		}
	}
	return m
}

func (s *seed) wantDegraded(sel bool) (n, degraded uint64) {
	for _, x := range s.first.Exchanges {
		if sel && x.SensorID != selSensor {
			continue
		}
		n++
		if slices.Contains(x.Flags, "gap") || slices.Contains(x.Flags, "midstream") {
			degraded++
		}
	}
	return
}

func (s *seed) wantStates(sel bool) map[string]uint64 {
	m := map[string]uint64{}
	for _, ep := range seedEndpoints {
		if !sel || ep.host == selHost {
			m[ep.state]++
		}
	}
	return m
}

// ---------------------------------------------------------------------------
// Running the queries.

type result struct {
	cols  []string
	types []string
	rows  [][]any
}

func (r *result) col(name string) int { return slices.Index(r.cols, name) }

func runQuery(ctx context.Context, conn driver.Conn, sql string) (*result, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &result{}
	cts := rows.ColumnTypes()
	for _, ct := range cts {
		res.cols = append(res.cols, ct.Name())
		res.types = append(res.types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = reflect.ValueOf(d).Elem().Interface()
		}
		res.rows = append(res.rows, row)
	}
	return res, rows.Err()
}

type kind int

const (
	kOther kind = iota
	kNumber
	kString
	kTime
)

// typeKind classifies a ClickHouse type name as Grafana sees the field.
func typeKind(t string) kind {
	for {
		inner, ok := strings.CutPrefix(t, "LowCardinality(")
		if !ok {
			inner, ok = strings.CutPrefix(t, "Nullable(")
		}
		if !ok {
			break
		}
		t = strings.TrimSuffix(inner, ")")
	}
	switch {
	case strings.HasPrefix(t, "UInt"), strings.HasPrefix(t, "Int"), strings.HasPrefix(t, "Float"), strings.HasPrefix(t, "Decimal"):
		return kNumber
	case t == "String", strings.HasPrefix(t, "FixedString"), strings.HasPrefix(t, "Enum"):
		return kString
	case strings.HasPrefix(t, "DateTime"), t == "Date", t == "Date32":
		return kTime
	}
	return kOther
}

func toFloat(v any) float64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	panic(fmt.Sprintf("not a number: %T", v))
}

// checkShape asserts the panel's result has the expected columns and the
// field types its visualisation needs.
func checkShape(p panel, r *result, want []string) error {
	if !slices.Equal(r.cols, want) {
		return fmt.Errorf("columns %v, want %v", r.cols, want)
	}
	if len(r.rows) == 0 {
		return fmt.Errorf("no rows")
	}
	kinds := make([]kind, len(r.types))
	nums := 0
	for i, t := range r.types {
		kinds[i] = typeKind(t)
		if kinds[i] == kNumber {
			nums++
		}
		if kinds[i] == kOther {
			return fmt.Errorf("column %s has type %s, which Grafana does not show as a field", r.cols[i], t)
		}
	}
	switch p.Type {
	case "timeseries":
		// Long format: time first, string labels, numeric values, sorted by time.
		if kinds[0] != kTime {
			return fmt.Errorf("first column %s is %s, want a time", r.cols[0], r.types[0])
		}
		for i, k := range kinds[1:] {
			if k != kNumber && k != kString {
				return fmt.Errorf("column %s is %s, want a number or a label", r.cols[i+1], r.types[i+1])
			}
		}
		if nums == 0 {
			return fmt.Errorf("no numeric column to graph: %v", r.types)
		}
		for i := 1; i < len(r.rows); i++ {
			if r.rows[i][0].(time.Time).Before(r.rows[i-1][0].(time.Time)) {
				return fmt.Errorf("rows not sorted by time")
			}
		}
	case "stat", "piechart", "barchart", "bargauge", "gauge":
		// An optional leading label (or bar axis), numbers after it.
		for i, k := range kinds {
			if k != kNumber && !(i == 0 && k == kString && len(kinds) > 1) {
				return fmt.Errorf("%s panel: column %s is %s, want a number", p.Type, r.cols[i], r.types[i])
			}
		}
		if p.Type == "barchart" && p.Options.XField != r.cols[0] {
			return fmt.Errorf("barchart xField %q, want the first column %q", p.Options.XField, r.cols[0])
		}
	case "table":
	default:
		return fmt.Errorf("panel type %s not covered by the test", p.Type)
	}
	return nil
}

func TestDashboardQueries(t *testing.T) {
	dsn := testutil.ClickHouse(t)
	uid := provisionedUID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	cfg := store.DefaultConfig()
	cfg.DSN = dsn
	st, err := store.Open(ctx, cfg, zaptest.NewLogger(t)) // MigrateOnStart: creates the tables
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	conn := st.Conn()
	t.Logf("ClickHouse %s, database %s", st.Version(), st.Database())

	// Keep the replayed duplicates in separate parts, so that only FINAL
	// can collapse them.
	mergesStopped := true
	for _, tbl := range apitapTables {
		if err := conn.Exec(ctx, "SYSTEM STOP MERGES `"+st.Database()+"`.`"+tbl+"`"); err != nil {
			t.Logf("SYSTEM STOP MERGES %s: %v (duplicates may be merged away before the queries run)", tbl, err)
			mergesStopped = false
		}
	}

	now := time.Now().UTC().Truncate(time.Second)
	s := makeSeed(now)
	for _, r := range []*analyzer.Result{&s.first, &s.update, &s.replay} {
		if err := st.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var raw, final uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM exchanges").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM exchanges FINAL").Scan(&final); err != nil {
		t.Fatal(err)
	}
	if final != seedExchanges || mergesStopped && raw != seedExchanges+seedExchanges/2 {
		t.Fatalf("exchanges: %d rows stored, %d through FINAL; want %d and %d", raw, final, seedExchanges+seedExchanges/2, seedExchanges)
	}

	type pass struct {
		name     string
		selected bool
	}
	results := map[string]*result{} // "<pass>/<dashboard uid>/<panel title>"
	queries := 0
	for _, d := range loadDashboards(t) {
		for _, ps := range []pass{{"all", false}, {"selected", true}} {
			env := expandEnv{from: now.Add(-6 * time.Hour), to: now, interval: time.Minute, vars: map[string]selection{}}
			// Variables in order: each query sees the previous selections.
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				if v.Datasource == nil || v.Datasource.UID != uid {
					t.Errorf("%s: variable %s: datasource %+v, want uid %s", d.file, v.Name, v.Datasource, uid)
				}
				q, err := v.sql()
				if err == nil {
					q, err = expand(q, env)
				}
				var r *result
				if err == nil {
					r, err = runQuery(ctx, conn, q)
					queries++
				}
				if err != nil {
					t.Fatalf("%s/%s: variable %s: %v", ps.name, d.UID, v.Name, err)
				}
				if len(r.cols) != 1 || typeKind(r.types[0]) != kString || len(r.rows) == 0 {
					t.Fatalf("%s/%s: variable %s: want one string column with values, got %v %v (%d rows)", ps.name, d.UID, v.Name, r.cols, r.types, len(r.rows))
				}
				sel := selection{all: !ps.selected, multi: v.Multi}
				for _, row := range r.rows {
					sel.options = append(sel.options, row[0].(string))
				}
				if ps.selected {
					want := map[string]string{"host": selHost, "endpoint": selEndpoint, "sensor": selSensor}[v.Name]
					if !slices.Contains(sel.options, want) {
						t.Fatalf("%s/%s: variable %s: options %v lack %q", ps.name, d.UID, v.Name, sel.options, want)
					}
					sel.values = []string{want}
				}
				env.vars[v.Name] = sel
			}
			for _, p := range d.queryPanels() {
				key := d.key(p)
				for _, tg := range p.Targets {
					q, err := expand(tg.RawSQL, env)
					if err != nil {
						t.Errorf("%s/%s: %v", ps.name, key, err)
						continue
					}
					r, err := runQuery(ctx, conn, q)
					queries++
					if err != nil {
						t.Errorf("%s/%s: %v\n%s", ps.name, key, err, q)
						continue
					}
					if err := checkShape(p, r, wantColumns[key]); err != nil {
						t.Errorf("%s/%s: %v\n%s", ps.name, key, err, q)
						continue
					}
					results[ps.name+"/"+key] = r
				}
			}
		}
	}
	t.Logf("%d queries run, %d panel results checked", queries, len(results))

	// Exact values: the seeded rows once, whatever was written twice.
	one := func(key, col string) float64 {
		t.Helper()
		r := results[key]
		if r == nil {
			t.Fatalf("%s: no result", key)
		}
		i := r.col(col)
		if i < 0 || len(r.rows) != 1 {
			t.Fatalf("%s: want one row with %s, got %v %d rows", key, col, r.cols, len(r.rows))
		}
		return toFloat(r.rows[0][i])
	}
	byLabel := func(key, label, value string) map[string]uint64 {
		t.Helper()
		r := results[key]
		if r == nil {
			t.Fatalf("%s: no result", key)
		}
		m := map[string]uint64{}
		for _, row := range r.rows {
			m[row[r.col(label)].(string)] += uint64(toFloat(row[r.col(value)]))
		}
		return m
	}
	sum := func(key, col string) (n uint64) {
		t.Helper()
		r := results[key]
		if r == nil {
			t.Fatalf("%s: no result", key)
		}
		for _, row := range r.rows {
			n += uint64(toFloat(row[r.col(col)]))
		}
		return n
	}
	expect := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	for _, ps := range []pass{{"all", false}, {"selected", true}} {
		p, sel := ps.name+"/", ps.selected
		expect(p+"traffic Requests", uint64(one(p+"apitap-traffic/Requests", "requests")), s.wantRequests(sel))
		expect(p+"traffic Top endpoints requests", sum(p+"apitap-traffic/Top endpoints", "requests"), s.wantRequests(sel))
		expect(p+"traffic Top endpoints client errors", sum(p+"apitap-traffic/Top endpoints", "client_errors"), s.wantEffective(sel, 400, 500))
		expect(p+"traffic Status codes 403", byLabel(p+"apitap-traffic/Status codes", "status_code", "requests")["403"], s.wantEffective(sel, 403, 404))
		expect(p+"traffic Status codes", sum(p+"apitap-traffic/Status codes", "requests"), s.wantRequests(sel))
		expect(p+"traffic Requests by host", sum(p+"apitap-traffic/Requests by host", "requests"), s.wantRequests(sel))

		states := s.wantStates(sel)
		expect(p+"inventory Endpoints by state", byLabel(p+"apitap-inventory/Endpoints by state", "state", "endpoint_count"), states)
		expect(p+"inventory shadow", uint64(one(p+"apitap-inventory/Inventory", "shadow")), states["shadow"])
		expect(p+"inventory zombie", uint64(one(p+"apitap-inventory/Inventory", "zombie")), states["zombie"])
		sz := results[p+"apitap-inventory/Shadow and zombie endpoints"]
		expect(p+"inventory shadow/zombie rows", uint64(len(sz.rows)), states["shadow"]+states["zombie"])
		for _, row := range sz.rows { // 60 exchanges per endpoint, from exchanges FINAL
			expect(p+"inventory requests of "+row[sz.col("endpoint")].(string), toFloat(row[sz.col("requests")]), 60.0)
		}
		expect(p+"inventory All endpoints requests", sum(p+"apitap-inventory/All endpoints", "requests"), 60*uint64(len(results[p+"apitap-inventory/All endpoints"].rows)))

		n, occ, _ := s.wantFindings("pii", sel)
		expect(p+"pii findings", uint64(one(p+"apitap-pii/Sensitive data", "finding_count")), n)
		expect(p+"pii occurrences", uint64(one(p+"apitap-pii/Sensitive data", "occurrences")), occ)
		expect(p+"pii Latest findings rows", uint64(len(results[p+"apitap-pii/Latest findings"].rows)), n)

		n, occ, hc := s.wantFindings("anomaly", sel)
		expect(p+"anomalies findings", uint64(one(p+"apitap-anomalies/Anomalies", "finding_count")), n)
		expect(p+"anomalies high_or_critical", uint64(one(p+"apitap-anomalies/Anomalies", "high_or_critical")), hc)
		expect(p+"anomalies occurrences", sum(p+"apitap-anomalies/Top clients", "occurrences"), occ)
		expect(p+"anomalies Latest anomalies rows", uint64(len(results[p+"apitap-anomalies/Latest anomalies"].rows)), n)

		expect(p+"sensor Lost units", byLabel(p+"apitap-sensor-health/Lost units", "unit", "lost"), s.wantLost(sel))
		total, degraded := s.wantDegraded(sel)
		expect(p+"sensor exchanges", uint64(one(p+"apitap-sensor-health/Degraded exchanges", "exchange_count")), total)
		expect(p+"sensor gap_or_midstream", uint64(one(p+"apitap-sensor-health/Degraded exchanges", "gap_or_midstream")), degraded)
		expect(p+"sensor Per sensor exchanges", sum(p+"apitap-sensor-health/Per sensor", "exchange_count"), total)
		if lag := one(p+"apitap-sensor-health/Ingestion lag", "max_lag_s"); lag < 3*3600-600 || lag > 3*3600+600 {
			t.Errorf("%smax ingestion lag %v s, want about 3 h (the oldest seeded exchange)", p, lag)
		}
	}
	// The updated anomaly shows its latest version only.
	top := results["selected/apitap-anomalies/Top clients"]
	if len(top.rows) != 1 || top.rows[0][top.col("max_severity")] != "critical" || toFloat(top.rows[0][top.col("occurrences")]) != 600 {
		t.Errorf("selected anomalies Top clients: %v, want one row, critical, 600 occurrences", top.rows)
	}
}
