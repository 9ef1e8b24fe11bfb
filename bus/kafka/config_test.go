package kafka

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"gopkg.in/yaml.v3"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Topic != "apitap.exchanges" || c.BatchSize != 1000 || c.BatchBytes != 1<<20 ||
		c.BatchTimeout != 50*time.Millisecond || c.Compression != "zstd" || c.RequiredAcks != "all" ||
		c.QueueRecords != 100_000 || c.QueueBytes != 64<<20 {
		t.Fatalf("defaults changed: %+v", c)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "no brokers") {
		t.Fatalf("Validate without brokers: %v", err)
	}
	c.Brokers = []string{"kafka-1:9092", "[::1]:9093"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigYAML(t *testing.T) {
	src := `
brokers: [k1:9092, k2:9092]
topic: traffic.v1
batch_timeout: 20ms
compression: lz4
required_acks: one
queue_records: 5000
queue_bytes: 16777216
tls: {enable: true, ca_file: /etc/kafka/ca.pem, server_name: kafka.internal}
sasl: {mechanism: SCRAM-SHA-512, username: apitap, password_env: KAFKA_PASSWORD}
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.BatchTimeout != 20*time.Millisecond || c.BatchSize != 1000 || c.SASL.PasswordEnv != "KAFKA_PASSWORD" || !c.TLS.Enable {
		t.Fatalf("%+v", c)
	}
	dec = yaml.NewDecoder(strings.NewReader("sasl: {password: hunter2}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Fatal("a plain sasl password was accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"broker", func(c *Config) { c.Brokers = []string{"kafka"} }, "not host:port"},
		{"topic", func(c *Config) { c.Topic = "a b" }, "topic"},
		{"compression", func(c *Config) { c.Compression = "brotli" }, "compression"},
		{"acks", func(c *Config) { c.RequiredAcks = "2" }, "required_acks"},
		{"batch", func(c *Config) { c.BatchSize = 0 }, "batch_size"},
		{"batch_bytes", func(c *Config) { c.BatchBytes = 10 }, "batch_bytes"},
		{"timeout", func(c *Config) { c.BatchTimeout = 0 }, "batch_timeout"},
		{"queue", func(c *Config) { c.QueueRecords = 0 }, "queue_records"},
		{"queue_bytes", func(c *Config) { c.QueueBytes = 1 << 10 }, "queue_bytes"},
		{"attempts", func(c *Config) { c.MaxAttempts = 0 }, "max_attempts"},
		{"tls", func(c *Config) { c.TLS = TLSConfig{Enable: true, CertFile: "c.pem"} }, "key_file"},
		{"sasl-mech", func(c *Config) { c.SASL = SASLConfig{Mechanism: "GSSAPI", Username: "u", PasswordEnv: "X"} }, "mechanism"},
		{"sasl-user", func(c *Config) { c.SASL = SASLConfig{Mechanism: "PLAIN", PasswordEnv: "X"} }, "username"},
		{"sasl-pass", func(c *Config) { c.SASL = SASLConfig{Mechanism: "PLAIN", Username: "u"} }, "exactly one"},
		{"sasl-both", func(c *Config) {
			c.SASL = SASLConfig{Mechanism: "PLAIN", Username: "u", PasswordEnv: "X", PasswordFile: "f"}
		}, "exactly one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Brokers = []string{"k:9092"}
			tc.mod(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	c := DefaultConfig()
	c.Brokers, c.Compression, c.MaxAttempts = nil, "x", 0
	if err := c.Validate(); strings.Count(err.Error(), "\n") < 2 {
		t.Fatalf("want every problem at once: %v", err)
	}
}

func TestSASLPassword(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := SASLConfig{Mechanism: "PLAIN", Username: "u", PasswordFile: f}
	m, err := s.mechanism()
	if err != nil || m.Name() != "PLAIN" {
		t.Fatal(m, err)
	}
	if _, err := (&SASLConfig{Mechanism: "SCRAM-SHA-256", Username: "u", PasswordEnv: "APITAP_TEST_UNSET_PW"}).mechanism(); err == nil {
		t.Fatal("unset env accepted")
	}
	if _, err := (&SASLConfig{Mechanism: "PLAIN", Username: "u", PasswordFile: filepath.Join(dir, "nope")}).mechanism(); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := (&TLSConfig{Enable: true, CAFile: f}).tlsConfig(); err == nil {
		t.Fatal("a CA file without certificates accepted")
	}
}

// TLS with a private CA, and each SASL mechanism, against kfake.
func TestTLSAndSASL(t *testing.T) {
	caFile, serverTLS := testPKI(t)
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c := startCluster(t, kfake.NumBrokers(1), kfake.TLS(serverTLS), kfake.EnableSASL(),
				kfake.Superuser(mech, "apitap", "pa55word"))
			cfg := testConfig(c.ListenAddrs())
			cfg.TLS = TLSConfig{Enable: true, CAFile: caFile}
			cfg.SASL = SASLConfig{Mechanism: mech, Username: "apitap", PasswordEnv: "APITAP_TEST_KAFKA_PW"}
			t.Setenv("APITAP_TEST_KAFKA_PW", "pa55word")
			p := newTestPublisher(t, cfg, jsonSettings())
			consumeFast(t, p, testBatch(0, 100, 3, 100))
			closeOK(t, p)
			if st := p.Stats(); st.Written != 100 {
				t.Fatalf("%+v", st)
			}
		})
	}
	t.Run("wrong-password", func(t *testing.T) {
		c := startCluster(t, kfake.NumBrokers(1), kfake.TLS(serverTLS), kfake.EnableSASL(),
			kfake.Superuser("SCRAM-SHA-256", "apitap", "pa55word"))
		cfg := testConfig(c.ListenAddrs())
		cfg.TLS = TLSConfig{Enable: true, CAFile: caFile}
		cfg.SASL = SASLConfig{Mechanism: "SCRAM-SHA-256", Username: "apitap", PasswordEnv: "APITAP_TEST_KAFKA_PW"}
		t.Setenv("APITAP_TEST_KAFKA_PW", "wrong")
		p := newTestPublisher(t, cfg, jsonSettings())
		consumeFast(t, p, testBatch(0, 10, 3, 100))
		eventually(t, 5*time.Second, "a failed write", func() bool { return p.Stats().WriteErrors > 0 })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := p.Close(ctx); err == nil {
			t.Fatal("Close reported nothing")
		}
		if st := p.Stats(); st.Written != 0 {
			t.Fatalf("%+v", st)
		}
	})
}

// testPKI writes a CA certificate to a file and returns it with a server
// TLS config for 127.0.0.1 signed by it.
func testPKI(t *testing.T) (string, *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "apitap test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
}
