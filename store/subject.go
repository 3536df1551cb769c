package store

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// Subject is what an event or a state is about. Which fields are set depends
// on Kind: a check result has Host, Plugin and Check; a host only Host; a
// trend rule's series Rule, Labels and often Host; a service Service.
type Subject struct {
	// Kind is one of SubjectKinds: "check", "host", "trend", "service".
	Kind    string            `json:"kind"`
	Host    string            `json:"host,omitempty"`
	Plugin  string            `json:"plugin,omitempty"`
	Check   string            `json:"check,omitempty"`
	Rule    string            `json:"rule,omitempty"`
	Service string            `json:"service,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// SubjectKinds are the kinds of Subject.
var SubjectKinds = []string{"check", "host", "trend", "service"}

// The range of state numbers in events and current states.
const (
	minStateNumber = -1
	maxStateNumber = 3
)

// validate checks a subject; what names its owner.
func (s *Subject) validate(what string) error {
	if !slices.Contains(SubjectKinds, s.Kind) {
		return invalidf("%s: subject kind %q must be one of %s", what, s.Kind, strings.Join(SubjectKinds, ", "))
	}
	for _, f := range []struct{ field, v string }{
		{"host", s.Host}, {"plugin", s.Plugin}, {"check", s.Check}, {"rule", s.Rule}, {"service", s.Service},
	} {
		if err := validText(what, "subject "+f.field, f.v, maxSubjectField); err != nil {
			return err
		}
	}
	if len(s.Labels) > maxLabels {
		return invalidf("%s: subject has %d labels; the limit is %d", what, len(s.Labels), maxLabels)
	}
	for _, k := range sortedKeys(s.Labels) {
		if k == "" || len(k) > maxLabelName || !utf8.ValidString(k) {
			return invalidf("%s: subject label name %q must be 1 to %d bytes of UTF-8", what, k, maxLabelName)
		}
		if err := validText(what, "subject label "+k, s.Labels[k], maxLabelValue); err != nil {
			return err
		}
	}
	return nil
}

// labelsJSON is the column representation of Labels.
func (s *Subject) labelsJSON() (string, error) {
	if len(s.Labels) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(s.Labels)
	return string(b), err
}

// setLabels reads the column representation of Labels.
func (s *Subject) setLabels(col string) error {
	if col == "" || col == "{}" {
		s.Labels = nil
		return nil
	}
	return json.Unmarshal([]byte(col), &s.Labels)
}

func validState(what, field string, n int) error {
	if n < minStateNumber || n > maxStateNumber {
		return invalidf("%s: %s %d must be a state number from %d (unknown) to %d (critical)", what, field, n, minStateNumber, maxStateNumber)
	}
	return nil
}
