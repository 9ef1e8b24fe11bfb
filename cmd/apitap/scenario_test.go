package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer/alert"
	"github.com/apitap/apitap/internal/scenario"
)

var params = regexp.MustCompile(`\{[^}]*\}`)

// TestScenarioDetections runs the labelled scenarios of internal/scenario
// (a real server and clients in a network namespace, captured with
// tcpdump) through `apitap run` and holds the anomaly detection to the
// issue's bar: every attack found with its type and its client, and no
// anomaly finding naming a normal client. Seeds, client counts and volumes
// vary so the thresholds are not tuned to one capture.
func TestScenarioDetections(t *testing.T) {
	if testing.Short() {
		t.Skip("scenarios take a few seconds each")
	}
	runs := []scenario.Options{
		{Seed: 5, NormalClients: 40, Duration: 5 * time.Minute},
		{Seed: 11, NormalClients: 25, Duration: 4 * time.Minute, Volume: 0.6},
		{Seed: 23, NormalClients: 60, Duration: 6 * time.Minute, Volume: 1.5},
	}
	// APITAP_SCENARIO_SWEEP=N adds N more (seeds 100…, clients, length
	// and volume varying with the seed; docs/accuracy.md): ~4 s each.
	if n, err := strconv.Atoi(os.Getenv("APITAP_SCENARIO_SWEEP")); err == nil {
		for seed := 100; seed < 100+n; seed++ {
			runs = append(runs, scenario.Options{Seed: int64(seed), NormalClients: 20 + seed%5*10,
				Duration: time.Duration(4+seed%3) * time.Minute, Volume: 0.6 + float64(seed%4)*0.3})
		}
	}
	for _, o := range runs {
		t.Run(fmt.Sprintf("seed%d", o.Seed), func(t *testing.T) {
			o.Start = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
			pcap, truth := scenario.Generate(t, o)
			dir := t.TempDir()
			args := []string{"run", "--pcap", pcap, "--out", dir, "--log-level", "error"}
			var hook *hookReceiver
			if o.Seed == 5 { // alerting end to end: every anomaly finding to a webhook
				hook = newHookReceiver(t, []byte("hook-secret"))
				args = append(args, "--config", alertConfigFile(t, hook.srv.URL, t.TempDir(), "  min_severity: info\n  min_confidence: possible\n"))
			}
			var out, errb bytes.Buffer
			if err := run(context.Background(), args, &out, &errb); err != nil {
				t.Fatalf("run: %v\n%s", err, errb.String())
			}
			type hit struct{ typ, client string }
			found := map[hit]bool{}
			var all []map[string]any
			readLines(t, filepath.Join(dir, "findings.jsonl"), func(m map[string]any) {
				if m["kind"] != "anomaly" {
					return
				}
				all = append(all, m)
				found[hit{fmt.Sprint(m["type"]), fmt.Sprint(m["client_ip"])}] = true
				for _, f := range []string{"type", "client_ip", "principal", "host", "method", "path", "window_start",
					"window_end", "count", "severity", "evidence"} {
					if _, ok := m[f]; !ok {
						t.Errorf("findings.jsonl anomaly lacks %q: %v", f, m)
					}
				}
			})
			var table []string
			for _, a := range truth.Attacks {
				ok := found[hit{a.Type, a.Client}]
				if a.Type == scenario.ErrorBurst { // a server fault: the endpoint, no client
					ok = false
					for _, m := range all {
						if m["type"] == a.Type && params.ReplaceAllString(fmt.Sprint(m["path"]), "{}") == params.ReplaceAllString(a.Path, "{}") {
							ok = true
						}
					}
				}
				table = append(table, fmt.Sprintf("%-24s %-15s %5d requests  found=%v", a.Type, a.Client, a.Requests, ok))
				if !ok {
					t.Errorf("%s from %s (%s %s, %d requests) not found", a.Type, a.Client, a.Method, a.Path, a.Requests)
				}
			}
			fpSubjects := 0
			for _, m := range all {
				if m["type"] == scenario.ErrorBurst && !slices.ContainsFunc(truth.Attacks, func(a scenario.Attack) bool {
					return a.Type == scenario.ErrorBurst && params.ReplaceAllString(fmt.Sprint(m["path"]), "{}") == params.ReplaceAllString(a.Path, "{}")
				}) {
					t.Errorf("error burst on an endpoint that did not fail: %v", m)
				}
				if slices.Contains(truth.NormalIPs, fmt.Sprint(m["client_ip"])) {
					t.Errorf("finding on a normal client: %v", m)
				}
				if strings.HasPrefix(fmt.Sprint(m["principal"]), "jwt:fp:") {
					fpSubjects++
				}
				whole := fmt.Sprint(m)
				for _, a := range truth.Attacks {
					if a.Principal != "" && strings.Contains(whole, a.Principal) {
						t.Errorf("finding names the JWT subject %q in clear: %v", a.Principal, m)
					}
				}
			}
			if fpSubjects == 0 {
				t.Error("no finding names a JWT caller by its subject's fingerprint")
			}
			if hook != nil {
				checkScenarioAlerts(t, hook.alerts(), &truth, all)
			}
			t.Logf("%d clients, %d requests, %d anomaly findings\n%s", len(truth.Clients), truth.Requests, len(all),
				strings.Join(table, "\n"))
		})
	}
}

// checkScenarioAlerts: every attack reaches the webhook as an alert of its
// type and client, no alert names a normal client, and each episode is one
// alert id whose revisions arrive in order, fewer than the finding updates.
func checkScenarioAlerts(t *testing.T, got []alert.Alert, truth *scenario.Truth, findings []map[string]any) {
	t.Helper()
	type hit struct{ typ, client string }
	alerted := map[hit]bool{}
	revs := map[string]uint32{}
	n := 0
	for _, a := range got {
		if a.Kind != "anomaly" {
			continue
		}
		n++
		alerted[hit{a.Type, a.ClientIP}] = true
		alerted[hit{a.Type, ""}] = true
		if slices.Contains(truth.NormalIPs, a.ClientIP) {
			t.Errorf("alert on a normal client: %+v", a)
		}
		for _, at := range truth.Attacks {
			if at.Principal != "" && strings.Contains(a.Principal+a.Summary, at.Principal) {
				t.Errorf("alert names the JWT subject %q in clear: %q", at.Principal, a.Principal)
			}
		}
		if a.Revision != revs[a.ID]+1 {
			t.Errorf("alert %s: revision %d after %d", a.ID, a.Revision, revs[a.ID])
		}
		revs[a.ID] = a.Revision
	}
	for _, at := range truth.Attacks {
		c := at.Client
		if at.Type == scenario.ErrorBurst {
			c = ""
		}
		if !alerted[hit{at.Type, c}] {
			t.Errorf("attack %s from %s raised no alert", at.Type, at.Client)
		}
	}
	if n == 0 || len(revs) > len(findings) {
		t.Errorf("%d anomaly alerts in %d episodes for %d anomaly findings", n, len(revs), len(findings))
	}
	t.Logf("%d alerts of every kind; anomaly: %d alerts in %d episodes for %d findings", len(got), n, len(revs), len(findings))
}
