package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// runApply is `prophasis apply -f FILE [--dry-run]`: it sends a
// configuration document to the running server's management API and prints
// the diff.
func runApply(ctx context.Context, args []string) error {
	return applyCmd(ctx, args, os.Stdin, os.Stdout)
}

// runExport is `prophasis export`: it prints the running server's
// configuration as a document for apply.
func runExport(ctx context.Context, args []string) error {
	return exportCmd(ctx, args, os.Stdout)
}

// maxDocument bounds what apply reads and sends (the server's limit).
const maxDocument = 8 << 20

func applyCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	file := fs.String("f", "", "configuration file to apply (YAML, or JSON if it ends in .json); - reads standard input")
	dryRun := fs.Bool("dry-run", false, "print what would change, change nothing")
	var c client
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the file goes after -f)", fs.Arg(0))
	}
	if *file == "" {
		return errors.New("-f FILE is required (- reads standard input)")
	}
	var in io.Reader = stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	doc, err := io.ReadAll(io.LimitReader(in, maxDocument+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", *file, err)
	}
	if len(doc) > maxDocument {
		return fmt.Errorf("%s is larger than %d bytes", *file, maxDocument)
	}
	contentType := "application/yaml"
	if strings.HasSuffix(strings.ToLower(*file), ".json") {
		contentType = "application/json"
	}
	path := "/apply"
	if *dryRun {
		path += "?dry_run=true"
	}
	env, _, err := c.do(ctx, http.MethodPost, path, contentType, "", bytes.NewReader(doc))
	if err != nil {
		return err
	}
	var res struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(env.Data, &res); err != nil {
		return fmt.Errorf("unexpected answer from the server: %w", err)
	}
	_, err = io.WriteString(stdout, res.Text)
	return err
}

func exportCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "write JSON instead of YAML")
	out := fs.String("o", "", "write to this file instead of standard output")
	var c client
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var doc []byte
	if *asJSON {
		env, _, err := c.do(ctx, http.MethodGet, "/export?format=json", "", "application/json", nil)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := json.Indent(&b, env.Data, "", "  "); err != nil {
			return fmt.Errorf("unexpected answer from the server: %w", err)
		}
		b.WriteByte('\n')
		doc = b.Bytes()
	} else {
		_, raw, err := c.do(ctx, http.MethodGet, "/export?format=yaml", "", "application/yaml", nil)
		if err != nil {
			return err
		}
		doc = raw
	}
	if *out == "" {
		_, err := stdout.Write(doc)
		return err
	}
	return os.WriteFile(*out, doc, 0o644)
}
