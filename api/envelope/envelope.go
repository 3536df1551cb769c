// Package envelope renders every JSON response of the Prophasis HTTP APIs in
// Prometheus's envelope: {"status", "data", "errorType", "error", "warnings"}.
//
// Grafana and the Prometheus clients depend on this exact shape, and the
// management API uses it too, so every client handles one format. Handlers
// return through OK or Fail; nothing else writes a JSON body.
package envelope

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// ErrorType classifies a failure, with Prometheus's names.
type ErrorType string

// The error types of Prometheus's HTTP API, plus the ones the management API needs.
const (
	ErrBadData     ErrorType = "bad_data"
	ErrTimeout     ErrorType = "timeout"
	ErrCanceled    ErrorType = "canceled"
	ErrExec        ErrorType = "execution"
	ErrInternal    ErrorType = "internal"
	ErrUnavailable ErrorType = "unavailable"
	ErrNotFound    ErrorType = "not_found"
	ErrConflict    ErrorType = "conflict"
	ErrAuth        ErrorType = "unauthorized"
	ErrForbidden   ErrorType = "forbidden"
	ErrTooLarge    ErrorType = "too_large"
)

// Status returns the HTTP status Prometheus uses for an error type.
func (t ErrorType) Status() int {
	switch t {
	case ErrBadData:
		return http.StatusBadRequest
	case ErrExec:
		return http.StatusUnprocessableEntity
	case ErrCanceled:
		return 499 // nginx's "client closed request", as Prometheus does
	case ErrTimeout:
		return http.StatusServiceUnavailable
	case ErrInternal:
		return http.StatusInternalServerError
	case ErrUnavailable:
		return http.StatusServiceUnavailable
	case ErrNotFound:
		return http.StatusNotFound
	case ErrConflict:
		return http.StatusConflict
	case ErrAuth:
		return http.StatusUnauthorized
	case ErrForbidden:
		return http.StatusForbidden
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Response is the envelope. Data is any JSON-encodable value.
type Response struct {
	Status    string    `json:"status"`
	Data      any       `json:"data,omitempty"`
	ErrorType ErrorType `json:"errorType,omitempty"`
	Error     string    `json:"error,omitempty"`
	Warnings  []string  `json:"warnings,omitempty"`
	Infos     []string  `json:"infos,omitempty"`
}

// Error is an error with its type; handlers return it to Fail.
type Error struct {
	Type ErrorType
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf wraps err with a type.
func Errorf(t ErrorType, err error) *Error { return &Error{Type: t, Err: err} }

// OK writes a success envelope with status 200.
func OK(c *gin.Context, data any, warnings ...string) {
	c.JSON(http.StatusOK, Response{Status: "success", Data: data, Warnings: warnings})
}

// Fail writes an error envelope and aborts the handler chain. An err that is
// not an *Error is reported as an internal error.
func Fail(c *gin.Context, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Type: ErrInternal, Err: err}
	}
	c.AbortWithStatusJSON(e.Type.Status(), Response{Status: "error", ErrorType: e.Type, Error: e.Err.Error()})
}

// FailWith is Fail(c, Errorf(t, err)).
func FailWith(c *gin.Context, t ErrorType, err error) { Fail(c, Errorf(t, err)) }
