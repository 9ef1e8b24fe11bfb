package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/apitap/apitap/sensor"
	"github.com/apitap/apitap/sensor/exchange"
)

// bindStageFlags binds the most used per-stage knobs; the rest are set in
// the YAML file (docs/config.md).
func bindStageFlags(fs *flag.FlagSet, s *sensor.Config) {
	h := &s.Exchange
	fs.IntVar(&h.Limits.MaxBodyBytes, "body-limit", h.Limits.MaxBodyBytes, "body bytes kept per message (the rest is counted)")
	fs.Int64Var(&h.MaxDecodedBytes, "max-decoded-bytes", h.MaxDecodedBytes, "decompressed-size cap per body (decompression-bomb guard)")
	fs.DurationVar(&h.ResponseTimeout, "response-timeout", h.ResponseTimeout, "capture time a request may wait for its response")
	fs.BoolVar(&h.Redact, "redact", h.Redact, "replace credentials by keyed fingerprints (false carries secrets downstream)")
	fs.BoolVar(&h.Mask.Enabled, "mask", h.Mask.Enabled, "mask sensitive values in bodies and queries before publishing (docs/privacy.md)")
	fs.StringVar(&h.JWTSubjects, "jwt-subjects", h.JWTSubjects, "a bearer JWT's subject in the records: fingerprint (keyed, the default) or raw (docs/privacy.md)")
	fs.Var(&keyRef{key: &h.HMACKey}, "hmac-key", "fingerprint key as env:NAME or file:PATH (never the key itself on a command line)")
	fs.DurationVar(&s.TCP.IdleTimeout, "idle-timeout", s.TCP.IdleTimeout, "capture time after which a quiet TCP connection is closed")
	fs.Var(&portList{p: &s.Decode.VXLANPorts}, "vxlan-ports", "UDP ports decoded as VXLAN, comma-separated")
	fs.Var(&portList{p: &s.Decode.GENEVEPorts}, "geneve-ports", "UDP ports decoded as GENEVE, comma-separated")
}

// keyRef sets the HMAC key from a reference only: a secret typed on a
// command line ends up in shell history and in ps output.
type keyRef struct{ key *exchange.Key }

func (r *keyRef) String() string { return "" }

func (r *keyRef) Set(v string) error {
	if !strings.HasPrefix(v, "env:") && !strings.HasPrefix(v, "file:") {
		return errors.New("give the key as env:NAME or file:PATH")
	}
	return r.key.UnmarshalText([]byte(v))
}

// portList is a comma-separated list of UDP ports.
type portList struct{ p *[]uint16 }

func (l *portList) String() string {
	if l == nil || l.p == nil {
		return ""
	}
	parts := make([]string, len(*l.p))
	for i, v := range *l.p {
		parts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(parts, ",")
}

func (l *portList) Set(v string) error {
	var out []uint16
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.ParseUint(part, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("bad port %q", part)
		}
		out = append(out, uint16(n))
	}
	*l.p = out
	return nil
}
