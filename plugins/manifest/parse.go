package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxBytes bounds a manifest.json.
const MaxBytes = 256 << 10

// Parse decodes a manifest.json strictly: one JSON object, at most
// MaxBytes, no field the format does not define (the error names it), no
// trailing data. Numbers in parameter defaults are kept as json.Number.
// Parse checks the syntax only: call Validate before trusting the result.
func Parse(data []byte) (Manifest, error) {
	var m Manifest
	if len(data) > MaxBytes {
		return m, fmt.Errorf("manifest: %s is %d bytes, more than %d", FileName, len(data), MaxBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return m, fmt.Errorf("manifest: %s is empty", FileName)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %s", describeJSONError(data, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Manifest{}, fmt.Errorf("manifest: unexpected data after the JSON object")
	}
	// encoding/json keeps the last of two equal keys; a reader of the file
	// may well believe the first, so two are refused.
	if err := duplicateKeys(data); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

// duplicateKeys reports the first object key that appears twice in the
// same object of data (valid JSON).
func duplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool
		object bool
		expect bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.expect = true // the container is the value
				}
				stack = append(stack, &frame{keys: map[string]bool{}, object: d == '{', expect: d == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.expect {
			k, _ := tok.(string)
			if top.keys[k] {
				return fmt.Errorf("field %q appears twice (line %d)", k, line(data, dec.InputOffset()))
			}
			top.keys[k] = true
			top.expect = false
			continue
		}
		top.expect = true // a scalar value; a key follows
	}
}

// describeJSONError turns a decoding error into a message naming the field
// or the line.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at line %d: %s", line(data, syn.Offset), syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Sprintf("line %d: the manifest must be a JSON object, not %s", line(data, typ.Offset), typ.Value)
		}
		return fmt.Sprintf("%s: line %d: must be %s, not %s", field, line(data, typ.Offset), kindOf(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "invalid JSON: unexpected end of the file"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Sprintf("unknown field %s (see the manifest reference in docs/plugins.md)", f)
	}
	return strings.TrimPrefix(msg, "json: ")
}

func kindOf(k string) string {
	switch k {
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	}
	return "a " + k
}

// line returns the 1-based line of byte offset off.
func line(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}
