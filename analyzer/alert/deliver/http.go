package deliver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// rejected marks an error that retrying cannot mend: the receiver refused
// the payload itself (HTTP 400, 413, ...). The dispatcher retries a
// rejected batch one alert at a time, then counts and skips the alert.
type rejected struct{ error }

func (r rejected) Unwrap() error { return r.error }

// retryAfter is a transient error whose receiver asked for a pause (HTTP
// 429/503 Retry-After).
type retryAfter struct {
	error
	after time.Duration
}

func (r retryAfter) Unwrap() error { return r.error }

func isRejected(err error) bool {
	var r rejected
	return errors.As(err, &r)
}

// httpClient builds a client with the destination's trust and timeout. It
// follows no redirects: a webhook that moved is a configuration error, and
// following one would send the signed alert somewhere unreviewed.
func httpClient(t TLSConfig, timeout time.Duration) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // documented: tests only
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no PEM certificates", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = 2
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// statusError classifies a non-2xx answer: 408, 429 and 5xx are transient
// (with the server's Retry-After when it gave one), other 4xx and 3xx
// reject the payload... except 401/403, which mean a wrong token: transient,
// so alerts wait in the spool while an operator fixes it.
func statusError(what string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, sanitize(body))
	switch c := resp.StatusCode; {
	case c == 408 || c == 429 || c >= 500:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return retryAfter{err, time.Duration(min(s, 3600)) * time.Second}
		}
		return err
	case c == 401 || c == 403:
		return err
	default:
		return rejected{err}
	}
}

// sanitize keeps an error body printable and short for logs.
func sanitize(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			c = ' '
		}
		out = append(out, c)
	}
	return string(out)
}
