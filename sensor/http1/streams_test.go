package http1

import (
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

// Real request/response bytes extracted from the pcap corpus (see
// testdata/streams/README.md).
func TestRealStreams(t *testing.T) {
	type want struct {
		msgs  []string // summaries
		flags []flow.Flags
		wire  []int64 // BodyWireBytes
	}
	tests := []struct {
		name           string
		client, server want
		clientSkipped  int
		serverSkipped  int
	}{
		{name: "get-gzip",
			client: want{msgs: []string{"GET /gzip"}, flags: []flow.Flags{0}},
			server: want{msgs: []string{"200 165"}, flags: []flow.Flags{0}, wire: []int64{165}}},
		{name: "pipelined-requests",
			client: want{msgs: []string{"GET /style/enhanced.css", "GET /script/urchin.js", "GET /images/template/screen/bullet_utility.png",
				"GET /images/template/screen/key-point-top.png", "GET /projects/calendar/images/header-sunbird.png"}},
			server: want{msgs: []string{"200 946", "200 6716", "200 94", "200 2349", "200 27579"}, flags: []flow.Flags{0, 0, 0, 0, 0}}},
		{name: "100-continue",
			client: want{msgs: []string{"POST /"}, wire: []int64{2001}},
			server: want{msgs: []string{"100 0", "200 60731"}, flags: []flow.Flags{0, 0}}},
		{name: "http-no-length",
			client: want{msgs: []string{"GET /js/xxxxxx.js"}},
			server: want{msgs: []string{"200 165"}, flags: []flow.Flags{flow.FlagCloseDelimited}}},
		{name: "http-post-upload",
			client: want{msgs: []string{"GET /fileupload/", "GET /fileupload/", "POST /fileupload/servlet/UploadHandleServlet"}, wire: []int64{0, 0, 449}},
			server: want{msgs: []string{"200 468", "200 468", "200 144"}}},
		{name: "websocket", clientSkipped: 177, serverSkipped: 632,
			client: want{msgs: []string{"GET /echo?.kl=Y"}},
			server: want{msgs: []string{"101 0"}}},
		{name: "261_variant-04-te_cl_desync",
			client: want{msgs: []string{"POST /", "GET /smuggled-te-cl"}, flags: []flow.Flags{flow.FlagMalformed, 0}}},
		{name: "261_variant-08-leading_zeros",
			client: want{msgs: []string{"POST /", "GET /smuggled-leading-zeros"}, flags: []flow.Flags{0, 0}, wire: []int64{50, 0}}},
		// "Transfer-Encoding: ,\tchunked," — empty list elements are
		// ignored (RFC 9110 5.6.1), so chunked is last; with
		// Content-Length: 0 beside it that is malformed, and the stream
		// ends before the last chunk.
		{name: "http-chunked__input",
			client: want{msgs: []string{"HEAD /resources/fonts/SourceSansPro-Regular.ttf"}, flags: []flow.Flags{flow.FlagMalformed | flow.FlagIncomplete}}},
	}
	rng := rand.New(rand.NewSource(7))
	check := func(t *testing.T, side string, request bool, methods []string, data []byte, w want, skipped int) []rec {
		t.Helper()
		r := runOps(t, request, Limits{}, false, methods, op{data: data})
		if got := summaries(r.msgs); strings.Join(got, ",") != strings.Join(w.msgs, ",") {
			t.Fatalf("%s: got %q want %q", side, got, w.msgs)
		}
		for i, f := range w.flags {
			if r.msgs[i].Flags != f {
				t.Errorf("%s msg %d flags [%v] want [%v]", side, i, r.msgs[i].Flags, f)
			}
		}
		for i, n := range w.wire {
			if r.msgs[i].BodyWireBytes != n {
				t.Errorf("%s msg %d body wire %d want %d", side, i, r.msgs[i].BodyWireBytes, n)
			}
		}
		if r.skipped != skipped {
			t.Errorf("%s skipped %d want %d", side, r.skipped, skipped)
		}
		// Same result for random segmentations.
		for k := 0; k < 50; k++ {
			var cuts []int
			for c := 0; c < len(data); c += 1 + rng.Intn(1500) {
				if c > 0 {
					cuts = append(cuts, c)
				}
			}
			if got := runSplit(t, request, methods, data, cuts); !sameRecs(r.msgs, got.msgs, false) {
				t.Fatalf("%s: segmentation %v changes the result", side, cuts)
			}
		}
		return r.msgs
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := os.ReadFile("testdata/streams/" + tc.name + ".client")
			if err != nil {
				t.Fatal(err)
			}
			reqs := check(t, "client", true, nil, c, tc.client, tc.clientSkipped)
			if tc.server.msgs == nil {
				return
			}
			s, err := os.ReadFile("testdata/streams/" + tc.name + ".server")
			if err != nil {
				t.Fatal(err)
			}
			check(t, "server", false, methodsOf(reqs), s, tc.server, tc.serverSkipped)
		})
	}
}
