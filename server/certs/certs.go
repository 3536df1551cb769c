// Package certs gives the server its TLS certificate when it should make
// its own (`prophasis serve --tls-auto`): a CA and a server certificate
// signed by it, generated once into the data directory and reused. Agents
// pin the CA at enrolment; `prophasis token create` prints its fingerprint,
// which the agent checks before trusting the server the first time.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files in the TLS directory.
const (
	caCertFile   = "ca.crt"
	caKeyFile    = "ca.key"
	certFile     = "server.crt"
	keyFile      = "server.key"
	caLifetime   = 10 * 365 * 24 * time.Hour
	certLifetime = 2 * 365 * 24 * time.Hour
)

// Auto is the generated TLS material.
type Auto struct {
	// Config serves the server certificate with the CA in its chain, so an
	// enrolling agent can check the CA's fingerprint.
	Config *tls.Config
	// CACertPEM is handed to agents at enrolment for pinning.
	CACertPEM []byte
	// CASHA256 is the hex SHA-256 of the CA certificate's DER.
	CASHA256 string
}

// Ensure loads the CA and server certificate from dir, creating what is
// missing; the server certificate is renewed when it expires within 30
// days or lacks one of hosts (DNS names or IP addresses). Keys are written
// with mode 0600.
func Ensure(dir string, hosts []string, now time.Time) (*Auto, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls dir: %w", err)
	}
	caCert, caKey, err := loadPair(filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile))
	if errors.Is(err, os.ErrNotExist) {
		caCert, caKey, err = newCA(dir, now)
	}
	if err != nil {
		return nil, fmt.Errorf("tls ca: %w", err)
	}
	leaf, leafKey, err := loadPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	if err != nil || leaf.NotAfter.Before(now.Add(30*24*time.Hour)) || !covers(leaf, hosts) || leaf.CheckSignatureFrom(caCert) != nil {
		if leaf, leafKey, err = newLeaf(dir, caCert, caKey, hosts, now); err != nil {
			return nil, fmt.Errorf("tls certificate: %w", err)
		}
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	sum := sha256.Sum256(caCert.Raw)
	return &Auto{
		Config: &tls.Config{
			MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{{
				Certificate: [][]byte{leaf.Raw, caCert.Raw},
				PrivateKey:  leafKey,
				Leaf:        leaf,
			}},
		},
		CACertPEM: caPEM,
		CASHA256:  hex.EncodeToString(sum[:]),
	}, nil
}

func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, func(x net.IP) bool { return x.Equal(ip) }) {
				return false
			}
		} else if !slices.Contains(c.DNSNames, h) {
			return false
		}
	}
	return true
}

func newCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Prophasis CA", Organization: []string{"Prophasis"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return writePair(dir, caCertFile, caKeyFile, tmpl, tmpl, key, key)
}

func newLeaf(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "prophasis", Organization: []string{"Prophasis"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return writePair(dir, certFile, keyFile, tmpl, ca, key, caKey)
}

func writePair(dir, certName, keyName string, tmpl, parent *x509.Certificate, key, signer *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cblock, _ := pem.Decode(cb)
	kblock, _ := pem.Decode(kb)
	if cblock == nil || kblock == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
