// Package sign is the optional signing of plugin packages: ed25519
// detached signatures over a package's bytes (the .tar.gz exactly as
// uploaded), made by `prophasis plugin sign` and checked by the server and
// agents against a list of trusted public keys.
//
// Text forms, all single lines:
//
//	public key   prophasis-ed25519:<base64 of the 32-byte key>
//	private key  prophasis-ed25519-private:<base64 of the 64-byte key>
//	signature    <key id>:<base64 of the 64-byte signature>
//
// A key id is the first 16 hex digits of the SHA-256 of the public key's
// 32 bytes; it names the key a signature claims, so a verifier with many
// trusted keys tries one. It imports the standard library only, so the
// agent may import it.
package sign

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Prefixes of the keys' text forms.
const (
	PublicPrefix  = "prophasis-ed25519:"
	PrivatePrefix = "prophasis-ed25519-private:"
)

// Errors Verify wraps; test with errors.Is.
var (
	// ErrMalformed: the signature or a key is not in its text form.
	ErrMalformed = errors.New("malformed")
	// ErrUntrusted: the signature names a key that is not trusted.
	ErrUntrusted = errors.New("signed by a key that is not trusted")
	// ErrBadSignature: the trusted key did not make this signature over
	// these bytes (a tampered package, or a signature of another one).
	ErrBadSignature = errors.New("signature does not match the package")
)

// maxText bounds the text Verify and ParsePublicKeys read.
const maxText = 1 << 20

// GenerateKey makes a new key pair and returns their text forms.
func GenerateKey() (pub, priv string, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	return PublicPrefix + base64.StdEncoding.EncodeToString(pk),
		PrivatePrefix + base64.StdEncoding.EncodeToString(sk), nil
}

// KeyID returns the id of a public key in text form.
func KeyID(pub string) (string, error) {
	pk, err := parsePublic(pub)
	if err != nil {
		return "", err
	}
	return idOf(pk), nil
}

func idOf(pk ed25519.PublicKey) string {
	sum := sha256.Sum256(pk)
	return hex.EncodeToString(sum[:8])
}

// PublicKey returns the public key, in text form, of a private key.
func PublicKey(priv string) (string, error) {
	sk, err := parsePrivate(priv)
	if err != nil {
		return "", err
	}
	return PublicPrefix + base64.StdEncoding.EncodeToString(sk.Public().(ed25519.PublicKey)), nil
}

// Sign signs pkg with the private key priv (text form) and returns the
// signature's text form, "keyid:base64".
func Sign(priv string, pkg []byte) (string, error) {
	sk, err := parsePrivate(priv)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(sk, pkg)
	return idOf(sk.Public().(ed25519.PublicKey)) + ":" + base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks that sig (text form; surrounding white space is ignored)
// is a signature of pkg by one of the trusted public keys (text forms) and
// returns that key's id. Errors wrap ErrMalformed, ErrUntrusted or
// ErrBadSignature.
func Verify(pkg []byte, sig string, trusted []string) (keyID string, err error) {
	id, raw, err := parseSignature(sig)
	if err != nil {
		return "", err
	}
	for i, t := range trusted {
		pk, err := parsePublic(t)
		if err != nil {
			return "", fmt.Errorf("trusted key %d: %w", i+1, err)
		}
		if idOf(pk) != id {
			continue
		}
		if !ed25519.Verify(pk, pkg, raw) {
			return id, fmt.Errorf("key %s: %w", id, ErrBadSignature)
		}
		return id, nil
	}
	return id, fmt.Errorf("key %s: %w", id, ErrUntrusted)
}

// parseSignature splits a signature's text form.
func parseSignature(sig string) (id string, raw []byte, err error) {
	sig = strings.TrimSpace(sig)
	if len(sig) > maxText {
		return "", nil, fmt.Errorf("signature: %w: too long", ErrMalformed)
	}
	id, b64, ok := strings.Cut(sig, ":")
	if !ok || !isKeyID(id) {
		return "", nil, fmt.Errorf("signature: %w: want KEYID:BASE64 with a 16-hex-digit key id", ErrMalformed)
	}
	raw, err = base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return "", nil, fmt.Errorf("signature: %w: want %d bytes in base64 after the key id", ErrMalformed, ed25519.SignatureSize)
	}
	return id, raw, nil
}

func isKeyID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func parsePublic(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), PublicPrefix)
	if !ok {
		if strings.HasPrefix(strings.TrimSpace(s), PrivatePrefix) {
			return nil, fmt.Errorf("public key: %w: this is a private key", ErrMalformed)
		}
		return nil, fmt.Errorf("public key: %w: must start with %q", ErrMalformed, PublicPrefix)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %w: want %d bytes in base64 after %q", ErrMalformed, ed25519.PublicKeySize, PublicPrefix)
	}
	return ed25519.PublicKey(raw), nil
}

func parsePrivate(s string) (ed25519.PrivateKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), PrivatePrefix)
	if !ok {
		if strings.HasPrefix(strings.TrimSpace(s), PublicPrefix) {
			return nil, fmt.Errorf("private key: %w: this is a public key (sign with the .key file)", ErrMalformed)
		}
		return nil, fmt.Errorf("private key: %w: must start with %q", ErrMalformed, PrivatePrefix)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("private key: %w: want %d bytes in base64 after %q", ErrMalformed, ed25519.PrivateKeySize, PrivatePrefix)
	}
	sk := ed25519.PrivateKey(raw)
	// The second half is the public key; a key whose halves disagree would
	// make signatures that never verify.
	if !sk.Public().(ed25519.PublicKey).Equal(ed25519.NewKeyFromSeed(sk.Seed()).Public()) {
		return nil, fmt.Errorf("private key: %w: its public half does not match its seed", ErrMalformed)
	}
	return sk, nil
}

// ParsePublicKeys reads trusted public keys, one per line; blank lines and
// everything after a '#' are ignored. It returns them in text form, in
// order, without duplicates; a malformed line is an error naming it.
func ParsePublicKeys(text string) ([]string, error) {
	if len(text) > maxText {
		return nil, fmt.Errorf("public keys: %w: more than %d bytes", ErrMalformed, maxText)
	}
	var keys []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), maxText)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		pk, err := parsePublic(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		k := PublicPrefix + base64.StdEncoding.EncodeToString(pk)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("public keys: %w", err)
	}
	return keys, nil
}
