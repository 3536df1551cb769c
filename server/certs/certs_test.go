package certs

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	a, err := Ensure(dir, []string{"127.0.0.1", "monitor.example.net"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{caKeyFile, keyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
	// A handshake verifies against the CA, for every host named.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(a.CACertPEM) {
		t.Fatal("CA PEM does not parse")
	}
	leaf := a.Config.Certificates[0].Leaf
	for _, h := range []string{"127.0.0.1", "monitor.example.net"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, CurrentTime: now}); err != nil {
			t.Fatalf("verify for %s: %v", h, err)
		}
	}
	if len(a.Config.Certificates[0].Certificate) != 2 {
		t.Fatal("the chain does not carry the CA (agents check its fingerprint)")
	}
	// Restart: the same CA and certificate.
	b, err := Ensure(dir, []string{"127.0.0.1"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if b.CASHA256 != a.CASHA256 || !b.Config.Certificates[0].Leaf.Equal(leaf) {
		t.Fatal("a restart made new certificates")
	}
	// A new host name, or a certificate near its end: reissued by the same CA.
	c, err := Ensure(dir, []string{"10.0.0.5"}, now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.CASHA256 != a.CASHA256 || c.Config.Certificates[0].Leaf.Equal(leaf) {
		t.Fatal("a new host did not reissue the certificate under the same CA")
	}
	d, err := Ensure(dir, []string{"10.0.0.5"}, now.Add(certLifetime-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if d.Config.Certificates[0].Leaf.Equal(c.Config.Certificates[0].Leaf) {
		t.Fatal("a certificate about to expire was not renewed")
	}
	// A real TLS connection.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", a.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// Corrupt files are an error, not silently replaced.
	if err := os.WriteFile(filepath.Join(dir, caCertFile), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir, nil, now); err == nil {
		t.Fatal("a corrupt CA was accepted")
	}
}
