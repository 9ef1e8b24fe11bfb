package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

func sample(t *testing.T) string {
	return filepath.Join(testutil.RepoRoot(t), "deploy", "samples", "api-sample.pcap")
}

func TestVersionAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "apitap ") || !strings.Contains(out.String(), "zstd: libzstd") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, &out, &errb); err != nil || !strings.Contains(out.String(), "sensor") {
		t.Fatalf("help: %v", err)
	}
	errb.Reset()
	err := run(context.Background(), []string{"sensor", "--help"}, &out, &errb)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errb.String(), "--pcap") || !strings.Contains(errb.String(), "APITAP_BPF") {
		t.Fatalf("sensor --help: %v\n%s", err, errb.String())
	}
	var ue usageError
	if err := run(context.Background(), []string{"nope"}, &out, &errb); !errors.As(err, &ue) {
		t.Fatalf("unknown command: %v", err)
	}
}

// The JSONL output carries the contract field names on every line.
func TestSensorJSONLContract(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"sensor", "--pcap", sample(t), "--output", "jsonl:-", "--log-level", "warn"}, &out, &errb)
	if err != nil {
		t.Fatalf("sensor: %v\n%s", err, errb.String())
	}
	want := []string{"ts", "client_ip", "client_port", "server_ip", "server_port", "method", "host", "path", "query", "status", "request_body_bytes", "response_body_bytes", "flags"}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d not JSON: %v", n+1, err)
		}
		if m["type"] == "loss" {
			continue
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Fatalf("line %d lacks %q: %s", n+1, k, sc.Text())
			}
		}
		if ts, _ := m["ts"].(string); !strings.HasSuffix(ts, "Z") || !strings.Contains(ts, ".") {
			t.Fatalf("ts not RFC 3339 with fraction: %q", ts)
		}
		n++
	}
	if n != 600 {
		t.Fatalf("records: %d, want 600 (the sample has 600 exchanges)", n)
	}
}

func TestSummaryOutput(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"sensor", "--pcap", sample(t), "--output", "summary", "--log-level", "warn"}, &out, &errb)
	if err != nil {
		t.Fatalf("sensor: %v", err)
	}
	s := out.String()
	for _, w := range []string{"exchanges: 600", "/api/v1/orders", "POST", "api.example.com"} {
		if !strings.Contains(s, w) {
			t.Fatalf("summary lacks %q:\n%s", w, s)
		}
	}
}

// defaults < file < env < flags.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte("sensor:\n  workers: 3\n  capture:\n    snaplen: 1000\n    bpf: tcp\noutputs: [\"null\"]\n"), 0o644)
	l := loader[sensorConfig]{name: "sensor", defaults: defaultSensorConfig, bind: bindSensorFlags}
	var errb bytes.Buffer
	t.Setenv("APITAP_SNAPLEN", "2000")
	t.Setenv("APITAP_WORKERS", "5")
	cfg, err := l.load([]string{"--config", path, "--snaplen", "3000", "--pcap", "x.pcap"}, &errb, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sensor.Capture.Snaplen != 3000 || cfg.Sensor.Workers != 5 || cfg.Sensor.Capture.BPF != "tcp" || cfg.Outputs[0] != "null" {
		t.Fatalf("precedence wrong: snaplen %d workers %d bpf %q outputs %v", cfg.Sensor.Capture.Snaplen, cfg.Sensor.Workers, cfg.Sensor.Capture.BPF, cfg.Outputs)
	}
	os.WriteFile(path, []byte("sensor:\n  capture:\n    snaplenn: 1\n"), 0o644)
	if _, err := l.load([]string{"--config", path}, &errb, ""); err == nil || !strings.Contains(err.Error(), "snaplenn") {
		t.Fatalf("unknown key must fail: %v", err)
	}
}

// TestJWTSubjectsKnob: the subject knob reaches the sensor's config by
// flag, environment and file, and an unknown value stops the start.
func TestJWTSubjectsKnob(t *testing.T) {
	l := loader[sensorConfig]{name: "sensor", defaults: defaultSensorConfig, bind: bindSensorFlags}
	var errb bytes.Buffer
	cfg, err := l.load([]string{"--pcap", "x.pcap"}, &errb, "")
	if err != nil || cfg.Sensor.Exchange.JWTSubjects != "fingerprint" {
		t.Fatalf("default %q, %v", cfg.Sensor.Exchange.JWTSubjects, err)
	}
	if cfg, err = l.load([]string{"--pcap", "x.pcap", "--jwt-subjects", "raw"}, &errb, ""); err != nil || cfg.Sensor.Exchange.JWTSubjects != "raw" {
		t.Fatalf("flag %q, %v", cfg.Sensor.Exchange.JWTSubjects, err)
	}
	t.Setenv("APITAP_JWT_SUBJECTS", "raw")
	if cfg, err = l.load([]string{"--pcap", "x.pcap"}, &errb, ""); err != nil || cfg.Sensor.Exchange.JWTSubjects != "raw" {
		t.Fatalf("environment %q, %v", cfg.Sensor.Exchange.JWTSubjects, err)
	}
	os.Unsetenv("APITAP_JWT_SUBJECTS")
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("sensor:\n  http:\n    jwt_subjects: hashed\n"), 0o644)
	if cfg, err = l.load([]string{"--config", path, "--pcap", "x.pcap"}, &errb, ""); err != nil || cfg.Sensor.Exchange.JWTSubjects != "hashed" {
		t.Fatalf("file %q, %v", cfg.Sensor.Exchange.JWTSubjects, err)
	}
	err = run(context.Background(), []string{"sensor", "--pcap", sample(t), "--config", path}, &bytes.Buffer{}, &errb)
	if err == nil || !strings.Contains(err.Error(), "hashed") {
		t.Fatalf("an unknown value must stop the start: %v", err)
	}
}

func TestBadBPFRejectedAtStart(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"sensor", "--pcap", sample(t), "--bpf", "tcp prot 80"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "bpf") {
		t.Fatalf("want a bpf error, got %v", err)
	}
}

// Every YAML knob and every flag appears in docs/config.md.
func TestEveryKnobDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(prefix string, v reflect.Type)
	walk = func(prefix string, v reflect.Type) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			parts := strings.Split(f.Tag.Get("yaml"), ",")
			tag := parts[0]
			if tag == "-" || !f.IsExported() {
				continue
			}
			if slices.Contains(parts[1:], "inline") {
				walk(prefix, f.Type)
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() != "time" {
				walk(key, f.Type)
				continue
			}
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
				keys = append(keys, key) // the list itself, then its items' keys
				walk(key, f.Type.Elem())
				continue
			}
			keys = append(keys, key)
		}
	}
	walk("", reflect.TypeOf(sensorConfig{}))
	walk("", reflect.TypeOf(runConfig{}))
	walk("", reflect.TypeOf(analyzerConfig{}))
	walk("", reflect.TypeOf(alertConfig{}))
	for _, k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) {
			t.Errorf("docs/config.md does not document `%s`", k)
		}
	}
	var p string
	sc, rc, ac, alc := defaultSensorConfig(), defaultRunConfig(), defaultAnalyzerConfig(), defaultAlertConfig()
	binders := map[string]func(fs *flag.FlagSet){
		"sensor":   func(fs *flag.FlagSet) { bindSensorFlags(fs, &sc, &p) },
		"run":      func(fs *flag.FlagSet) { bindRunFlags(fs, &rc, &p) },
		"analyzer": func(fs *flag.FlagSet) { bindAnalyzerFlags(fs, &ac, &p) },
		"alert":    func(fs *flag.FlagSet) { bindAlertFlags(fs, &alc, &p) },
	}
	for name, bind := range binders {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		bind(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if !bytes.Contains(doc, []byte("--"+f.Name)) {
				t.Errorf("docs/config.md does not document --%s (%s)", f.Name, name)
			}
		})
	}
}

// The example configuration in deploy/ loads and validates.
func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("APITAP_HMAC_KEY_VALUE", "0123456789abcdef0123456789abcdef")
	l := loader[sensorConfig]{name: "sensor", defaults: defaultSensorConfig, bind: bindSensorFlags}
	var errb bytes.Buffer
	cfg, err := l.load([]string{"--config", filepath.Join(testutil.RepoRoot(t), "deploy", "apitap.yaml")}, &errb, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Sensor.Capture.Interface != "eth1" || len(cfg.Sensor.Exchange.HMACKey) != 32 || cfg.Sensor.TCP.IdleTimeout.Minutes() != 2 {
		t.Fatalf("example config not applied: %+v", cfg.Sensor.Capture)
	}
}
