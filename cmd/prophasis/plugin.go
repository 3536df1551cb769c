package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/pkg"
)

// pluginUsage lists the plugin subcommands.
const pluginUsage = `usage: prophasis plugin COMMAND ...

  new NAME [--kind exec|nagios|munin] [--dir D]   a new plugin directory to start from
  lint DIR|FILE                                  check a plugin (exit 1 on any error)
  test DIR|FILE [--history FIXTURE.json]         replay the classifier over recorded results
  pack DIR [-o FILE]                             build the package .tar.gz
  keygen --out PREFIX                            a signing key pair: PREFIX.key, PREFIX.pub
  sign FILE --key KEYFILE                        sign a package: FILE.sig
  push FILE [--signature FILE.sig]               upload a package to the server

docs/plugins.md explains them with a worked example`

// runPlugin is `prophasis plugin ...`.
func runPlugin(ctx context.Context, args []string) error {
	return pluginCmd(ctx, args, os.Stdout)
}

func pluginCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(pluginUsage)
	}
	sub := map[string]func(context.Context, []string, io.Writer) error{
		"new": pluginNew, "lint": pluginLint, "test": pluginTest, "pack": pluginPack,
		"keygen": pluginKeygen, "sign": pluginSign, "push": pluginPush,
	}[args[0]]
	if sub == nil {
		return fmt.Errorf("unknown plugin command %q\n\n%s", args[0], pluginUsage)
	}
	return sub(ctx, args[1:], stdout)
}

// parseArgs parses fs's flags wherever they are among args (so
// `plugin test DIR --history F` works) and returns the positional
// arguments, of which there must be want.
func parseArgs(fs *flag.FlagSet, args []string, want int, what string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != want {
		return nil, fmt.Errorf("usage: prophasis plugin %s %s", fs.Name(), what)
	}
	return pos, nil
}

// loadPackage reads a plugin directory (packed in memory, exactly as pack
// would) or a package file.
func loadPackage(path string) (*pkg.Package, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return pkg.ReadDir(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return pkg.Read(f)
}

func pluginNew(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("new", flag.ContinueOnError)
	kind := fs.String("kind", "exec", "the kind of plugin: "+strings.Join(pkg.SkeletonKinds, ", "))
	dir := fs.String("dir", "", "the directory to create (default: ./NAME)")
	pos, err := parseArgs(fs, args, 1, "NAME [--kind exec|nagios|munin] [--dir D]")
	if err != nil {
		return err
	}
	name := pos[0]
	if !slices.Contains(pkg.SkeletonKinds, *kind) {
		return fmt.Errorf("--kind %q: want one of %s (builtin plugins are collectors inside the agent)", *kind, strings.Join(pkg.SkeletonKinds, ", "))
	}
	if *dir == "" {
		*dir = name
	}
	files, err := pkg.Skeleton(*dir, name, *kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s plugin %s in %s:\n", *kind, name, *dir)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %s\n", filepath.Join(*dir, f))
	}
	fmt.Fprintf(stdout, "\nnext:\n  prophasis plugin lint %s\n  prophasis plugin test %s --history %s\n  prophasis plugin pack %s\n",
		*dir, *dir, filepath.Join(*dir, "tests", "history.json"), *dir)
	return nil
}

// printFindings prints findings and a count; it returns an error when any
// is an error.
func printFindings(w io.Writer, findings []pkg.Finding) error {
	errs := 0
	for _, f := range findings {
		fmt.Fprintln(w, f)
		if f.Severity == pkg.SeverityError {
			errs++
		}
	}
	fmt.Fprintf(w, "%d errors, %d warnings\n", errs, len(findings)-errs)
	if errs > 0 {
		return fmt.Errorf("%d lint errors", errs)
	}
	return nil
}

func pluginLint(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 1, "DIR|FILE")
	if err != nil {
		return err
	}
	p, err := loadPackage(pos[0])
	if err != nil {
		if errors.Is(err, pkg.ErrInvalid) {
			return printFindings(stdout, pkg.Findings(err))
		}
		return err
	}
	fmt.Fprintf(stdout, "%s %s (%s, %d files)\n", p.Manifest.Name, p.Manifest.Version, p.Manifest.Kind, len(p.Files))
	return printFindings(stdout, pkg.Lint(p))
}

func pluginPack(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	out := fs.String("o", "", "the package file to write (default: NAME-VERSION.tar.gz in the current directory)")
	pos, err := parseArgs(fs, args, 1, "DIR [-o FILE]")
	if err != nil {
		return err
	}
	dir := pos[0]
	p, err := pkg.ReadDir(dir)
	if err != nil {
		if errors.Is(err, pkg.ErrInvalid) {
			printFindings(stdout, pkg.Findings(err))
			return errors.New("not packed: fix the errors above")
		}
		return err
	}
	if findings := pkg.Lint(p); pkg.HasErrors(findings) {
		printFindings(stdout, findings)
		return errors.New("not packed: fix the lint errors above")
	}
	var buf bytes.Buffer
	if err := pkg.Pack(dir, &buf); err != nil {
		return err
	}
	if *out == "" {
		*out = p.Manifest.Name + "-" + p.Manifest.Version + ".tar.gz"
	}
	if err := writeFileAtomic(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes): %s %s\nsha256 %s\n", *out, buf.Len(), p.Manifest.Name, p.Manifest.Version, archive.SHA256(buf.Bytes()))
	return nil
}

// writeFileAtomic writes b to name through a temporary file in the same
// directory, so name is whole or untouched.
func writeFileAtomic(name string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func pluginTest(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	history := fs.String("history", "", "a fixture: a JSON array of {timestamp, value, message, exit_code, expect}, oldest first (default: every tests/*.json of the plugin)")
	pos, err := parseArgs(fs, args, 1, "DIR|FILE [--history FIXTURE.json]")
	if err != nil {
		return err
	}
	p, err := loadPackage(pos[0])
	if err != nil {
		return err
	}
	fixtures := map[string][]byte{}
	if *history != "" {
		b, err := readLimited(*history)
		if err != nil {
			return err
		}
		fixtures[*history] = b
	} else {
		fixtures = p.Fixtures
	}
	if len(fixtures) == 0 {
		return fmt.Errorf("%s has no tests/*.json: give --history FIXTURE.json", pos[0])
	}
	names := make([]string, 0, len(fixtures))
	for n := range fixtures {
		names = append(names, n)
	}
	slices.Sort(names)
	failed, total := 0, 0
	for _, name := range names {
		fx, err := pkg.ParseFixture(fixtures[name])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		steps, err := pkg.RunFixture(p, fx)
		if err != nil && !errors.Is(err, pkg.ErrFixtureAborted) {
			return err
		}
		aborted := err
		fmt.Fprintf(stdout, "%s: %s %s, history %d\n", name, p.Manifest.Name, p.Manifest.Version, p.Manifest.HistoryN())
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tVALUE\tMESSAGE\tSTATE\tEXPECT\tOK")
		for _, s := range steps {
			total++
			ok := "ok"
			if !s.OK {
				ok, failed = "FAIL", failed+1
			}
			state := s.State
			if state == "" {
				state = "(older: not judged)"
			}
			if s.Error != "" {
				state += " (" + s.Error + ")"
			}
			expect := s.Expect
			if expect == "" {
				expect, ok = "-", "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", time.UnixMilli(s.Time).UTC().Format(time.RFC3339), formatValue(s.Value),
				orDash(oneLine(s.Message, 60)), state, expect, ok)
		}
		tw.Flush()
		if aborted != nil {
			return fmt.Errorf("%s: %w", name, aborted)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d results did not get the state expected", failed, total)
	}
	fmt.Fprintf(stdout, "all %d results as expected\n", total)
	return nil
}

func formatValue(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
