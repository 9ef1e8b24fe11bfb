package exchange

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apitap/apitap/sensor/http1"
)

// Config tunes a Factory. Start from DefaultConfig: the zero value of a
// field means "use the default" for numbers and lists, but the zero value of
// the booleans is false, which is NOT the default (redaction and decoding
// are on by default).
type Config struct {
	// Limits bound what the HTTP parsers keep per message. Default
	// http1.DefaultLimits(): start line 8 KiB, headers 64 KiB / 256 fields,
	// body prefix 64 KiB. Limits.MaxBodyBytes also caps the decoded body
	// kept in Body.Data.
	Limits http1.Limits `yaml:"limits"`

	// MaxDecodedBytes caps the decompressed size of one body (and of every
	// intermediate layer of a stacked coding). Decoding stops there, the
	// record gets FlagDecompressionBomb and Body.DecodedBytes stops at this
	// value. Default 1 MiB.
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`

	// MaxPending is the most unanswered requests kept per connection.
	// When one more arrives, the oldest is emitted as no_response and
	// counted in Stats.PendingDrops. Default 64.
	MaxPending int `yaml:"max_pending"`

	// MaxPendingBytes bounds the memory held by the copies of pending
	// requests (headers and body prefixes) of one Factory, i.e. one
	// worker. When exceeded, the oldest pending request of any connection
	// is emitted as no_response and counted in Stats.PendingDrops.
	// Default 64 MiB.
	MaxPendingBytes int64 `yaml:"max_pending_bytes"`

	// ResponseTimeout is how long (capture clock) a request may stay
	// unanswered before it is emitted with Status 0 and FlagNoResponse.
	// Default 60 s.
	ResponseTimeout time.Duration `yaml:"response_timeout"`

	// Redact replaces credentials by keyed fingerprints (see redact.go and
	// docs/exchange-format.md). Default true. Setting it to false is an
	// explicit opt-in to carry live secrets (tokens, passwords, cookies)
	// downstream in clear text.
	Redact bool `yaml:"redact"`

	// HMACKey keys the credential fingerprints. If empty, a random key is
	// generated once per process: fingerprints are then stable within one
	// run (across all Factories of the process) but do not survive a
	// restart and do not match between sensors. Configure a key (at least
	// 16 random bytes, kept secret) for fingerprints that are comparable
	// over time and across sensors. In YAML see Key for the accepted forms
	// ("hex:...", "base64:...", "env:NAME", "file:/path").
	HMACKey Key `yaml:"hmac_key"`

	// JWTSubjects is what a bearer JWT's "sub" claim becomes in the
	// record: "fingerprint", its keyed fingerprint "fp:<32 hex>" (HMAC
	// under HMACKey of "jwt-sub", a zero byte and the subject), or "raw",
	// the subject itself. A subject names a user (a user name, an e-mail
	// address, an id); the analyzer needs only to tell subjects apart, so
	// the raw value is an opt-in. Default "fingerprint".
	JWTSubjects string `yaml:"jwt_subjects"`

	// CredentialHeaders are the header names (case-insensitive) whose
	// values are redacted. Authorization and Proxy-Authorization are parsed
	// by scheme, Cookie and Set-Cookie per cookie, any other name is
	// treated as an API key. Default: DefaultCredentialHeaders.
	CredentialHeaders []string `yaml:"credential_headers"`

	// SecretQueryParams are query parameter names (whole names,
	// case-insensitive) whose values are redacted in Target and Query.
	// Default: DefaultSecretQueryParams.
	SecretQueryParams []string `yaml:"secret_query_params"`

	// DecodeBodies undoes Content-Encoding (gzip, deflate, br, zstd) so
	// Body.Data holds the decoded body. Default true.
	DecodeBodies bool `yaml:"decode_bodies"`

	// MidstreamScanBytes is how many bytes of one direction of a
	// connection joined midstream (or after a gap before any HTTP was
	// recognised) are scanned for an HTTP start line before the direction
	// is declared not HTTP. Default 64 KiB.
	MidstreamScanBytes int `yaml:"midstream_scan_bytes"`

	// Mask overwrites sensitive values in bodies and query strings
	// before the record leaves the package (mask.go, docs/privacy.md).
	// Default off.
	Mask MaskConfig `yaml:"mask"`
}

// The values of Config.JWTSubjects.
const (
	SubjectFingerprint = "fingerprint"
	SubjectRaw         = "raw"
)

// DefaultCredentialHeaders is the default Config.CredentialHeaders.
var DefaultCredentialHeaders = []string{
	"authorization", "proxy-authorization", "cookie", "set-cookie",
	"x-api-key", "api-key", "x-auth-token", "x-access-token",
	"x-amz-security-token", "x-csrf-token", "x-goog-api-key",
	"private-token", "x-vault-token",
}

// DefaultSecretQueryParams is the default Config.SecretQueryParams.
var DefaultSecretQueryParams = []string{
	"api_key", "apikey", "key", "token", "access_token", "auth",
	"password", "passwd", "secret", "client_secret", "sig", "signature",
}

const (
	defaultMaxDecoded      = 1 << 20
	defaultMaxPending      = 64
	defaultMaxPendingBytes = 64 << 20
	defaultTimeout         = 60 * time.Second
	defaultScanBytes       = 64 << 10
	maxMaxPending          = 1 << 16
	minHMACKeyLen          = 16
	maxCredentialHeader    = 64 // longer configured names cannot be matched
)

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Limits:             http1.DefaultLimits(),
		MaxDecodedBytes:    defaultMaxDecoded,
		MaxPending:         defaultMaxPending,
		MaxPendingBytes:    defaultMaxPendingBytes,
		ResponseTimeout:    defaultTimeout,
		Redact:             true,
		JWTSubjects:        SubjectFingerprint,
		CredentialHeaders:  append([]string(nil), DefaultCredentialHeaders...),
		SecretQueryParams:  append([]string(nil), DefaultSecretQueryParams...),
		DecodeBodies:       true,
		MidstreamScanBytes: defaultScanBytes,
	}
}

// Validate reports values that are out of range. Zero numbers are valid
// (they mean the default).
func (c *Config) Validate() error {
	var errs []error
	l := c.Limits
	if l.MaxStartLine < 0 || l.MaxHeaderBytes < 0 || l.MaxHeaders < 0 || l.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("exchange: Limits must not be negative"))
	}
	if c.MaxDecodedBytes < 0 {
		errs = append(errs, errors.New("exchange: MaxDecodedBytes must not be negative"))
	}
	if c.MaxPendingBytes < 0 {
		errs = append(errs, errors.New("exchange: MaxPendingBytes must not be negative"))
	}
	if c.MaxPending < 0 || c.MaxPending > maxMaxPending {
		errs = append(errs, fmt.Errorf("exchange: MaxPending must be in [0, %d]", maxMaxPending))
	}
	if c.ResponseTimeout < 0 {
		errs = append(errs, errors.New("exchange: ResponseTimeout must not be negative"))
	}
	if c.MidstreamScanBytes < 0 {
		errs = append(errs, errors.New("exchange: MidstreamScanBytes must not be negative"))
	}
	if n := len(c.HMACKey); n > 0 && n < minHMACKeyLen {
		errs = append(errs, fmt.Errorf("exchange: HMACKey must be at least %d bytes (got %d)", minHMACKeyLen, n))
	}
	if c.JWTSubjects != SubjectFingerprint && c.JWTSubjects != SubjectRaw {
		errs = append(errs, fmt.Errorf("exchange: JWTSubjects: %q is neither %q nor %q", c.JWTSubjects, SubjectFingerprint, SubjectRaw))
	}
	for _, h := range c.CredentialHeaders {
		if h == "" || len(h) > maxCredentialHeader || !isToken(h) {
			errs = append(errs, fmt.Errorf("exchange: CredentialHeaders: %q is not a header name of at most %d bytes", h, maxCredentialHeader))
		}
	}
	for _, p := range c.SecretQueryParams {
		if p == "" {
			errs = append(errs, errors.New("exchange: SecretQueryParams: empty name"))
		}
	}
	errs = append(errs, c.Mask.validate(c.DecodeBodies)...)
	return errors.Join(errs...)
}

// normalized returns c with zero and invalid values replaced by defaults, so
// a Factory never works with an out-of-range value even when the caller
// skipped Validate.
func (c Config) normalized() Config {
	d := DefaultConfig()
	def := http1.DefaultLimits()
	if c.Limits.MaxStartLine <= 0 {
		c.Limits.MaxStartLine = def.MaxStartLine
	}
	if c.Limits.MaxHeaderBytes <= 0 {
		c.Limits.MaxHeaderBytes = def.MaxHeaderBytes
	}
	if c.Limits.MaxHeaders <= 0 {
		c.Limits.MaxHeaders = def.MaxHeaders
	}
	if c.Limits.MaxBodyBytes <= 0 {
		c.Limits.MaxBodyBytes = def.MaxBodyBytes
	}
	if c.MaxDecodedBytes <= 0 {
		c.MaxDecodedBytes = d.MaxDecodedBytes
	}
	if c.MaxPending <= 0 || c.MaxPending > maxMaxPending {
		c.MaxPending = d.MaxPending
	}
	if c.MaxPendingBytes <= 0 {
		c.MaxPendingBytes = d.MaxPendingBytes
	}
	if c.ResponseTimeout <= 0 {
		c.ResponseTimeout = d.ResponseTimeout
	}
	if c.MidstreamScanBytes <= 0 {
		c.MidstreamScanBytes = d.MidstreamScanBytes
	}
	if c.CredentialHeaders == nil {
		c.CredentialHeaders = d.CredentialHeaders
	}
	if c.SecretQueryParams == nil {
		c.SecretQueryParams = d.SecretQueryParams
	}
	// Copy the key: the Factory must not see later changes by the caller.
	c.HMACKey = append(Key(nil), c.HMACKey...)
	c.Mask = c.Mask.normalized()
	return c
}

func isToken[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// tokenChar marks RFC 9110 tchar bytes.
var tokenChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// Key is secret key material ([]byte). As text (YAML, flags) it accepts:
//
//	hex:00112233...      hex-encoded bytes
//	base64:ABEiM0RV...   standard base64
//	env:APITAP_HMAC_KEY  the value of an environment variable (raw bytes)
//	file:/run/secrets/k  the content of a file, trailing newlines removed
//	anything else        the string's bytes
//
// It never marshals back: MarshalText gives "<redacted>" so that dumping the
// effective configuration cannot leak it.
type Key []byte

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Key) UnmarshalText(b []byte) error {
	s := string(b)
	var (
		v   []byte
		err error
	)
	switch {
	case strings.HasPrefix(s, "hex:"):
		v, err = hex.DecodeString(s[len("hex:"):])
	case strings.HasPrefix(s, "base64:"):
		v, err = base64.StdEncoding.DecodeString(s[len("base64:"):])
	case strings.HasPrefix(s, "env:"):
		name := s[len("env:"):]
		e, ok := os.LookupEnv(name)
		if !ok {
			return fmt.Errorf("exchange: hmac key: environment variable %q is not set", name)
		}
		v = []byte(e)
	case strings.HasPrefix(s, "file:"):
		v, err = os.ReadFile(s[len("file:"):])
		v = bytes.TrimRight(v, "\r\n")
	default:
		v = []byte(s)
	}
	if err != nil {
		return fmt.Errorf("exchange: hmac key: %w", err)
	}
	*k = v
	return nil
}

// MarshalText implements encoding.TextMarshaler without revealing the key.
func (k Key) MarshalText() ([]byte, error) {
	if len(k) == 0 {
		return nil, nil
	}
	return []byte("<redacted>"), nil
}
