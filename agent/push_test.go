package agent

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/client"
	"github.com/prophasis/prophasis/agent/spool"
	"github.com/prophasis/prophasis/wire"
)

// TestPushSurvivesAFailingServer: a server that answers 500, then garbage,
// then refuses the credential, then works: the agent keeps its results
// through all of it, delivers each exactly once in order, and trims the
// spool only after the acknowledgement.
func TestPushSurvivesAFailingServer(t *testing.T) {
	var mu sync.Mutex
	var got []int64
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch calls {
		case 1:
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case 2:
			w.Write([]byte("\x00\xffnot json"))
			return
		case 3:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"status":"error","errorType":"unauthorized","error":"revoked"}`))
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "not gzip", 400)
			return
		}
		var b wire.Batch
		if err := json.NewDecoder(zr).Decode(&b); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
		for _, r := range b.Results {
			got = append(got, r.Timestamp)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": wire.BatchResponse{Accepted: len(b.Results)}})
	}))
	defer srv.Close()

	logger := slog.New(slog.DiscardHandler)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"), spool.Options{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	cl, err := client.New(client.Options{Server: srv.URL, AllowHTTP: true}, "pha_1_x")
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{host: "web1", logger: logger, cl: cl, sp: sp, pushBatch: 3, appended: make(chan struct{}, 1)}
	for i := int64(1); i <= 7; i++ {
		a.spool(wire.Result{Host: "web1", Plugin: "p", Timestamp: i})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.push(ctx); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 7 && sp.Len() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the server has %v and the spool %d results", got, sp.Len())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for i, ts := range got {
		if ts != int64(i+1) {
			t.Fatalf("delivered %v, want 1..7 once each, in order", got)
		}
	}
	if len(got) != 7 {
		t.Fatalf("delivered %v, want 7 results", got)
	}
}
