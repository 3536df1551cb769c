package execjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

// quoteLen is how much of output that is not JSON a message quotes.
const quoteLen = 200

// document is the object an exec plugin prints.
type document struct {
	Value   *float64        `json:"value"`
	Message *string         `json:"message"`
	Metrics json.RawMessage `json:"metrics"`
	Status  *string         `json:"status"`
}

var statuses = map[string]int{
	"ok":       pluginout.StatusOK,
	"warning":  pluginout.StatusWarning,
	"critical": pluginout.StatusCritical,
	"unknown":  pluginout.StatusUnknown,
}

// Parse reads one finished run of an exec plugin. It never fails: output it
// cannot accept yields an unknown result whose message says why. See the
// package documentation for the format and the rules.
func Parse(out pluginout.Output) pluginout.Parsed {
	if out.TimedOut {
		return pluginout.TimedOut(out)
	}
	p, err := decode(out.Stdout)
	if err != nil {
		msg := err.Error()
		if out.ExitCode != 0 {
			msg = fmt.Sprintf("plugin exited with code %d; %s", out.ExitCode, msg)
			if e := pluginout.StderrLine(out); e != "" {
				msg += "; stderr: " + e
			}
		}
		return pluginout.Parsed{
			Message:    pluginout.Text([]byte(msg), pluginout.MaxMessage),
			ExitStatus: pluginout.StatusUnknown,
			Notes:      pluginout.CommonNotes(out),
		}
	}
	p.Notes = append(pluginout.CommonNotes(out), p.Notes...)
	if p.ExitStatus < 0 { // no "status": the exit code says
		switch {
		case out.ExitCode >= pluginout.StatusOK && out.ExitCode <= pluginout.StatusUnknown:
			p.ExitStatus = out.ExitCode
		default:
			p.ExitStatus = pluginout.StatusUnknown
			p.Notes = append(p.Notes, fmt.Sprintf("exit code %d is no status", out.ExitCode))
		}
	}
	return p
}

// decode reads the object; ExitStatus is -1 when it has no "status".
func decode(b []byte) (pluginout.Parsed, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return pluginout.Parsed{}, errors.New("plugin printed nothing")
	}
	if trimmed[0] != '{' {
		return pluginout.Parsed{}, notJSON(b)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var doc document
	if err := dec.Decode(&doc); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return pluginout.Parsed{}, notJSON(b)
		}
		return pluginout.Parsed{}, fmt.Errorf("invalid plugin output: %s", jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return pluginout.Parsed{}, errors.New("invalid plugin output: more after the JSON object")
	}

	p := pluginout.Parsed{Value: doc.Value, ExitStatus: -1}
	if doc.Message != nil {
		p.Message = pluginout.Text([]byte(*doc.Message), pluginout.MaxMessage)
	}
	if doc.Status != nil {
		s, ok := statuses[*doc.Status]
		if !ok {
			return pluginout.Parsed{}, fmt.Errorf("invalid plugin output: status %s is none of ok, warning, critical, unknown",
				strconv.Quote(pluginout.Text([]byte(*doc.Status), 40)))
		}
		p.ExitStatus = s
	}
	metrics, err := decodeMetrics(doc.Metrics)
	if err != nil {
		return pluginout.Parsed{}, fmt.Errorf("invalid plugin output: %w", err)
	}
	p.Metrics = metrics
	return p, nil
}

// notJSON says output is not a JSON object, quoting its start.
func notJSON(b []byte) error {
	q := b
	if len(q) > quoteLen {
		q = q[:quoteLen]
	}
	return fmt.Errorf("plugin output is not a JSON object: %s", strconv.Quote(strings.ToValidUTF8(string(q), "\uFFFD")))
}

// jsonError rephrases encoding/json's errors without its prefix and Go type
// names.
func jsonError(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		want := typ.Type.Kind().String()
		switch want {
		case "float64":
			if strings.HasPrefix(typ.Value, "number") {
				return fmt.Sprintf("field %q: %s out of range", typ.Field, typ.Value)
			}
			want = "a number"
		case "string":
			want = "a string"
		case "bool":
			want = "true or false"
		case "map", "struct":
			want = "an object"
		case "slice":
			want = "a list"
		}
		return fmt.Sprintf("field %q: %s is not %s", typ.Field, typ.Value, want)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Metrics come as an object of name → number, or a list of full metrics.
type listedMetric struct {
	Name    string            `json:"name"`
	Labels  map[string]string `json:"labels"`
	Value   *float64          `json:"value"`
	Unit    string            `json:"unit"`
	Counter bool              `json:"counter"`
}

// Bounds of one listed metric.
const (
	maxLabels   = 32
	maxLabelLen = 1024
	maxUnitLen  = 32
)

func decodeMetrics(raw json.RawMessage) ([]wire.Metric, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '{':
		return decodeMetricObject(raw)
	case '[':
		return decodeMetricList(raw)
	}
	return nil, errors.New(`"metrics" is neither an object nor a list`)
}

// decodeMetricObject reads {"name": number, ...} token by token, to keep the
// order and to refuse repeated names.
func decodeMetricObject(raw json.RawMessage) ([]wire.Metric, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, fmt.Errorf("metrics: %s", jsonError(err))
	}
	var out []wire.Metric
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("metrics: %s", jsonError(err))
		}
		name, _ := tok.(string)
		if !pluginout.ValidName(name) {
			return nil, fmt.Errorf("metric name %s is not [a-zA-Z_][a-zA-Z0-9_]* (at most %d bytes)", quote(name), pluginout.MaxNameLen)
		}
		if seen[name] {
			return nil, fmt.Errorf("metric %s repeated", name)
		}
		seen[name] = true
		if len(out) >= pluginout.MaxMetrics {
			return nil, fmt.Errorf("more than %d metrics", pluginout.MaxMetrics)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("metric %s: %s", name, jsonError(err))
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("metric %s: value is not a number", name)
		}
		v, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: value %s out of range", name, num)
		}
		out = append(out, wire.Metric{Name: name, Value: v})
	}
	return out, nil
}

func decodeMetricList(raw json.RawMessage) ([]wire.Metric, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var list []listedMetric
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("metrics: %s", jsonError(err))
	}
	if len(list) > pluginout.MaxMetrics {
		return nil, fmt.Errorf("more than %d metrics", pluginout.MaxMetrics)
	}
	out := make([]wire.Metric, 0, len(list))
	seen := map[string]bool{}
	for i, m := range list {
		if !pluginout.ValidName(m.Name) {
			return nil, fmt.Errorf("metric %d: name %s is not [a-zA-Z_][a-zA-Z0-9_]* (at most %d bytes)", i, quote(m.Name), pluginout.MaxNameLen)
		}
		if m.Value == nil {
			return nil, fmt.Errorf("metric %s has no value", m.Name)
		}
		if len(m.Labels) > maxLabels {
			return nil, fmt.Errorf("metric %s has more than %d labels", m.Name, maxLabels)
		}
		for k, v := range m.Labels {
			if !pluginout.ValidLabelName(k) {
				return nil, fmt.Errorf("metric %s: label name %s is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __", m.Name, quote(k))
			}
			if len(v) > maxLabelLen {
				return nil, fmt.Errorf("metric %s: label %s longer than %d bytes", m.Name, k, maxLabelLen)
			}
		}
		if !validUnit(m.Unit) {
			return nil, fmt.Errorf("metric %s: unit %s is not a lowercase word such as seconds, bytes, percent", m.Name, quote(m.Unit))
		}
		key := seriesKey(m.Name, m.Labels)
		if seen[key] {
			return nil, fmt.Errorf("metric %s repeated with the same labels", m.Name)
		}
		seen[key] = true
		labels := m.Labels
		if len(labels) == 0 {
			labels = nil
		}
		out = append(out, wire.Metric{Name: m.Name, Labels: labels, Value: *m.Value, Unit: m.Unit, Counter: m.Counter})
	}
	return out, nil
}

// validUnit reports whether u is empty or a lowercase word: [a-z][a-z0-9_]*.
func validUnit(u string) bool {
	if len(u) > maxUnitLen {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

// seriesKey identifies a metric by name and labels, whatever their order.
func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString(name)
	for _, k := range keys {
		sb.WriteString("\x00" + k + "\x00" + labels[k])
	}
	return sb.String()
}

func quote(s string) string { return strconv.Quote(pluginout.Text([]byte(s), 60)) }
