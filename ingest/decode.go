package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prophasis/prophasis/wire"
)

// Limits on one agent batch. They bound the memory one request can take.
const (
	// MaxBodyBytes bounds a batch body as sent (gzip or not).
	MaxBodyBytes = 32 << 20
	// maxDecodedBytes bounds a gzip body once inflated.
	maxDecodedBytes = 128 << 20
	// MaxMessageBytes bounds one message: the agent caps plugin output at 64 KiB.
	MaxMessageBytes = 64 << 10
	maxNameLen      = 128
	maxHostLen      = 253
	maxMetrics      = 1000
	maxMetricLabels = 16
	maxLabelValue   = 1024
)

// ErrBadInput marks errors caused by the request (400); test with errors.Is.
var ErrBadInput = errors.New("bad input")

// ErrTooLarge marks a body over the size limit (413).
var ErrTooLarge = errors.New("request too large")

// inputError is a bad-input error whose text is only the explanation
// ("results[3]: host: ..."); errors.Is still finds ErrBadInput.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return ErrBadInput }

func badInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// DecodeBatch reads and validates an agent batch. contentEncoding is the
// request's Content-Encoding ("" or "gzip"). The whole batch is validated
// before anything is written, so an error here means nothing was stored.
func (in *Ingester) DecodeBatch(body io.Reader, contentEncoding string) (wire.Batch, error) {
	var b wire.Batch
	data, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		return b, badInput("read body: %v", err)
	}
	if len(data) > MaxBodyBytes {
		return b, fmt.Errorf("%w: body over %d bytes: send smaller batches", ErrTooLarge, MaxBodyBytes)
	}
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return b, badInput("gzip body: %v", err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, maxDecodedBytes+1))
		if err != nil {
			return b, badInput("gzip body: %v", err)
		}
		if len(data) > maxDecodedBytes {
			return b, fmt.Errorf("%w: body inflates to over %d bytes", ErrTooLarge, maxDecodedBytes)
		}
	default:
		return b, badInput("content encoding %q not supported: send identity or gzip", contentEncoding)
	}
	return b, in.decodeBytes(data, &b)
}

func (in *Ingester) decodeBytes(data []byte, b *wire.Batch) error {
	if err := parseBatch(data, b); err != nil {
		return badInput("decode JSON batch: %v", err)
	}
	if len(b.Results) == 0 {
		return badInput("batch has no results")
	}
	if len(b.Results) > in.opts.MaxBatch {
		return badInput("batch has %d results, more than the limit of %d: split it", len(b.Results), in.opts.MaxBatch)
	}
	now := in.opts.Now()
	maxTs := now.Add(in.opts.MaxFuture).UnixMilli()
	for i := range b.Results {
		if err := validateResult(&b.Results[i], maxTs); err != nil {
			return badInput("results[%d]: %v", i, err)
		}
	}
	return nil
}

func validateResult(r *wire.Result, maxTs int64) error {
	if err := validHost(r.Host); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	if err := validName(r.Plugin); err != nil {
		return fmt.Errorf("plugin: %w", err)
	}
	if r.Check != "" {
		if err := validName(r.Check); err != nil {
			return fmt.Errorf("check: %w", err)
		}
	}
	if r.Timestamp <= 0 {
		return fmt.Errorf("timestamp: %d is not a time in milliseconds since 1970", r.Timestamp)
	}
	if r.Timestamp > maxTs {
		return fmt.Errorf("timestamp: %s is in the future (server time %s): check the host's clock",
			time.UnixMilli(r.Timestamp).UTC().Format(time.RFC3339), time.UnixMilli(maxTs).UTC().Format(time.RFC3339))
	}
	if r.Value != nil && (math.IsNaN(*r.Value) || math.IsInf(*r.Value, 0)) {
		return errors.New("value: must be a finite number")
	}
	if math.IsNaN(r.Duration) || math.IsInf(r.Duration, 0) || r.Duration < 0 {
		return fmt.Errorf("duration: %v is not a number of seconds >= 0", r.Duration)
	}
	if len(r.Message) > MaxMessageBytes {
		return fmt.Errorf("message: %d bytes, more than the limit of %d", len(r.Message), MaxMessageBytes)
	}
	if !utf8.ValidString(r.Message) {
		return errors.New("message: not valid UTF-8")
	}
	if len(r.Metrics) > maxMetrics {
		return fmt.Errorf("metrics: %d, more than the limit of %d", len(r.Metrics), maxMetrics)
	}
	for j := range r.Metrics {
		if err := validMetric(&r.Metrics[j]); err != nil {
			return fmt.Errorf("metrics[%d]: %w", j, err)
		}
	}
	return nil
}

func validMetric(m *wire.Metric) error {
	if !validMetricName(m.Name) {
		return fmt.Errorf("name %q: must match [a-zA-Z_][a-zA-Z0-9_]* and be at most %d characters", m.Name, maxNameLen)
	}
	if len(m.Labels) > maxMetricLabels {
		return fmt.Errorf("%d labels, more than the limit of %d", len(m.Labels), maxMetricLabels)
	}
	for k, v := range m.Labels {
		if !validMetricName(k) || strings.HasPrefix(k, "__") {
			return fmt.Errorf("label name %q: must match [a-zA-Z_][a-zA-Z0-9_]* without a leading __", k)
		}
		if reservedLabel(k) {
			return fmt.Errorf("label name %q is reserved: the server sets it", k)
		}
		if len(v) > maxLabelValue || !utf8.ValidString(v) {
			return fmt.Errorf("label %q: value must be valid UTF-8 of at most %d bytes", k, maxLabelValue)
		}
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		return errors.New("value: must be a finite number")
	}
	return nil
}

// validName checks plugin and check names: a letter or digit, then letters,
// digits, '_', '.', '-'.
func validName(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > maxNameLen {
		return fmt.Errorf("%d characters, more than %d", len(s), maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || (i > 0 && (c == '_' || c == '.' || c == '-')) {
			continue
		}
		return fmt.Errorf("%q: only letters, digits, '_', '.' and '-' are allowed, starting with a letter or digit", s)
	}
	return nil
}

// validHost checks a host name: a DNS name or an address, as agents name
// themselves.
func validHost(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > maxHostLen {
		return fmt.Errorf("%d characters, more than %d", len(s), maxHostLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || (i > 0 && (c == '_' || c == '.' || c == '-' || c == ':')) {
			continue
		}
		return fmt.Errorf("%q: only letters, digits, '_', '.', '-' and ':' are allowed, starting with a letter or digit", s)
	}
	return nil
}

func validMetricName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func reservedLabel(k string) bool {
	return k == labelHost || k == labelPlugin || k == labelCheck
}
