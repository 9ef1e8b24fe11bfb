package exposure

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apitap/apitap/analyzer/pii"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/pcaptest"
	"github.com/apitap/apitap/internal/testutil"
)

// corpusExplained lists every alerting finding (likely or confirmed, not
// an example) that the scanner raises on the real captures of
// ../shared/corpus/pcap, written by others, with why it is right or
// acceptable. A new one fails the test: either it is a false positive to
// fix, or it is explained here.
//
// Key: capture path under corpus/pcap | location | field | type.
var corpusExplained = map[string]string{
	"arkime/80211http.pcap | request.body | $.Passwd | cleartext_credentials":                                                                         why1,
	"arkime/80211http.pcap | request.body | $.Passwd | password":                                                                                      why2,
	"arkime/arkime_synthetic.pcap | request.body | $.password | cleartext_credentials":                                                                why1,
	"arkime/arkime_synthetic.pcap | request.body | $.password | password":                                                                             why2,
	"arkime/arkime_synthetic.pcap | request.header | Authorization | cleartext_credentials":                                                           why1,
	"arkime/http-basicauth.pcap | request.header | Authorization | cleartext_credentials":                                                             why1,
	"ndpi/1kxun.pcap | request.header | authorization_code | session_token":                                                                           why3,
	"ndpi/1kxun.pcap | request.query | client_ip | ip_address":                                                                                        why4,
	"ndpi/1kxun.pcap | request.query | ip | ip_address":                                                                                               why4,
	"ndpi/1kxun.pcap | request.query | key | secret_in_url":                                                                                           why5,
	"ndpi/1kxun.pcap | request.query | session_id | secret_in_url":                                                                                    why5,
	"ndpi/1kxun.pcap | request.query | session_id | session_token":                                                                                    why3,
	"ndpi/1kxun.pcap | response.body | $ | api_key":                                                                                                   why6,
	"ndpi/1kxun.pcap | response.header | X-ServerIp | ip_address":                                                                                     why4,
	"ndpi/WebattackRCE.pcap | request.query | pass | password":                                                                                        why2,
	"ndpi/WebattackRCE.pcap | request.query | pass | secret_in_url":                                                                                   why5,
	"ndpi/WebattackSQLinj.pcap | response.body | sql_error | verbose_error":                                                                           why7,
	"ndpi/http_ua_splitted_in_two_pkts.pcapng | request.query | clientSessionId | secret_in_url":                                                      why5,
	"ndpi/http_ua_splitted_in_two_pkts.pcapng | request.query | clientSessionId | session_token":                                                      why3,
	"ndpi/quickplay.pcap | request.query | apiKey | api_key":                                                                                          why6,
	"ndpi/quickplay.pcap | request.query | apiKey | secret_in_url":                                                                                    why5,
	"ndpi/quickplay.pcap | request.query | signature | secret_in_url":                                                                                 why5,
	"ndpi/webdav.pcap | request.header | Authorization | cleartext_credentials":                                                                       why1,
	"ndpi/webdav.pcap | response.body | $ | ip_address":                                                                                               why4,
	"pcapplusplus/4KHttpRequests.pcap | request.header | x-Akamai-Streaming-SessionID | session_token":                                                why3,
	"pcapplusplus/4KHttpRequests.pcap | request.query | api_key | api_key":                                                                            why6,
	"pcapplusplus/4KHttpRequests.pcap | request.query | api_key | secret_in_url":                                                                      why5,
	"pcapplusplus/4KHttpRequests.pcap | request.query | ip | ip_address":                                                                              why4,
	"pcapplusplus/4KHttpRequests.pcap | request.query | key | secret_in_url":                                                                          why5,
	"pcapplusplus/4KHttpRequests.pcap | request.query | signature | secret_in_url":                                                                    why5,
	"pcapplusplus/4KHttpRequests.pcap | request.query | userName | email":                                                                             why8,
	"pcapplusplus/example.pcap | request.header | SID | session_token":                                                                                why3,
	"pcapplusplus/example.pcap | request.query | api_key | api_key":                                                                                   why6,
	"pcapplusplus/example.pcap | request.query | api_key | secret_in_url":                                                                             why5,
	"pcapplusplus/example.pcap | response.header | SID | session_token":                                                                               why3,
	"pcapplusplus/http-packets.pcap | response.body | $ | email":                                                                                      why9,
	"pcapplusplus/http-packets.pcap | response.body | $.rows[].IPV6Addr | ip_address":                                                                 why4,
	"pcapplusplus/http-packets.pcap | response.body | $[].value | ip_address":                                                                         why4,
	"suricata-verify/http-brotli-ce__input.pcap | request.query | sugkey | api_key":                                                                   why6,
	"suricata-verify/http-brotli-ce__input.pcap | request.query | sugkey | secret_in_url":                                                             why5,
	"suricata-verify/http-pipeline-files-with-gap__input.pcap | response.body | $ | email":                                                            why9,
	"suricata-verify/http-pipeline-files-with-gap__input.pcap | response.body | $ | phone":                                                            why10,
	"suricata-verify/http-post-file__input.pcap | request.body | $.password | cleartext_credentials":                                                  why1,
	"suricata-verify/http-post-file__input.pcap | request.body | $.password | password":                                                               why2,
	"suricata-verify/http-post-file__input.pcap | request.header | Authorization | cleartext_credentials":                                             why1,
	"suricata-verify/http-post-file__input.pcap | response.body | $.email | email":                                                                    why8,
	"suricata-verify/http-post-file__input.pcap | response.header | Token | session_token":                                                            why3,
	"suricata-verify/http-request-invalid__input.pcap | request.body | $.password | cleartext_credentials":                                            why1,
	"suricata-verify/http-request-invalid__input.pcap | request.body | $.password | password":                                                         why2,
	"suricata-verify/lua-transform-10-bug-8173__suri-crash-13.107.253.70-only.pcap | response.body | $.items[].lower | ip_address":                    why11,
	"suricata-verify/lua-transform-10-bug-8173__suri-crash-13.107.253.70-only.pcap | response.body | $.items[].upper | ip_address":                    why11,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $._npmUser.actor.email | email":                    why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $._npmUser.actor.name | person_name":               why13,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $._npmUser.email | email":                          why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $._npmUser.name | person_name":                     why13,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.author.email | email":                            why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.contributors[].email | email":                    why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.maintainers[].email | email":                     why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.objects[].package.maintainers[].email | email":   why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.objects[].package.publisher.actor.email | email": why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.objects[].package.publisher.email | email":       why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.versions.*._npmUser.email | email":               why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.versions.*._npmUser.name | person_name":          why13,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.versions.*.author.email | email":                 why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.versions.*.contributors[].email | email":         why12,
	"suricata-verify/lua-transform-11-bug-8173__suri-crash-104.16.3.34-only.pcap | response.body | $.versions.*.maintainers[].email | email":          why12,
	"zeek/100-continue.pcap | response.body | $ | email":                                                                                              why9,
	"zeek/basic-auth-with-colon.pcap | request.header | Authorization | cleartext_credentials":                                                        why1,
	"zeek/erspan.pcap | request.header | Authorization | cleartext_credentials":                                                                       why1,
	"zeek/missing-zlib-header.pcap | response.header | PICS-Label | email":                                                                            why8,
	"zeek/mixed-vlan-mpls.pcap | response.body | $ | email":                                                                                           why9,
	"zeek/tcp_missing-syn.pcap | response.body | $ | email":                                                                                           why9,
	"zeek/tunnels_geneve-many-options.pcap | response.body | $.YourFunkingHostname | ip_address":                                                      why4,
	"zeek/tunnels_geneve-many-options.pcap | response.body | $.YourFunkingIPAddress | ip_address":                                                     why4,
	"zeek/websocket_jupyter-websocket.pcap | request.query | session_id | secret_in_url":                                                              why5,
	"zeek/websocket_jupyter-websocket.pcap | request.query | session_id | session_token":                                                              why3,
}

// The reasons (all are true positives: the corpus captures carry real
// personal data and credentials, see its SOURCES.md).
const (
	why1  = "plain-HTTP login or Basic/Digest auth in the capture: credentials really crossed the wire in clear"
	why2  = "a password parameter or field sent by the client (a login form or an attack tool)"
	why3  = "a session id or token under a session/token name"
	why4  = "a real public address (client_ip/ip parameters, server IP headers, IP-echo services, server signatures)"
	why5  = "an API key, session id or signature in the query string: a real secret in a URL"
	why6  = "a real provider key (Google AIza\u2026) or a key under an api_key name"
	why7  = "a SQL injection attack answered with the database error"
	why8  = "a real e-mail address in a header or parameter"
	why9  = "a real contact address in an HTML or text page"
	why10 = "a real contact phone number in an HTML page"
	why11 = "an address-range table: real public addresses (not personal; low severity)"
	why12 = "npm registry documents list maintainers' and authors' real e-mail addresses"
	why13 = "npm user objects name their user (a handle under a user object's name: the person_name rule)"
)

// exchangesOf is the capture's exchanges; a capture that is truncated
// keeps those before its end, and one the sensor cannot open has none
// (both covered by the sensor's own corpus tests).
func exchangesOf(path string) []*flow.Exchange {
	ex, _ := pcaptest.Exchanges(path)
	return ex
}

// TestCorpusFindings runs the scanner over every exchange of the real
// captures: every alerting finding must be explained.
func TestCorpusFindings(t *testing.T) {
	root := filepath.Join(testutil.Corpus(t), "pcap")
	en := engine(t, nil)
	got := map[string]string{} // key -> masked sample
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng") || strings.HasSuffix(path, ".cap")) {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, e := range exchangesOf(path) {
			n++
			items := []Item{{Exchange: e, Template: ""}}
			en.Scan(items, nil)
			for _, h := range items[0].Hits {
				if h.Kind == "" || h.Conf < pii.Likely || h.Examples >= h.N {
					continue
				}
				got[strings.Join([]string{rel, h.Location, h.Field, h.Type}, " | ")] = h.Masked
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d exchanges from the corpus", n)
	}
	var unexplained []string
	for k, m := range got {
		if _, ok := corpusExplained[k]; !ok {
			unexplained = append(unexplained, fmt.Sprintf("%q: %q,", k, m))
		}
	}
	sort.Strings(unexplained)
	for _, u := range unexplained {
		t.Errorf("unexplained finding (masked sample): %s", u)
	}
	var stale []string
	for k := range corpusExplained {
		if _, ok := got[k]; !ok {
			stale = append(stale, k)
		}
	}
	slices.Sort(stale)
	for _, s := range stale {
		t.Errorf("explained finding no longer raised (remove it): %s", s)
	}
	t.Logf("%d exchanges, %d alerting findings, all explained", n, len(got))
}
