package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/pkg"
	"github.com/prophasis/prophasis/plugins/sign"
)

func pluginKeygen(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	out := fs.String("out", "", "write the private key to PREFIX.key (mode 0600) and the public key to PREFIX.pub")
	if _, err := parseArgs(fs, args, 0, "--out PREFIX"); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out PREFIX is required")
	}
	pub, priv, err := sign.GenerateKey()
	if err != nil {
		return err
	}
	id, err := sign.KeyID(pub)
	if err != nil {
		return err
	}
	keyFile, pubFile := *out+".key", *out+".pub"
	// O_EXCL: never overwrite a key, which would orphan every signature made with it.
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s\n", priv)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.WriteFile(pubFile, []byte(fmt.Sprintf("%s # key id %s\n", pub, id)), 0o644)
	}
	if err != nil {
		os.Remove(keyFile)
		return fmt.Errorf("write keys: %w", err)
	}
	fmt.Fprintf(stdout, "key id %s\nprivate key %s (keep it secret)\npublic key  %s (give it to the server and agents to trust)\n", id, keyFile, pubFile)
	return nil
}

func pluginSign(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	keyFile := fs.String("key", "", "the private key file (from plugin keygen)")
	pos, err := parseArgs(fs, args, 1, "FILE --key KEYFILE")
	if err != nil {
		return err
	}
	if *keyFile == "" {
		return errors.New("--key KEYFILE is required")
	}
	key, err := readLimited(*keyFile)
	if err != nil {
		return err
	}
	body, err := readPackageFile(pos[0])
	if err != nil {
		return err
	}
	sig, err := sign.Sign(string(key), body)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyFile, err)
	}
	out := pos[0] + ".sig"
	if err := writeFileAtomic(out, []byte(sig+"\n"), 0o644); err != nil {
		return err
	}
	id, _, _ := strings.Cut(sig, ":")
	fmt.Fprintf(stdout, "wrote %s (key id %s, sha256 %s)\n", out, id, archive.SHA256(body))
	return nil
}

// readPackageFile reads a package file and checks it is a valid package,
// so nobody signs or uploads something the server would refuse.
func readPackageFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, archive.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(body) > archive.MaxBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, archive.MaxBytes)
	}
	if _, err := pkg.Read(strings.NewReader(string(body))); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return body, nil
}
