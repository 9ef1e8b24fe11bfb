package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/apitap/apitap/analyzer/alert"
)

// hec posts alerts to a Splunk HTTP Event Collector, a batch per request:
// the body is the events' JSON envelopes one after another, as Splunk's
// /services/collector/event endpoint documents.
type hec struct {
	url, token, index, source, sourcetype, channel string
	format                                         alert.Format
	client                                         *http.Client
	buf, enc                                       []byte
}

func newHEC(d DestinationConfig, f alert.Format) (*hec, error) {
	tok, err := secret("hec token", d.HEC.TokenFile, d.HEC.TokenEnv, true)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(d.HEC.URL)
	if err != nil {
		return nil, fmt.Errorf("hec.url: %w", err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/services/collector/event"
	}
	c, err := httpClient(d.HEC.TLS, d.HEC.Timeout)
	if err != nil {
		return nil, fmt.Errorf("hec: %w", err)
	}
	return &hec{url: u.String(), token: tok, index: d.HEC.Index, source: d.HEC.Source, sourcetype: d.HEC.Sourcetype,
		channel: d.HEC.Channel, format: f, client: c}, nil
}

// hecEvent is the collector's envelope. time is epoch seconds with a
// fraction (Splunk keeps milliseconds); host is the analyzer.
type hecEvent struct {
	Time       json.Number     `json:"time"`
	Host       string          `json:"host,omitempty"`
	Source     string          `json:"source,omitempty"`
	Sourcetype string          `json:"sourcetype,omitempty"`
	Index      string          `json:"index,omitempty"`
	Event      json.RawMessage `json:"event"`
}

func (h *hec) send(ctx context.Context, batch []*alert.Alert) (int, error) {
	h.buf = h.buf[:0]
	for _, a := range batch {
		var err error
		if h.enc, err = alert.Append(h.enc[:0], h.format, a); err != nil {
			return 0, rejected{err}
		}
		ev := hecEvent{Time: json.Number(strconv.FormatFloat(float64(a.Time.UnixMilli())/1000, 'f', 3, 64)),
			Host: a.Observer, Source: h.source, Sourcetype: h.sourcetype, Index: h.index, Event: h.enc}
		b, err := json.Marshal(ev)
		if err != nil {
			return 0, rejected{err}
		}
		h.buf = append(append(h.buf, b...), '\n')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(h.buf))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Splunk "+h.token)
	req.Header.Set("Content-Type", "application/json")
	if h.channel != "" {
		req.Header.Set("X-Splunk-Request-Channel", h.channel)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("hec: %w", redactURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, statusError("hec", resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return len(batch), nil
}

func (h *hec) close() error { h.client.CloseIdleConnections(); return nil }

// redactURL drops the query of a failed request's URL from the error: a
// receiver may carry a token there.
func redactURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			ue.URL = u.String()
		}
		return ue
	}
	return err
}
