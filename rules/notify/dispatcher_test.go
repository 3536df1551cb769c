package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// handlerTransport serves requests in memory through a handler: inside a
// synctest bubble real sockets would keep the fake clock from moving.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// attempts collects what done reports.
type attempts struct {
	mu   sync.Mutex
	list []Attempt
}

func (a *attempts) done(at Attempt) {
	a.mu.Lock()
	a.list = append(a.list, at)
	a.mu.Unlock()
}

func (a *attempts) get() []Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Attempt(nil), a.list...)
}

// notifierFunc adapts a function to Notifier.
type notifierFunc func(ctx context.Context, a Alert) (bool, error)

func (f notifierFunc) Notify(ctx context.Context, a Alert) (bool, error) { return f(ctx, a) }

func TestDispatcherRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var calls []time.Duration
		start := time.Now()
		fails := 3
		w, err := NewWebhook(WebhookConfig{URL: "http://receiver.test/hook", Secret: "s3cr3t"})
		if err != nil {
			t.Fatal(err)
		}
		w.client.Transport = handlerTransport{http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, time.Since(start))
			if fails > 0 {
				fails--
				rw.WriteHeader(http.StatusInternalServerError)
				return
			}
			rw.WriteHeader(http.StatusNoContent)
		})}
		d := NewDispatcher(nil, DispatcherOptions{})
		defer d.Close()
		var got attempts
		a := testAlert()
		d.Send("hook", w, a, got.done)
		time.Sleep(time.Hour)
		synctest.Wait()

		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
		mu.Lock()
		if fmt.Sprint(calls) != fmt.Sprint(want) {
			t.Fatalf("requests at %v, want %v", calls, want)
		}
		mu.Unlock()
		list := got.get()
		if len(list) != 4 {
			t.Fatalf("%d attempts reported: %+v", len(list), list)
		}
		body, _ := w.Payload(a)
		for i, at := range list {
			if at.Module != "hook" || at.AlertID != a.ID || at.Try != i+1 || at.Time.Sub(start) != want[i] || !bytes.Equal(at.Payload, body) {
				t.Fatalf("attempt %d: %+v", i, at)
			}
			last := i == 3
			if last != at.Final || last == at.Retry || last != (at.Err == "") {
				t.Fatalf("attempt %d: final %v retry %v err %q", i, at.Final, at.Retry, at.Err)
			}
			if !last && !strings.Contains(at.Err, "500") {
				t.Fatalf("attempt %d: error %q", i, at.Err)
			}
			if bytes.Contains(at.Payload, []byte("s3cr3t")) || strings.Contains(at.Err, "s3cr3t") {
				t.Fatalf("attempt %d shows the secret", i)
			}
		}
	})
}

func TestDispatcherGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var calls []time.Duration
		always500 := notifierFunc(func(context.Context, Alert) (bool, error) {
			calls = append(calls, time.Since(start))
			return true, errors.New("500")
		})
		d := NewDispatcher(nil, DispatcherOptions{MaxAttempts: 5, Backoff: time.Second, MaxBackoff: 3 * time.Second})
		defer d.Close()
		var got attempts
		d.Send("m", always500, testAlert(), got.done)
		time.Sleep(time.Hour)
		synctest.Wait()
		if want := "[0s 1s 3s 6s 9s]"; fmt.Sprint(calls) != want {
			t.Fatalf("tries at %v, want %s (backoff capped at 3s)", calls, want)
		}
		list := got.get()
		if last := list[len(list)-1]; len(list) != 5 || !last.Final || last.Retry {
			t.Fatalf("attempts %+v", list)
		}

		// An error not worth retrying is tried once.
		calls = nil
		start = time.Now()
		var once attempts
		d.Send("m", notifierFunc(func(context.Context, Alert) (bool, error) {
			calls = append(calls, time.Since(start))
			return false, errors.New("404")
		}), testAlert(), once.done)
		time.Sleep(time.Hour)
		synctest.Wait()
		if l := once.get(); len(calls) != 1 || len(l) != 1 || !l[0].Final || l[0].Retry || l[0].Err != "404" {
			t.Fatalf("not retryable: calls %v attempts %+v", calls, l)
		}
	})
}

// TestDispatcherHangingModule: an SMTP server that hangs holds only its
// own module; the webhook's alert goes at once; Close gives up on the
// hanging one after CloseTimeout.
func TestDispatcherHangingModule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		hang := notifierFunc(func(ctx context.Context, _ Alert) (bool, error) {
			<-ctx.Done()
			return true, ctx.Err()
		})
		d := NewDispatcher(nil, DispatcherOptions{CloseTimeout: 10 * time.Second})
		var slow, fast attempts
		for range 3 {
			d.Send("email", hang, testAlert(), slow.done)
		}
		synctest.Wait()
		d.Send("hook", notifierFunc(func(context.Context, Alert) (bool, error) { return false, nil }), testAlert(), fast.done)
		synctest.Wait()
		if l := fast.get(); len(l) != 1 || l[0].Err != "" || time.Since(start) != 0 {
			t.Fatalf("the webhook waited for the hanging module: %+v after %s", l, time.Since(start))
		}
		if l := slow.get(); len(l) != 0 {
			t.Fatalf("the hanging module reported %+v", l)
		}
		d.Close()
		if took := time.Since(start); took != 10*time.Second {
			t.Fatalf("Close took %s, want the 10s CloseTimeout", took)
		}
		l := slow.get()
		if len(l) != 3 {
			t.Fatalf("hanging module: %+v", l)
		}
		for i, at := range l {
			if !at.Final || at.Retry {
				t.Fatalf("attempt %d after Close: %+v", i, at)
			}
		}
		if l[0].Try != 1 || !strings.Contains(l[0].Err, "context canceled") || l[1].Err != ErrClosed || l[1].Try != 0 {
			t.Fatalf("after Close: %+v", l)
		}
		// Sending after Close is refused at once.
		var late attempts
		d.Send("hook", hang, testAlert(), late.done)
		if l := late.get(); len(l) != 1 || l[0].Err != ErrClosed {
			t.Fatalf("after Close: %+v", l)
		}
		d.Close() // twice is fine
	})
}

func TestDispatcherQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var sent []string
		n := notifierFunc(func(ctx context.Context, a Alert) (bool, error) {
			<-release
			mu.Lock()
			sent = append(sent, a.ID)
			mu.Unlock()
			return false, nil
		})
		d := NewDispatcher(nil, DispatcherOptions{QueueSize: 2})
		defer d.Close()
		var got attempts
		send := func(id string) {
			a := testAlert()
			a.ID = id
			d.Send("m", n, a, got.done)
		}
		send("a1")
		synctest.Wait() // a1 is being sent; the queue is empty
		send("a2")
		send("a3")
		send("a4") // drops a2, the oldest waiting
		if l := got.get(); len(l) != 1 || l[0].AlertID != "a2" || l[0].Err != ErrQueueFull || !l[0].Final {
			t.Fatalf("drop: %+v", l)
		}
		close(release)
		synctest.Wait()
		if fmt.Sprint(sent) != "[a1 a3 a4]" {
			t.Fatalf("sent %v, want [a1 a3 a4] in order", sent)
		}
	})
}

// TestDispatcherDrainsOnClose: Close waits for queued alerts that can be
// sent within CloseTimeout.
func TestDispatcherDrainsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got attempts
		d := NewDispatcher(nil, DispatcherOptions{})
		slow := notifierFunc(func(ctx context.Context, _ Alert) (bool, error) {
			time.Sleep(time.Second)
			return false, nil
		})
		for range 5 {
			d.Send("m", slow, testAlert(), got.done)
		}
		start := time.Now()
		d.Close()
		if took, l := time.Since(start), got.get(); took != 5*time.Second || len(l) != 5 || l[4].Err != "" {
			t.Fatalf("Close after %s with %+v", took, l)
		}
	})
}

func TestDispatcherMetrics(t *testing.T) {
	d := NewDispatcher(nil, DispatcherOptions{MaxAttempts: 2, Backoff: time.Millisecond})
	var got attempts
	d.Send("metrics-test", notifierFunc(func(context.Context, Alert) (bool, error) { return true, errors.New("503") }), testAlert(), got.done)
	d.Send("metrics-test", notifierFunc(func(context.Context, Alert) (bool, error) { return false, nil }), testAlert(), got.done)
	d.Close()
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	for _, want := range []string{
		`prophasis_notify_attempts_total{module="metrics-test",result="retry"} 1`,
		`prophasis_notify_attempts_total{module="metrics-test",result="failed"} 1`,
		`prophasis_notify_attempts_total{module="metrics-test",result="ok"} 1`,
		`prophasis_notify_duration_seconds_count{module="metrics-test"} 3`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}
