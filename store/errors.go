package store

import (
	"errors"
	"fmt"
)

// kindError is an error of one of the sentinel kinds (ErrInvalid, ErrNotFound,
// ErrConflict, ErrUnauthenticated) whose text is only the explanation:
// `host "web 1": name must match ...` reads better than `invalid: host ...`,
// and errors.Is still finds the kind.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func invalidf(format string, args ...any) error {
	return &kindError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
}

func conflictf(format string, args ...any) error {
	return &kindError{kind: ErrConflict, msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &kindError{kind: ErrNotFound, msg: fmt.Sprintf(format, args...)}
}

func unauthenticatedf(format string, args ...any) error {
	return &kindError{kind: ErrUnauthenticated, msg: fmt.Sprintf(format, args...)}
}

// maxReportedErrors bounds how many validation errors one call reports, so a
// broken 10,000-host document gives a readable answer.
const maxReportedErrors = 50

// errorList collects validation errors; err joins them (nil when none).
type errorList struct {
	errs    []error
	dropped int
}

func (l *errorList) add(err error) {
	if err == nil {
		return
	}
	if len(l.errs) >= maxReportedErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, err)
}

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	if l.dropped > 0 {
		l.errs = append(l.errs, invalidf("... and %d more errors", l.dropped))
	}
	return errors.Join(l.errs...)
}
