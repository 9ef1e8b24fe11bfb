package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apitap/apitap/analyzer/alert"
	"github.com/apitap/apitap/analyzer/alert/deliver"
	"github.com/apitap/apitap/internal/testutil"
)

// hookReceiver is a webhook receiver that checks signatures and keeps the
// alerts.
type hookReceiver struct {
	t   *testing.T
	key []byte
	mu  sync.Mutex
	got []alert.Alert
	srv *httptest.Server
}

func newHookReceiver(t *testing.T, key []byte) *hookReceiver {
	h := &hookReceiver{t: t, key: key}
	h.srv = httptest.NewServer(h)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get(deliver.HeaderTimestamp), 10, 64)
	if r.Header.Get(deliver.HeaderSignature) != deliver.Sign(h.key, ts, body) {
		h.t.Errorf("bad signature on %s", body)
		w.WriteHeader(401)
		return
	}
	var a alert.Alert
	if err := json.Unmarshal(body, &a); err != nil {
		h.t.Errorf("alert not JSON: %v", err)
	}
	h.mu.Lock()
	h.got = append(h.got, a)
	h.mu.Unlock()
}

func (h *hookReceiver) alerts() []alert.Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alert.Alert(nil), h.got...)
}

// alertConfigFile writes a run/analyzer configuration with one webhook
// destination and returns its path.
func alertConfigFile(t *testing.T, url, spool, extra string) string {
	dir := t.TempDir()
	key := filepath.Join(dir, "hook.key")
	if err := os.WriteFile(key, []byte("hook-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`alerts:
%s  spool_dir: %s
  destinations:
    - name: hook
      type: webhook
      retry_min: 10ms
      webhook:
        url: %s
        secret_file: %s
`, extra, spool, url, key)
	p := filepath.Join(dir, "apitap.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// `apitap run` over the sample capture and its spec sends the findings at
// or above the default floors (medium, likely) to a webhook, once; a
// second run of the same capture with the same spool raises none again.
func TestRunSendsAlerts(t *testing.T) {
	h := newHookReceiver(t, []byte("hook-secret"))
	spool := t.TempDir()
	cfg := alertConfigFile(t, h.srv.URL+"/hook", spool, "")
	spec := filepath.Join(testutil.RepoRoot(t), "deploy", "samples", "api-spec.yaml")
	args := []string{"run", "--config", cfg, "--pcap", sample(t), "--spec", spec, "--out", t.TempDir(), "--log-level", "error"}
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	got := h.alerts()
	kinds := map[string]int{}
	for _, a := range got {
		kinds[a.Kind]++
		if a.Action != "new" || a.ID == "" || a.DedupKey == "" || a.FindingID == "" || alert.SeverityLevel(a.Severity) < 2 {
			t.Errorf("alert: %+v", a)
		}
	}
	// The sample's shadow and zombie endpoints and its cleartext Basic
	// credentials; its example e-mail address is info and does not alert.
	if len(got) != 3 || kinds["shadow_endpoint"] != 1 || kinds["zombie_endpoint"] != 1 || kinds["exposure"] != 1 {
		t.Fatalf("alerts: %v\n%+v", kinds, got)
	}
	if !strings.Contains(out.String(), "alerts: 3 raised") || !strings.Contains(out.String(), "hook: 3 sent") {
		t.Fatalf("summary lacks the alert line:\n%s", out.String())
	}
	out.Reset()
	args[len(args)-3] = t.TempDir() // a fresh --out, the same spool
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("second run: %v\n%s", err, errb.String())
	}
	if n := len(h.alerts()); n != 3 {
		t.Fatalf("the second run of the same capture sent %d more alerts", n-3)
	}
}

func TestAlertTestCommand(t *testing.T) {
	h := newHookReceiver(t, []byte("hook-secret"))
	// The analyzer's own file, with sections alert test does not read.
	cfg := alertConfigFile(t, h.srv.URL, t.TempDir(), "")
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, append([]byte("kafka:\n  brokers: [k1:9092]\nstats_interval: 10s\n"), b...), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"alert", "test", "--config", cfg, "--destination", "hook", "--severity", "critical"}, &out, &errb); err != nil {
		t.Fatalf("alert test: %v\n%s", err, errb.String())
	}
	if got := h.alerts(); len(got) != 1 || got[0].Action != "test" || got[0].Severity != "critical" || !strings.Contains(out.String(), "accepted") {
		t.Fatalf("test alert: %+v\n%s", got, out.String())
	}
	err := run(context.Background(), []string{"alert", "test", "--config", cfg, "--destination", "siem"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `no destination "siem"`) {
		t.Fatalf("unknown destination: %v", err)
	}
	h.srv.Close()
	if err := run(context.Background(), []string{"alert", "test", "--config", cfg, "--destination", "hook", "--timeout", "2s"}, &out, &errb); err == nil {
		t.Fatal("alert test against a closed receiver succeeded")
	}
	var ue usageError
	if err := run(context.Background(), []string{"alert", "send"}, &out, &errb); err == nil || !errors.As(err, &ue) {
		t.Fatalf("alert send: %v", err)
	}
}

// The example analyzer configuration in deploy/ loads and validates, and
// `alert test` reads its alerts section.
func TestExampleAnalyzerConfigLoads(t *testing.T) {
	t.Setenv("APITAP_HEC_TOKEN", "00000000-0000-0000-0000-000000000000")
	t.Setenv("APITAP_WEBHOOK_KEY", "k")
	path := filepath.Join(testutil.RepoRoot(t), "deploy", "analyzer.yaml")
	l := loader[analyzerConfig]{name: "analyzer", defaults: defaultAnalyzerConfig, bind: bindAnalyzerFlags}
	var errb bytes.Buffer
	cfg, err := l.load([]string{"--config", path}, &errb, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Alerts.Destinations) != 4 || cfg.Alerts.Destinations[0].Syslog.Network != "tls" || len(cfg.Alerts.Rules) != 2 {
		t.Fatalf("alerts not applied: %+v", cfg.Alerts)
	}
	al := loader[alertConfig]{name: "alert test", defaults: defaultAlertConfig, bind: bindAlertFlags, lenient: true}
	ac, err := al.load([]string{"--config", path, "--destination", "soar"}, &errb, "")
	if err != nil || len(ac.Alerts.Destinations) != 4 {
		t.Fatalf("alert test config: %v %+v", err, ac.Alerts)
	}
}
