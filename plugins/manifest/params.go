package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// paramNameRE is the rule for parameter names: they become environment
// variables (PROPHASIS_PARAM_<NAME>) and ${name} references.
var paramNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// maxParamValue bounds a parameter's value, as the store bounds an argument.
const maxParamValue = 1024

// Check reports whether value, as a check sets it, is a valid value of the
// parameter's type: an integer ("42"), a finite number ("0.5"), "true" or
// "false", a duration ("30s", "2d"), or a string of at most 1024 bytes
// without NUL. The error names the parameter.
func (p Parameter) Check(value string) error {
	bad := func(want string) error {
		return fmt.Errorf("parameter %s: %q is not %s", p.Name, value, want)
	}
	if len(value) > maxParamValue || strings.ContainsRune(value, 0) {
		return fmt.Errorf("parameter %s: value must be at most %d bytes without NUL", p.Name, maxParamValue)
	}
	switch p.Type {
	case "string":
		return nil
	case "int":
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return bad("an integer")
		}
	case "float":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("a finite number")
		}
	case "bool":
		if value != "true" && value != "false" {
			return bad(`"true" or "false"`)
		}
	case "duration":
		if _, err := ParseDuration(value); err != nil {
			return bad("a duration (like 30s, 5m, 1h30m, 2d)")
		}
	default:
		return fmt.Errorf("parameter %s: unknown type %q", p.Name, p.Type)
	}
	return nil
}

// defaultString returns the parameter's default as the string a check
// would set, and whether it is of the parameter's type.
func (p Parameter) defaultString() (string, error) {
	var s string
	switch v := p.Default.(type) {
	case string:
		if p.Type != "string" && p.Type != "duration" {
			return "", fmt.Errorf("is a string, but the type is %s", p.Type)
		}
		s = v
	case bool:
		if p.Type != "bool" {
			return "", fmt.Errorf("is a boolean, but the type is %s", p.Type)
		}
		s = strconv.FormatBool(v)
	case json.Number:
		s = v.String()
	case float64:
		s = strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(v), 'g', -1, 32)
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return "", fmt.Errorf("must be a JSON string, number or boolean, not %T", p.Default)
	}
	switch p.Default.(type) {
	case json.Number, float64, float32, int, int64:
		if p.Type != "int" && p.Type != "float" {
			return "", fmt.Errorf("is a number, but the type is %s (write a string: %q)", p.Type, s)
		}
		if p.Type == "int" {
			// 5.0 and 5e0 are integers written as floats; accept the value.
			if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				s = strconv.FormatInt(int64(f), 10)
			}
		}
	}
	if err := p.Check(s); err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), "parameter "+p.Name+": "))
	}
	return s, nil
}

// Defaults returns the parameters' defaults as the strings a check would
// set ("5", "true", "30s"), by parameter name. Parameters without a default
// (or with an invalid one, which Validate reports) are absent.
func Defaults(m Manifest) map[string]string {
	out := make(map[string]string, len(m.Parameters))
	for _, p := range m.Parameters {
		if p.Default == nil {
			continue
		}
		if s, err := p.defaultString(); err == nil {
			out[p.Name] = s
		}
	}
	return out
}

// Substitute returns args with every "${name}" replaced by params[name] and
// every "$$" by "$". A name params lacks, a "${" without "}" or a "$"
// followed by anything else is an error naming the argument. Each argument
// stays one argument: no shell ever splits them.
func Substitute(args []string, params map[string]string) ([]string, error) {
	out := make([]string, len(args))
	for i, a := range args {
		s, err := substitute(a, func(name string) (string, bool) {
			v, ok := params[name]
			return v, ok
		})
		if err != nil {
			return nil, fmt.Errorf("args[%d] %q: %w", i, a, err)
		}
		out[i] = s
	}
	return out, nil
}

// substitute expands one argument with lookup.
func substitute(a string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(a, "$") {
		return a, nil
	}
	var b strings.Builder
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		switch {
		case i+1 < len(a) && a[i+1] == '$':
			b.WriteByte('$')
			i++
		case i+1 < len(a) && a[i+1] == '{':
			end := strings.IndexByte(a[i+2:], '}')
			if end < 0 {
				return "", errors.New(`"${" without a closing "}"`)
			}
			name := a[i+2 : i+2+end]
			v, ok := lookup(name)
			if !ok {
				return "", fmt.Errorf("${%s}: no such parameter", name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			return "", errors.New(`"$" must be followed by "{name}" or "$" (write "$$" for a literal "$")`)
		}
	}
	return b.String(), nil
}
