package anomaly

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config is the anomaly detection configuration (YAML key
// "analyzer.anomaly"; docs/anomaly.md). Every threshold is per window of
// capture time.
type Config struct {
	// Enabled turns detection on. Default true.
	Enabled bool `yaml:"enabled"`
	// TrustedProxies are the CIDRs of load balancers and proxies whose
	// X-Forwarded-For / Forwarded / X-Real-IP name the real client.
	// Default none: the network client is the packet's source address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// JWTSubjects is how a JWT caller's subject appears in findings,
	// alerts and the run's files: "fingerprint", its keyed fingerprint
	// under sensitive.fingerprint_key (`jwt:fp:<32 hex>@iss`), or "raw",
	// the subject itself (`jwt:sub@iss`). A subject is a user name, an
	// e-mail address or a user id: personal data, so raw is an opt-in.
	// Default "fingerprint".
	JWTSubjects string `yaml:"jwt_subjects"`
	// Window is the detection window (capture time). Default 5m.
	Window time.Duration `yaml:"window"`
	// EpisodeGap is how long an episode may be quiet before it ends; the
	// next activity opens a new episode. Default 15m.
	EpisodeGap time.Duration `yaml:"episode_gap"`
	// ReportEvery is how much capture time passes between two updates of
	// an open episode's finding. Default 1m.
	ReportEvery time.Duration `yaml:"report_every"`

	// BOLAMinIDs: distinct object ids one principal (or client) touches on
	// one endpoint template in a window. Default 50.
	BOLAMinIDs int `yaml:"bola_min_ids"`
	// BOLAMinDenied: share of those requests denied or missing (403/404),
	// or touching objects other principals own, that makes it enumeration
	// rather than a busy legitimate client. Default 0.3.
	BOLAMinDenied float64 `yaml:"bola_min_denied"`

	// LoginPaths are whole path segments that mark a login endpoint
	// (with POST). Default login, signin, sign-in, logon, authenticate,
	// token, session, sessions, oauth.
	LoginPaths []string `yaml:"login_paths"`
	// StuffingMinUsers: distinct user names one client tries on a login
	// endpoint in a window. Default 15.
	StuffingMinUsers int `yaml:"stuffing_min_users"`
	// BruteMinAttempts: failed attempts on one user name in a window (from
	// one client or, with BruteMinAttempts×3, from all). Default 15.
	BruteMinAttempts int `yaml:"brute_min_attempts"`
	// LoginMinFailure: share of failed (401/403) attempts. Default 0.6.
	LoginMinFailure float64 `yaml:"login_min_failure"`

	// RateFactor: a client's requests on an endpoint in a window above
	// this many times the endpoint's learned p99 of per-client windows.
	// Default 10.
	RateFactor float64 `yaml:"rate_factor"`
	// RateMinRequests: and at least this many. Default 300.
	RateMinRequests int `yaml:"rate_min_requests"`

	// InjectionMin: requests with an injection payload from one client on
	// one endpoint in a window. Default 2.
	InjectionMin int `yaml:"injection_min"`

	// UnauthMinHistory: requests an endpoint needs before its auth share
	// counts; UnauthMinShare: the share that carried credentials. Defaults
	// 20 and 0.95.
	UnauthMinHistory int     `yaml:"unauth_min_history"`
	UnauthMinShare   float64 `yaml:"unauth_min_share"`
	// UnauthMinEvents: unauthenticated 2xx answers one client needs in an
	// episode before it is reported. Default 10 (an anonymous visitor of
	// a mostly authenticated public page makes a few; an attacker using
	// a broken access control makes many).
	UnauthMinEvents int `yaml:"unauth_min_events"`
	// UnauthPublicClients: an endpoint that answered the unauthenticated
	// requests of this many distinct clients with 2xx is public, and gets
	// no unauthenticated_access findings. Default 3 (2..1000).
	UnauthPublicClients int `yaml:"unauth_public_clients"`

	// ExfilFactor and ExfilMinBytes: response bytes one client pulls from
	// an endpoint in a window above this many times the endpoint's p99 of
	// per-client windows, and at least this many bytes. Defaults 10 and
	// 10 MiB. ExfilMinRecords: sensitive values sent to one client in a
	// window (from the sensitive-data scan). Default 10000.
	ExfilFactor     float64 `yaml:"exfil_factor"`
	ExfilMinBytes   int64   `yaml:"exfil_min_bytes"`
	ExfilMinRecords int     `yaml:"exfil_min_records"`

	// ReconMinPaths: distinct paths answered 404/405 to one client in a
	// window. Default 30.
	ReconMinPaths int `yaml:"recon_min_paths"`

	// AdminPaths are whole path segments of privileged functions. Default
	// admin, internal, manage, management, debug, actuator, sudo,
	// superuser, root, console. PrivMinDenied: denied (401/403) calls of a
	// principal to them in a window. Default 2.
	AdminPaths    []string `yaml:"admin_paths"`
	PrivMinDenied int      `yaml:"priv_min_denied"`

	// BurstFactor and BurstMin: 401/403 (auth_failure_burst) or 5xx
	// (error_burst) answers of an endpoint in one minute above this many
	// times its moving average, and at least BurstMin (401/403) or
	// ErrorBurstMin (5xx). Defaults 5, 20 and 10: clients retrying with
	// an expired token make 401s a normal sight, 5xx are not.
	BurstFactor   float64 `yaml:"burst_factor"`
	BurstMin      int     `yaml:"burst_min"`
	ErrorBurstMin int     `yaml:"error_burst_min"`

	// MaxClients, MaxEndpoints, MaxEpisodes bound the state: beyond them,
	// new keys are not tracked (counted as overflow); idle state ages out
	// after two windows. Defaults 200000, 50000, 10000.
	MaxClients   int `yaml:"max_clients"`
	MaxEndpoints int `yaml:"max_endpoints"`
	MaxEpisodes  int `yaml:"max_episodes"`
	// MaxDistinct bounds each distinct-value set (ids, user names, paths).
	// Default 4096.
	MaxDistinct int `yaml:"max_distinct"`
}

// The values of Config.JWTSubjects.
const (
	SubjectFingerprint = "fingerprint"
	SubjectRaw         = "raw"
)

// DefaultConfig returns the defaults stated on Config.
func DefaultConfig() Config {
	return Config{Enabled: true, JWTSubjects: SubjectFingerprint, Window: 5 * time.Minute, EpisodeGap: 15 * time.Minute, ReportEvery: time.Minute,
		BOLAMinIDs: 50, BOLAMinDenied: 0.3,
		LoginPaths:       []string{"login", "signin", "sign-in", "logon", "authenticate", "token", "session", "sessions", "oauth"},
		StuffingMinUsers: 15, BruteMinAttempts: 15, LoginMinFailure: 0.6,
		RateFactor: 10, RateMinRequests: 300, InjectionMin: 2, UnauthMinHistory: 20, UnauthMinShare: 0.95, UnauthMinEvents: 10, UnauthPublicClients: 3,
		ExfilFactor: 10, ExfilMinBytes: 10 << 20, ExfilMinRecords: 10000, ReconMinPaths: 30,
		AdminPaths:    []string{"admin", "internal", "manage", "management", "debug", "actuator", "sudo", "superuser", "root", "console"},
		PrivMinDenied: 2, BurstFactor: 5, BurstMin: 20, ErrorBurstMin: 10,
		MaxClients: 200000, MaxEndpoints: 50000, MaxEpisodes: 10000, MaxDistinct: 4096}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if _, err := parsePrefixes(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	for name, d := range map[string]time.Duration{"window": c.Window, "episode_gap": c.EpisodeGap} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("anomaly.%s must be > 0", name))
		}
	}
	if c.ReportEvery < 0 {
		errs = append(errs, errors.New("anomaly.report_every must be >= 0"))
	}
	for name, v := range map[string]int{"bola_min_ids": c.BOLAMinIDs, "stuffing_min_users": c.StuffingMinUsers,
		"brute_min_attempts": c.BruteMinAttempts, "rate_min_requests": c.RateMinRequests, "injection_min": c.InjectionMin,
		"unauth_min_history": c.UnauthMinHistory, "unauth_min_events": c.UnauthMinEvents, "exfil_min_records": c.ExfilMinRecords, "recon_min_paths": c.ReconMinPaths,
		"priv_min_denied": c.PrivMinDenied, "burst_min": c.BurstMin, "error_burst_min": c.ErrorBurstMin, "max_clients": c.MaxClients,
		"max_endpoints": c.MaxEndpoints, "max_episodes": c.MaxEpisodes, "max_distinct": c.MaxDistinct} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("anomaly.%s must be >= 1", name))
		}
	}
	for name, v := range map[string]float64{"bola_min_denied": c.BOLAMinDenied, "login_min_failure": c.LoginMinFailure,
		"unauth_min_share": c.UnauthMinShare} {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("anomaly.%s must be in [0, 1]", name))
		}
	}
	for name, v := range map[string]float64{"rate_factor": c.RateFactor, "exfil_factor": c.ExfilFactor, "burst_factor": c.BurstFactor} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("anomaly.%s must be >= 1", name))
		}
	}
	if c.UnauthPublicClients < 2 || c.UnauthPublicClients > 1000 {
		errs = append(errs, errors.New("anomaly.unauth_public_clients must be in [2, 1000]"))
	}
	if c.JWTSubjects != SubjectFingerprint && c.JWTSubjects != SubjectRaw {
		errs = append(errs, fmt.Errorf("anomaly.jwt_subjects: %q is neither %q nor %q", c.JWTSubjects, SubjectFingerprint, SubjectRaw))
	}
	if c.ExfilMinBytes < 1 {
		errs = append(errs, errors.New("anomaly.exfil_min_bytes must be >= 1"))
	}
	return errors.Join(errs...)
}

func parsePrefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("anomaly.trusted_proxies: %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("anomaly.trusted_proxies: %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
