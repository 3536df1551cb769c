package sign

import (
	"errors"
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub2, priv2, _ := GenerateKey()
	if !strings.HasPrefix(pub, PublicPrefix) || !strings.HasPrefix(priv, PrivatePrefix) {
		t.Fatalf("key forms: %q %q", pub, priv)
	}
	if p, err := PublicKey(priv); err != nil || p != pub {
		t.Fatalf("PublicKey(priv) = %q, %v; want %q", p, err, pub)
	}
	id, _ := KeyID(pub)
	pkg := []byte("a package's bytes")
	sig, err := Sign(priv, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sig, id+":") {
		t.Fatalf("signature %q does not start with the key id %s", sig, id)
	}
	got, err := Verify(pkg, sig+"\n", []string{pub2, pub})
	if err != nil || got != id {
		t.Fatalf("Verify = %q, %v; want %s", got, err, id)
	}
	// Tampered package.
	if _, err := Verify([]byte("a package's bytez"), sig, []string{pub}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered package: %v, want ErrBadSignature", err)
	}
	// Signed by a key not trusted.
	if _, err := Verify(pkg, sig, []string{pub2}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("untrusted key: %v, want ErrUntrusted", err)
	}
	if _, err := Verify(pkg, sig, nil); !errors.Is(err, ErrUntrusted) {
		t.Errorf("no trusted keys: %v, want ErrUntrusted", err)
	}
	// A signature by another key claiming this key's id.
	sig2, _ := Sign(priv2, pkg)
	forged := id + sig2[strings.IndexByte(sig2, ':'):]
	if _, err := Verify(pkg, forged, []string{pub}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged key id: %v, want ErrBadSignature", err)
	}
	// Wrong key files.
	if _, err := Sign(pub, pkg); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "this is a public key") {
		t.Errorf("signing with a public key: %v", err)
	}
	if _, err := Verify(pkg, sig, []string{priv}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "trusted key 1") {
		t.Errorf("a private key as trusted: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	pub, priv, _ := GenerateKey()
	sig, _ := Sign(priv, []byte("x"))
	id, b64, _ := strings.Cut(sig, ":")
	for _, bad := range []string{"", "nocolon", id, id + ":", id + ":!!!", "ABCDEF0123456789:" + b64,
		id[:15] + ":" + b64, id + ":" + b64[:20], id + ":" + b64 + "AAAA"} {
		if _, err := Verify([]byte("x"), bad, []string{pub}); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, want ErrMalformed", bad, err)
		}
	}
	for _, bad := range []string{"", "prophasis-ed25519-private:AAAA", priv[:len(priv)-4] + "AAAA"} {
		if _, err := Sign(bad, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("Sign with %q = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParsePublicKeys(t *testing.T) {
	a, _, _ := GenerateKey()
	b, _, _ := GenerateKey()
	keys, err := ParsePublicKeys("# team keys\n\n" + a + "  # alice\n" + b + "\n" + a + "\n")
	if err != nil || len(keys) != 2 || keys[0] != a || keys[1] != b {
		t.Fatalf("ParsePublicKeys = %q, %v", keys, err)
	}
	_, err = ParsePublicKeys(a + "\nprophasis-ed25519:short\n")
	if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Fatalf("malformed line: %v", err)
	}
	if keys, err := ParsePublicKeys(""); err != nil || len(keys) != 0 {
		t.Fatalf("empty: %q, %v", keys, err)
	}
}

// FuzzVerify feeds Verify arbitrary signature and key texts: it must not
// panic, and must never accept a signature that was not made by the key.
func FuzzVerify(f *testing.F) {
	pub, priv, _ := GenerateKey()
	sig, _ := Sign(priv, []byte("pkg"))
	f.Add(sig, pub)
	f.Add("0123456789abcdef:AAAA", pub)
	f.Add(sig, "prophasis-ed25519:"+strings.Repeat("A", 44))
	f.Add("", "")
	f.Add(":::", "# x\n"+pub)
	f.Fuzz(func(t *testing.T, sig, keys string) {
		trusted, err := ParsePublicKeys(keys)
		if err != nil {
			return
		}
		if _, err := Verify([]byte("another package"), sig, trusted); err == nil {
			t.Fatalf("Verify accepted %q with keys %q for bytes nobody signed", sig, keys)
		}
		Verify([]byte("pkg"), sig, trusted)
	})
}
