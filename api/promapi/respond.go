package promapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/prophasis/prophasis/api/envelope"
)

// maxFormBytes bounds a POSTed form. net/http caps url-encoded bodies at
// 10 MB already; the same cap applies to multipart ones, which Prometheus
// also accepts (through http.Request.FormValue).
const maxFormBytes = 10 << 20

// parseForm parses the URL query and a form-encoded or multipart body into
// r.Form, as http.Request.FormValue does, and returns it. A malformed body is
// bad_data; the handler must return when ok is false.
func (a *api) parseForm(c *gin.Context) (f url.Values, ok bool) {
	r := c.Request
	if r.Body != nil {
		r.Body = http.MaxBytesReader(c.Writer, r.Body, maxFormBytes)
	}
	// ParseMultipartForm drops ParseForm's error when the body is not
	// multipart, so parse the url-encoded kind first.
	err := r.ParseForm()
	if err == nil {
		if err = r.ParseMultipartForm(maxFormBytes); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	if err != nil {
		a.fail(c, badData(fmt.Errorf("error parsing form values: %w", err)))
		return nil, false
	}
	return r.Form, true
}

// fail writes the error envelope. An error that is not an *envelope.Error is
// internal, and logged.
func (a *api) fail(c *gin.Context, err error) {
	var e *envelope.Error
	if !errors.As(err, &e) {
		e = envelope.Errorf(envelope.ErrInternal, err)
	}
	if e.Type == envelope.ErrInternal {
		a.logger.Error("request failed", "path", c.Request.URL.Path, "err", err)
	}
	envelope.Fail(c, e)
}

// queryError classifies an error from the engine or the storage as
// Prometheus's returnAPIError does: canceled, timeout, internal for storage
// failures, execution for everything else (a bad query at run time).
func queryError(err error) *envelope.Error {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
		es  promql.ErrStorage
	)
	switch {
	case errors.As(err, &eqc):
		return envelope.Errorf(envelope.ErrCanceled, err)
	case errors.As(err, &eqt):
		return envelope.Errorf(envelope.ErrTimeout, err)
	case errors.As(err, &es):
		return envelope.Errorf(envelope.ErrInternal, err)
	case errors.Is(err, context.Canceled):
		return envelope.Errorf(envelope.ErrCanceled, err)
	}
	return envelope.Errorf(envelope.ErrExec, err)
}

// flushSize is how much encoded JSON is buffered before it is handed to the
// connection: large enough that syscalls and gzip blocks are amortised,
// small enough that a 100 MB matrix never sits in memory whole.
const flushSize = 64 << 10

// bufPool recycles encoding buffers across requests.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, flushSize+flushSize/4); return &b }}

// stream is a JSON response being written: handlers append to b and call
// maybeFlush between elements.
type stream struct {
	w   io.Writer
	b   []byte
	err error
}

// maybeFlush writes the buffer out once it holds flushSize bytes.
func (s *stream) maybeFlush() {
	if len(s.b) >= flushSize {
		s.flush()
	}
}

func (s *stream) flush() {
	if s.err == nil && len(s.b) > 0 {
		_, s.err = s.w.Write(s.b)
	}
	s.b = s.b[:0]
}

// respond writes a success envelope whose data the function data appends:
//
//	{"status":"success","data":DATA,"warnings":[...],"infos":[...]}
//
// It is the same envelope envelope.OK writes (Prometheus's), produced without
// reflection and streamed: the status line goes out with the first 64 KB. The
// annotations are rendered with their position in query, as Prometheus does.
func (a *api) respond(c *gin.Context, annos annotations.Annotations, query string, data func(s *stream)) {
	warnings, infos := annos.AsStrings(query, 10, 10)

	bp := bufPool.Get().(*[]byte)
	s := &stream{w: c.Writer, b: (*bp)[:0]}
	c.Header("Content-Type", "application/json")
	c.Status(http.StatusOK)

	s.b = append(s.b, `{"status":"success","data":`...)
	data(s)
	if len(warnings) > 0 {
		s.b = append(s.b, `,"warnings":`...)
		s.b = appendStrings(s.b, warnings)
	}
	if len(infos) > 0 {
		s.b = append(s.b, `,"infos":`...)
		s.b = appendStrings(s.b, infos)
	}
	s.b = append(s.b, '}')
	s.flush()
	if s.err != nil {
		// The client went away or the connection broke: nothing to tell it.
		a.logger.Debug("write response", "path", c.Request.URL.Path, "err", s.err)
	}

	// Keep ordinary buffers for reuse, drop the few a huge element grew.
	if cap(s.b) <= 4*flushSize {
		*bp = s.b[:0]
		bufPool.Put(bp)
	}
}
