// Package pkg reads, checks and writes plugin packages: Read takes a
// package .tar.gz apart (with package archive's safety rules for every
// entry and a validated manifest), Pack builds one from a plugin directory
// deterministically, Lint judges a package with every rule, and RunFixture
// replays a classifier over recorded results as the rules engine would.
//
// The operator CLI (`prophasis plugin ...`) and the server's registry use
// it. It compiles classifiers and trend rules, so it imports rules/classify
// and rules/trend: the agent must not import it (it has plugins/archive,
// plugins/manifest and plugins/sign).
package pkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/manifest"
	"github.com/prophasis/prophasis/rules/classify"
)

// readFile returns the regular file name of the archive body: at most
// limit bytes (more is an error), or with a negative limit its first
// -limit bytes.
func readFile(body []byte, name string, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if h.Typeflag != tar.TypeReg || path.Clean(h.Name) != name {
			continue
		}
		head := limit < 0
		if head {
			limit = -limit
		}
		b, err := io.ReadAll(io.LimitReader(tr, limit+1))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if int64(len(b)) > limit {
			if !head {
				return nil, fmt.Errorf("more than %d bytes", limit)
			}
			b = b[:limit]
		}
		return b, nil
	}
}

// Names of the files a package may hold besides the entrypoint.
const (
	ReadmeFile  = "README.md"
	TestsDir    = "tests"
	maxReadme   = 1 << 20
	maxFixture  = 1 << 20
	maxFixtures = 64
	maxHead     = 512
)

// ErrInvalid marks a package that breaks a rule (its archive, its manifest
// or the files the manifest names); test with errors.Is. Archive problems
// also wrap archive.ErrInvalid.
var ErrInvalid = errors.New("invalid plugin package")

// Package is a plugin package, read and checked.
type Package struct {
	// Manifest is the package's manifest.json, valid.
	Manifest manifest.Manifest
	// Classifier is the Lua source the manifest names; "" when it names
	// none (the default for the kind applies).
	Classifier string
	// Readme is README.md, "" when absent.
	Readme string
	// Files are the regular files' paths, sorted.
	Files []string
	// Fixtures are the tests/*.json files, by path.
	Fixtures map[string][]byte
	// SHA256 is the lowercase hex SHA-256 of the .tar.gz: the name the
	// server and agents know it by.
	SHA256 string
	// Size is the .tar.gz's size in bytes.
	Size int64

	// modes holds each regular file's permission bits, entryHead the first
	// bytes of the entrypoint when it is in the package.
	modes     map[string]int64
	entryHead []byte
}

// Read reads a package .tar.gz (at most archive.MaxBytes) and checks it:
// every entry by package archive's rules (paths, links, devices,
// duplicates, unpacked size), manifest.json at the root parsed and
// validated, the classifier it names present, and an entrypoint inside the
// package present and, for exec, nagios and munin plugins, executable.
// Errors wrap ErrInvalid and name the file or field; a manifest's problems
// are joined, one per line.
func Read(r io.Reader) (*Package, error) {
	body, err := io.ReadAll(io.LimitReader(r, archive.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read package: %w", err)
	}
	if len(body) > archive.MaxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes (compressed)", ErrInvalid, archive.MaxBytes)
	}
	// The archive's rules first; manifest.json as the "entrypoint" makes
	// Validate insist it is a regular file at the root.
	if _, err := archive.Validate(bytes.NewReader(body), manifest.FileName); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	p := &Package{SHA256: archive.SHA256(body), Size: int64(len(body)), Fixtures: map[string][]byte{}, modes: map[string]int64{}}
	files, links, err := p.collect(body)
	if err != nil {
		return nil, err
	}
	m, err := manifest.Parse(files[manifest.FileName])
	if err == nil {
		err = m.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, manifest.FileName, err)
	}
	p.Manifest = m
	if m.Classifier != "" {
		c := path.Clean(strings.TrimPrefix(m.Classifier, "./"))
		if _, ok := p.modes[c]; !ok {
			return nil, fmt.Errorf("%w: classifier %q: not a regular file of the package", ErrInvalid, m.Classifier)
		}
		src, err := readFile(body, c, classify.MaxSource)
		if err != nil {
			return nil, fmt.Errorf("%w: classifier %q: %w", ErrInvalid, m.Classifier, err)
		}
		p.Classifier = string(src)
	}
	if ep, ok := m.EntrypointInPackage(); ok {
		if _, err := archive.Validate(bytes.NewReader(body), ep); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		file := ep
		if t, ok := links[ep]; ok {
			file = t // a hard link to an earlier file, whose mode counts
		}
		mode := p.modes[file]
		if m.Kind != "builtin" && mode&0o111 == 0 {
			return nil, fmt.Errorf("%w: entrypoint %q is not executable (mode %04o): chmod +x it before packing", ErrInvalid, ep, mode)
		}
		if p.entryHead, err = readFile(body, file, -maxHead); err != nil {
			return nil, fmt.Errorf("%w: entrypoint %q: %w", ErrInvalid, ep, err)
		}
	}
	slices.Sort(p.Files)
	return p, nil
}

// collect reads the (already validated) archive again, keeping the
// regular files' modes, the contents of those Read needs, and hard links.
func (p *Package) collect(body []byte) (files map[string][]byte, links map[string]string, err error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	tr := tar.NewReader(zr)
	files, links = map[string][]byte{}, map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: read tar: %w", ErrInvalid, err)
		}
		name := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeLink:
			if name == manifest.FileName {
				return nil, nil, fmt.Errorf("%w: %s must be a regular file, not a link", ErrInvalid, name)
			}
			links[name] = path.Clean(h.Linkname)
			continue
		case tar.TypeReg:
		default:
			continue
		}
		p.Files = append(p.Files, name)
		p.modes[name] = h.Mode & 0o7777
		var limit int64
		switch {
		case name == manifest.FileName:
			limit = manifest.MaxBytes
		case name == ReadmeFile:
			limit = maxReadme
		case path.Dir(name) == TestsDir && strings.HasSuffix(name, ".json"):
			if len(p.Fixtures) >= maxFixtures {
				return nil, nil, fmt.Errorf("%w: more than %d test fixtures in %s/", ErrInvalid, maxFixtures, TestsDir)
			}
			limit = maxFixture
		default:
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, limit+1))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: read %s: %w", ErrInvalid, name, err)
		}
		if int64(len(b)) > limit {
			return nil, nil, fmt.Errorf("%w: %s: more than %d bytes", ErrInvalid, name, limit)
		}
		files[name] = b
		switch name {
		case manifest.FileName:
		case ReadmeFile:
			p.Readme = string(b)
		default:
			p.Fixtures[name] = b
		}
	}
	return files, links, nil
}
