package anomaly

import (
	"encoding/json"
	"fmt"
)

// baseline is the stored form of what the detector learned of one
// endpoint (kept in the inventory's state blob), so that a restarted
// analyzer, or the one that takes a host's partition over, does not
// start blind: the p99s of per-client windows, the burst averages, the
// auth share.
type baseline struct {
	Requests uint64      `json:"requests"`
	Authd    uint64      `json:"authd"`
	Rate     [][2]uint64 `json:"rate,omitempty"`  // histogram buckets: index, count
	Bytes    [][2]uint64 `json:"bytes,omitempty"` // same
	Seen429  bool        `json:"seen_429,omitempty"`
	FailAvg  float64     `json:"fail_avg,omitempty"`
	ErrAvg   float64     `json:"err_avg,omitempty"`
}

func (h *hist) sparse() [][2]uint64 {
	var out [][2]uint64
	for i, n := range h.n {
		if n > 0 {
			out = append(out, [2]uint64{uint64(i), uint64(n)})
		}
	}
	return out
}

func (h *hist) load(b [][2]uint64) error {
	*h = hist{}
	for _, kv := range b {
		if kv[0] >= uint64(len(h.n)) || kv[1] > 1<<32-1 {
			return fmt.Errorf("anomaly: baseline bucket %d out of range", kv[0])
		}
		h.n[kv[0]] = uint32(kv[1])
		h.total += kv[1]
	}
	return nil
}

// SaveEndpoint returns the stored baseline of an endpoint, or nil when the
// detector has none.
func (d *Detector) SaveEndpoint(host, method, path, op string) json.RawMessage {
	ep := d.eps[epKey{host, method, path, op}]
	if ep == nil {
		return nil
	}
	b, err := json.Marshal(baseline{Requests: ep.requests, Authd: ep.authd, Rate: ep.rate.sparse(),
		Bytes: ep.bytes.sparse(), Seen429: ep.seen429, FailAvg: ep.fails.avg, ErrAvg: ep.errs.avg})
	if err != nil {
		return nil
	}
	return b
}

// LoadEndpoint takes a stored baseline back. An endpoint the detector
// already knows keeps the baseline built from more requests.
func (d *Detector) LoadEndpoint(host, method, path, op string, data json.RawMessage) error {
	var b baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("anomaly: stored baseline: %w", err)
	}
	k := epKey{host, method, path, op}
	ep := d.eps[k]
	if ep != nil && ep.requests >= b.Requests {
		return nil
	}
	if ep == nil {
		if len(d.eps) >= d.cfg.MaxEndpoints {
			d.st.EndpointOverflow++
			return nil
		}
		ep = &endpoint{admin: segmentsIn(path, d.admin), owners: map[uint64]uint64{}}
		ep.login = d.LoginEndpoint(method, path)
		d.eps[k.clone()] = ep
	}
	if err := ep.rate.load(b.Rate); err != nil {
		return err
	}
	if err := ep.bytes.load(b.Bytes); err != nil {
		return err
	}
	ep.requests, ep.authd, ep.seen429 = b.Requests, min(b.Authd, b.Requests), b.Seen429
	ep.fails.avg, ep.errs.avg = b.FailAvg, b.ErrAvg
	return nil
}
