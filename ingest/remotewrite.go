package ingest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/VictoriaMetrics/metrics"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
)

var (
	rwRequests   = metrics.NewCounter(`prophasis_remote_write_requests_total`)
	rwBad        = metrics.NewCounter(`prophasis_remote_write_bad_requests_total`)
	rwSamples    = metrics.NewCounter(`prophasis_ingest_samples_total{source="remote_write"}`)
	rwHistograms = metrics.NewCounter(`prophasis_ingest_histograms_total{source="remote_write"}`)
	rwExemplars  = metrics.NewCounter(`prophasis_ingest_exemplars_total{source="remote_write"}`)
)

// RemoteWriteHandler returns the Prometheus remote-write receiver, remote
// write 1.0 and 2.0 (snappy-compressed protobuf; content negotiation, size
// limits and response headers come from client_golang's remote API). Unlike
// Prometheus, a request with an invalid series (bad or duplicate label names,
// no metric name, a timestamp more than MaxFuture ahead) is refused whole with
// 400, and a request whose samples the TSDB refuses is rolled back: nothing is
// half-written. Only POST is served, so a vmagent probing for VictoriaMetrics'
// own protocol falls back to Prometheus's.
func (in *Ingester) RemoteWriteHandler() http.Handler {
	return remoteapi.NewWriteHandler(&remoteWriter{in: in},
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType})
}

type remoteWriter struct {
	in *Ingester
}

// rwSeries is one decoded series of a request, validated.
type rwSeries struct {
	lset       labels.Labels
	samples    []prompb.Sample
	v2samples  []writev2.Sample
	histograms []*histogram.Histogram
	fhists     []*histogram.FloatHistogram
	htimes     []int64
	exemplars  []exemplar.Exemplar
}

var (
	v1Pool = sync.Pool{New: func() any { return new(prompb.WriteRequest) }}
	v2Pool = sync.Pool{New: func() any { return new(writev2.Request) }}
)

// Store implements remoteapi's storage: the body arrives snappy-decoded.
func (w *remoteWriter) Store(r *http.Request, mt remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
	rwRequests.Inc()
	wr := remoteapi.NewWriteResponse()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, fmt.Errorf("read body: %w", err)
	}
	now := w.in.opts.Now()
	maxT := now.Add(w.in.opts.MaxFuture).UnixMilli()
	var stats remoteapi.WriteResponseStats
	switch mt {
	case remoteapi.WriteV1MessageType:
		p := v1ParsedPool.Get().(*v1Parsed)
		defer p.release()
		err = parseV1(body, p)
		if errors.Is(err, errNeedGeneralPath) {
			stats, err = w.general(r, body, mt, maxT)
			break
		}
		if err != nil {
			err = badRequest(fmt.Errorf("decode remote write 1.0 protobuf: %w", err))
			break
		}
		stats, err = w.fastV1(r, p, maxT, now)
	default:
		stats, err = w.general(r, body, mt, maxT)
	}
	if err != nil {
		var br *badRequestError
		if errors.As(err, &br) || isSampleRefusal(err) {
			rwBad.Inc()
			wr.SetStatusCode(http.StatusBadRequest)
		} else {
			wr.SetStatusCode(http.StatusInternalServerError)
		}
		return wr, err
	}
	rwSamples.Add(stats.Samples)
	rwHistograms.Add(stats.Histograms)
	rwExemplars.Add(stats.Exemplars)
	wr.Add(stats)
	return wr, nil
}

// badRequestError marks a request the sender must not retry (400).
type badRequestError struct{ err error }

func (e *badRequestError) Error() string { return e.err.Error() }
func (e *badRequestError) Unwrap() error { return e.err }

func badRequest(err error) error { return &badRequestError{err} }

// fastV1 writes a parsed remote write 1.0 request of float samples.
func (w *remoteWriter) fastV1(r *http.Request, p *v1Parsed, maxT int64, now time.Time) (stats remoteapi.WriteResponseStats, err error) {
	b := labels.NewScratchBuilder(16)
	entries, err := w.in.rw.resolveV1(p, maxT, now, &b, make([]*rwEntry, 0, len(p.series)))
	if err != nil {
		return stats, badRequest(err)
	}
	app := w.in.db.Appender(r.Context())
	n, err := appendV1(app, p, entries)
	if err != nil {
		_ = app.Rollback()
		return stats, err
	}
	if err := app.Commit(); err != nil {
		return stats, fmt.Errorf("commit: %w", err)
	}
	stats.Samples = n
	return stats, nil
}

// general decodes with the generated protobuf code: remote write 2.0, and
// 1.0 requests with histograms or exemplars.
func (w *remoteWriter) general(r *http.Request, body []byte, mt remoteapi.WriteMessageType, maxT int64) (remoteapi.WriteResponseStats, error) {
	var series []rwSeries
	var err error
	switch mt {
	case remoteapi.WriteV1MessageType:
		req := v1Pool.Get().(*prompb.WriteRequest)
		defer func() { req.Reset(); v1Pool.Put(req) }()
		if err := req.Unmarshal(body); err != nil {
			return remoteapi.WriteResponseStats{}, badRequest(fmt.Errorf("decode remote write 1.0 protobuf: %w", err))
		}
		series, err = decodeV1(req, maxT)
	default:
		req := v2Pool.Get().(*writev2.Request)
		defer func() { req.Reset(); v2Pool.Put(req) }()
		if err := req.Unmarshal(body); err != nil {
			return remoteapi.WriteResponseStats{}, badRequest(fmt.Errorf("decode remote write 2.0 protobuf: %w", err))
		}
		series, err = decodeV2(req, maxT)
	}
	if err != nil {
		return remoteapi.WriteResponseStats{}, badRequest(err)
	}
	return w.append(r, series)
}

// append writes all series in one transaction; any refused sample rolls the
// whole request back.
func (w *remoteWriter) append(r *http.Request, series []rwSeries) (stats remoteapi.WriteResponseStats, err error) {
	app := w.in.db.Appender(r.Context())
	defer func() {
		if err != nil {
			_ = app.Rollback()
		}
	}()
	for i := range series {
		s := &series[i]
		var ref storage.SeriesRef
		for _, smp := range s.samples {
			if ref, err = app.Append(ref, s.lset, smp.Timestamp, smp.Value); err != nil {
				return stats, fmt.Errorf("series %s: %w", s.lset, err)
			}
		}
		for _, smp := range s.v2samples {
			if ref, err = app.Append(ref, s.lset, smp.Timestamp, smp.Value); err != nil {
				return stats, fmt.Errorf("series %s: %w", s.lset, err)
			}
		}
		stats.Samples += len(s.samples) + len(s.v2samples)
		for j, t := range s.htimes {
			var h *histogram.Histogram
			var fh *histogram.FloatHistogram
			if s.histograms[j] != nil {
				h = s.histograms[j]
			} else {
				fh = s.fhists[j]
			}
			if ref, err = app.AppendHistogram(ref, s.lset, t, h, fh); err != nil {
				return stats, fmt.Errorf("series %s: %w", s.lset, err)
			}
		}
		stats.Histograms += len(s.htimes)
		for _, e := range s.exemplars {
			// Exemplar storage is best effort, as in Prometheus: an out-of-order
			// exemplar does not fail the request.
			if _, err := app.AppendExemplar(ref, s.lset, e); err == nil {
				stats.Exemplars++
			}
		}
	}
	if err = app.Commit(); err != nil {
		return stats, fmt.Errorf("commit: %w", err)
	}
	return stats, nil
}

func isSampleRefusal(err error) bool {
	var he histogram.Error
	return errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrOutOfBounds) ||
		errors.Is(err, storage.ErrDuplicateSampleForTimestamp) || errors.Is(err, storage.ErrTooOldSample) ||
		errors.As(err, &he)
}

func decodeV1(req *prompb.WriteRequest, maxT int64) ([]rwSeries, error) {
	out := make([]rwSeries, len(req.Timeseries))
	b := labels.NewScratchBuilder(16)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s := &out[i]
		b.Reset()
		for _, l := range ts.Labels {
			b.Add(l.Name, l.Value)
		}
		b.Sort()
		s.lset = b.Labels()
		if err := validateSeriesLabels(s.lset); err != nil {
			return nil, fmt.Errorf("timeseries[%d]: %w", i, err)
		}
		for _, smp := range ts.Samples {
			if err := checkTime(smp.Timestamp, maxT); err != nil {
				return nil, fmt.Errorf("timeseries[%d] %s: %w", i, s.lset, err)
			}
		}
		s.samples = ts.Samples
		for _, h := range ts.Histograms {
			if err := checkTime(h.Timestamp, maxT); err != nil {
				return nil, fmt.Errorf("timeseries[%d] %s: %w", i, s.lset, err)
			}
			if err := addHistogram(s, h.Timestamp, h.IsFloatHistogram(), h.ToIntHistogram, h.ToFloatHistogram); err != nil {
				return nil, fmt.Errorf("timeseries[%d] %s: %w", i, s.lset, err)
			}
		}
		for _, e := range ts.Exemplars {
			s.exemplars = append(s.exemplars, e.ToExemplar(&b, nil))
		}
	}
	return out, nil
}

func decodeV2(req *writev2.Request, maxT int64) ([]rwSeries, error) {
	out := make([]rwSeries, len(req.Timeseries))
	b := labels.NewScratchBuilder(16)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s := &out[i]
		lset, err := v2Labels(&b, ts.LabelsRefs, req.Symbols)
		if err != nil {
			return nil, fmt.Errorf("timeseries[%d]: %w", i, err)
		}
		s.lset = lset
		if err := validateSeriesLabels(s.lset); err != nil {
			return nil, fmt.Errorf("timeseries[%d]: %w", i, err)
		}
		for _, smp := range ts.Samples {
			if err := checkTime(smp.Timestamp, maxT); err != nil {
				return nil, fmt.Errorf("timeseries[%d] %s: %w", i, s.lset, err)
			}
		}
		s.v2samples = ts.Samples
		for _, h := range ts.Histograms {
			if err := checkTime(h.Timestamp, maxT); err != nil {
				return nil, fmt.Errorf("timeseries[%d] %s: %w", i, s.lset, err)
			}
			if err := addHistogram(s, h.Timestamp, h.IsFloatHistogram(), h.ToIntHistogram, h.ToFloatHistogram); err != nil {
				return nil, fmt.Errorf("timeseries[%d] %s: %w", i, s.lset, err)
			}
		}
		for j, e := range ts.Exemplars {
			ex, err := e.ToExemplar(&b, req.Symbols)
			if err != nil {
				return nil, fmt.Errorf("timeseries[%d] exemplar[%d]: %w", i, j, err)
			}
			s.exemplars = append(s.exemplars, ex)
		}
	}
	return out, nil
}

// v2Labels resolves a series' label references against the symbol table.
// Senders must sort labels; they are sorted here anyway, since an unsorted
// set would corrupt the TSDB's index.
func v2Labels(b *labels.ScratchBuilder, refs []uint32, symbols []string) (labels.Labels, error) {
	if len(refs)%2 != 0 {
		return labels.EmptyLabels(), fmt.Errorf("odd number of label references (%d)", len(refs))
	}
	b.Reset()
	for i := 0; i < len(refs); i += 2 {
		n, v := refs[i], refs[i+1]
		if int(n) >= len(symbols) || int(v) >= len(symbols) {
			return labels.EmptyLabels(), fmt.Errorf("label reference %d or %d outside the symbol table of %d", n, v, len(symbols))
		}
		b.Add(symbols[n], symbols[v])
	}
	b.Sort()
	return b.Labels(), nil
}

func addHistogram(s *rwSeries, t int64, isFloat bool, toInt func() *histogram.Histogram, toFloat func() *histogram.FloatHistogram) error {
	if isFloat {
		fh := toFloat()
		if err := fh.Validate(); err != nil {
			return fmt.Errorf("invalid float histogram: %w", err)
		}
		s.histograms = append(s.histograms, nil)
		s.fhists = append(s.fhists, fh)
	} else {
		h := toInt()
		if err := h.Validate(); err != nil {
			return fmt.Errorf("invalid histogram: %w", err)
		}
		s.histograms = append(s.histograms, h)
		s.fhists = append(s.fhists, nil)
	}
	s.htimes = append(s.htimes, t)
	return nil
}

func checkTime(t, maxT int64) error {
	if t > maxT {
		return fmt.Errorf("sample timestamp %s is too far in the future: check the sender's clock",
			time.UnixMilli(t).UTC().Format(time.RFC3339))
	}
	return nil
}

// validateSeriesLabels enforces what a series needs: a metric name, non-empty
// UTF-8 label names (Prometheus 3's rules), UTF-8 values, no name twice.
func validateSeriesLabels(ls labels.Labels) error {
	if ls.IsEmpty() {
		return errors.New("series has no labels")
	}
	if ls.Get(model.MetricNameLabel) == "" {
		return errors.New("series has no metric name (__name__ label)")
	}
	var err error
	ls.Range(func(l labels.Label) {
		if err != nil {
			return
		}
		switch {
		case l.Name == "" || !utf8.ValidString(l.Name):
			err = fmt.Errorf("label name %q is not valid: must be non-empty UTF-8", l.Name)
		case !utf8.ValidString(l.Value):
			err = fmt.Errorf("label %q has a value that is not valid UTF-8", l.Name)
		}
	})
	if err != nil {
		return err
	}
	if name, dup := ls.HasDuplicateLabelNames(); dup {
		return fmt.Errorf("label name %q appears twice", name)
	}
	return nil
}
