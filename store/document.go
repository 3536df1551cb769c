package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// DocumentVersion is the version of the configuration file format this
// release reads and writes.
const DocumentVersion = 1

// Document is the whole configuration users write as code: hosts, groups,
// schedules, checks, services, alert rules, trend rules and silences. Apply
// makes the store match it exactly; Export writes the store as one. Plugins
// and alert modules are referred to by name and must already exist; users
// and API tokens are not part of it. See
// docs/configuration.md for the format.
type Document struct {
	// Version is the format version; 0 (absent) means DocumentVersion.
	Version    int         `json:"version,omitempty" yaml:"version,omitempty"`
	Hosts      []Host      `json:"hosts" yaml:"hosts,omitempty"`
	Groups     []Group     `json:"groups" yaml:"groups,omitempty"`
	Schedules  []Schedule  `json:"schedules" yaml:"schedules,omitempty"`
	Checks     []Check     `json:"checks" yaml:"checks,omitempty"`
	Services   []Service   `json:"services" yaml:"services,omitempty"`
	AlertRules []AlertRule `json:"alert_rules" yaml:"alert_rules,omitempty"`
	TrendRules []TrendRule `json:"trend_rules" yaml:"trend_rules,omitempty"`
	Silences   []Silence   `json:"silences" yaml:"silences,omitempty"`
	// Dashboards, unlike the kinds above, are left as they are when the
	// document does not list them (nil): they are mostly made in the web
	// UI, and a configuration file written before dashboards existed must
	// not delete them. A listed one, even `dashboards: []`, makes the
	// store's dashboards match it.
	Dashboards []Dashboard `json:"dashboards,omitempty" yaml:"dashboards,omitempty"`
	// Mesh are the agent mesh settings (docs/mesh.md); absent leaves them
	// as they are. Keys are never part of a document: they stay on the
	// server (made there when the mesh is enabled).
	Mesh *MeshSettings `json:"mesh,omitempty" yaml:"mesh,omitempty"`
}

// MaxDocumentBytes bounds a configuration document; it holds thousands of
// hosts with room to spare.
const MaxDocumentBytes = 8 << 20

// errEmptyDocument guards against applying an empty file by mistake, which
// would delete everything.
var errEmptyDocument = invalidf("the document is empty; to delete everything, apply an explicitly empty document such as `hosts: []`")

// ParseDocumentYAML decodes a YAML document strictly: unknown fields, a
// second document in the stream and an empty input are errors wrapping
// ErrInvalid, with the line at fault. It only decodes; Apply validates.
func ParseDocumentYAML(data []byte) (doc Document, err error) {
	if len(data) > MaxDocumentBytes {
		return Document{}, invalidf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Document{}, errEmptyDocument
	}
	// yaml.v3 has panicked on hostile input before; a bad file must never
	// take the server down.
	defer func() {
		if v := recover(); v != nil {
			doc, err = Document{}, invalidf("parse YAML: malformed document (%v)", v)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Document{}, errEmptyDocument
		}
		return Document{}, invalidf("parse YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Document{}, invalidf("parse YAML: the file holds more than one YAML document (---); put everything in one")
	}
	return doc, nil
}

// ParseDocumentJSON decodes a JSON document strictly: unknown fields and
// trailing data are errors wrapping ErrInvalid.
func ParseDocumentJSON(data []byte) (Document, error) {
	if len(data) > MaxDocumentBytes {
		return Document{}, invalidf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Document{}, errEmptyDocument
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		return Document{}, invalidf("parse JSON: %s", describeJSONError(data, err))
	}
	if dec.More() {
		return Document{}, invalidf("parse JSON: unexpected data after the document")
	}
	return doc, nil
}

// describeJSONError adds the line of a syntax or type error.
func describeJSONError(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return fmt.Sprintf("line %d: %v", line, err)
}

// YAML encodes the document as YAML, the format of configuration files.
// Lists of plain values are written inline ("hosts: [web1, web2]"), as
// people write them.
func (d Document) YAML() ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(d); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	flowScalarLists(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return b.Bytes(), nil
}

// flowScalarLists marks every sequence of scalars for flow style.
func flowScalarLists(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		flow := true
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				flow = false
				break
			}
		}
		if flow {
			n.Style = yaml.FlowStyle
			return
		}
	}
	for _, c := range n.Content {
		flowScalarLists(c)
	}
}

// serverKinds are the kinds a document refers to but does not hold: they
// must exist on the server (Apply checks).
var serverKinds = map[kind]bool{kindPlugin: true, kindAlertModule: true}

// validate normalises every entity (sorting its lists in place) and checks
// the document on its own: every entity valid, names unique per kind, every
// reference (except to plugins and alert modules, which live outside the
// document) naming an
// entity of the document, no cycles. It reports all problems it finds, up to
// maxReportedErrors.
func (d *Document) validate() error {
	var errs errorList
	if d.Version != 0 && d.Version != DocumentVersion {
		errs.add(invalidf("version %d is not supported (this server reads version %d)", d.Version, DocumentVersion))
	}
	// Absent and empty lists mean the same: nothing of that kind.
	d.Hosts = emptyIfNil(d.Hosts)
	d.Groups = emptyIfNil(d.Groups)
	d.Schedules = emptyIfNil(d.Schedules)
	d.Checks = emptyIfNil(d.Checks)
	d.Services = emptyIfNil(d.Services)
	d.AlertRules = emptyIfNil(d.AlertRules)
	d.TrendRules = emptyIfNil(d.TrendRules)
	d.Silences = emptyIfNil(d.Silences)
	names := map[kind]map[string]bool{}
	names[kindHost] = validateKind(&errs, kindHost, d.Hosts)
	names[kindSchedule] = validateKind(&errs, kindSchedule, d.Schedules)
	names[kindGroup] = validateKind(&errs, kindGroup, d.Groups)
	names[kindCheck] = validateKind(&errs, kindCheck, d.Checks)
	names[kindService] = validateKind(&errs, kindService, d.Services)
	validateKind(&errs, kindAlertRule, d.AlertRules)
	names[kindTrendRule] = validateKind(&errs, kindTrendRule, d.TrendRules)
	validateKind(&errs, kindSilence, d.Silences)
	validateKind(&errs, kindDashboard, d.Dashboards)

	checkRefs := func(k kind, name string, refs []ref) {
		for _, r := range refs {
			if serverKinds[r.kind] || names[r.kind][r.name] {
				continue
			}
			errs.add(fmt.Errorf("%s %q: %w", k, name, invalidf("unknown %s %q", r.kind, r.name)))
		}
	}
	for i := range d.Groups {
		checkRefs(kindGroup, d.Groups[i].Name, d.Groups[i].refs())
	}
	for i := range d.Checks {
		checkRefs(kindCheck, d.Checks[i].Name, d.Checks[i].refs())
	}
	for i := range d.Services {
		checkRefs(kindService, d.Services[i].Name, d.Services[i].refs())
	}
	for i := range d.AlertRules {
		checkRefs(kindAlertRule, d.AlertRules[i].Name, d.AlertRules[i].refs())
	}
	for i := range d.Silences {
		checkRefs(kindSilence, d.Silences[i].Name, d.Silences[i].refs())
	}
	if c := groupGraph(d.Groups).findCycle(); c != nil {
		errs.add(cycleError("group nesting", c))
	}
	if c := serviceGraph(d.Services).findCycle(); c != nil {
		errs.add(cycleError("service dependency", c))
	}
	return errs.err()
}

// validateKind normalises and validates the entities of one kind and
// returns the set of their names.
func validateKind[T any, P record[T]](errs *errorList, k kind, items []T) map[string]bool {
	seen := make(map[string]bool, len(items))
	for i := range items {
		p := P(&items[i])
		p.normalize()
		if err := p.validate(); err != nil {
			errs.add(err)
		}
		name := *p.key()
		if seen[name] {
			errs.add(invalidf("%s %q is defined twice", k, name))
		}
		seen[name] = true
	}
	return seen
}

// serverRef is a reference from the document to a plugin or an alert
// module, which must exist on the server.
type serverRef struct {
	who string
	to  ref
}

// serverRefs lists the plugins and alert modules the document refers to,
// with who refers.
func (d *Document) serverRefs() []serverRef {
	var out []serverRef
	add := func(k kind, name string, refs []ref) {
		for _, r := range refs {
			if serverKinds[r.kind] {
				out = append(out, serverRef{fmt.Sprintf("%s %q", k, name), r})
			}
		}
	}
	for i := range d.Checks {
		add(kindCheck, d.Checks[i].Name, d.Checks[i].refs())
	}
	for i := range d.Services {
		add(kindService, d.Services[i].Name, d.Services[i].refs())
	}
	for i := range d.AlertRules {
		add(kindAlertRule, d.AlertRules[i].Name, d.AlertRules[i].refs())
	}
	for i := range d.Silences {
		add(kindSilence, d.Silences[i].Name, d.Silences[i].refs())
	}
	return out
}

func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
