package store

import (
	"context"
	"testing"
)

// LoadEndpoints reads back the current row (highest version) of the
// requested hosts' endpoints, state blob included, and nothing else.
func TestLoadEndpoints(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	r := fullResult()
	if err := s.Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	up := r.Endpoints[0]
	up.Requests, up.Version = 12345, up.Version+1
	r.Endpoints = r.Endpoints[:1]
	r.Endpoints[0] = up
	r.Exchanges, r.Findings, r.Losses = nil, nil, nil
	if err := s.Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	host := up.Host
	got, err := s.LoadEndpoints(ctx, []string{host, "nobody.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, e := range fullResult().Endpoints {
		if e.Host == host {
			want++
		}
	}
	if len(got) != want || want == 0 {
		t.Fatalf("loaded %d rows, want %d", len(got), want)
	}
	for _, e := range got {
		if e.Host != host {
			t.Fatalf("row of another host: %+v", e)
		}
		if e.Endpoint == up.Endpoint && e.Operation == up.Operation && e.Port == up.Port {
			if e.Requests != 12345 || string(e.StateBlob) != string(up.StateBlob) {
				t.Fatalf("not the newest version: %+v", e)
			}
		}
	}
}
