package deliver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/apitap/apitap/analyzer/alert"
)

// Webhook headers. The signature covers the timestamp and the body
// ("TIMESTAMP.BODY"), so a receiver that rejects old timestamps is safe
// from replays of a captured request.
const (
	HeaderSignature = "X-Apitap-Signature" // sha256=HEX(HMAC-SHA256(key, TIMESTAMP + "." + BODY))
	HeaderTimestamp = "X-Apitap-Timestamp" // unix seconds when sent
	HeaderAlertID   = "X-Apitap-Alert-Id"  // the alert's id (stable across revisions)
	HeaderRevision  = "X-Apitap-Revision"  // the revision: with the id, an idempotency key
)

// webhook posts one alert per request: relays (Slack/Teams bridges, SOAR
// intake) expect one event per call.
type webhook struct {
	url     string
	key     []byte
	format  alert.Format
	client  *http.Client
	version string
	now     func() int64
	buf     []byte
}

func newWebhook(d DestinationConfig, f alert.Format, version string, now func() int64) (*webhook, error) {
	key, err := secret("webhook secret", d.Webhook.SecretFile, d.Webhook.SecretEnv, false)
	if err != nil {
		return nil, err
	}
	c, err := httpClient(d.Webhook.TLS, d.Webhook.Timeout)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return &webhook{url: d.Webhook.URL, key: []byte(key), format: f, client: c, version: version, now: now}, nil
}

// Sign returns the signature header value for a body sent at ts (unix
// seconds): what a receiver recomputes with the shared key.
func Sign(key []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (w *webhook) send(ctx context.Context, batch []*alert.Alert) (int, error) {
	for i, a := range batch {
		var err error
		if w.buf, err = alert.Append(w.buf[:0], w.format, a); err != nil {
			return i, rejected{err}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(w.buf))
		if err != nil {
			return i, err
		}
		ts := w.now()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "apitap/"+w.version)
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderAlertID, a.ID)
		req.Header.Set(HeaderRevision, strconv.FormatUint(uint64(a.Revision), 10))
		if len(w.key) > 0 {
			req.Header.Set(HeaderSignature, Sign(w.key, ts, w.buf))
		}
		resp, err := w.client.Do(req)
		if err != nil {
			return i, fmt.Errorf("webhook: %w", redactURL(err))
		}
		if resp.StatusCode/100 != 2 {
			err := statusError("webhook", resp)
			resp.Body.Close()
			return i, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
	}
	return len(batch), nil
}

func (w *webhook) close() error { w.client.CloseIdleConnections(); return nil }
