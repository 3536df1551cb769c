package agentapi

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prophasis/prophasis/store"
)

type logSink struct {
	mu      sync.Mutex
	entries []store.LogEntry
}

func (s *logSink) add(e store.LogEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
}

func (s *logSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.entries {
		out = append(out, e.Level+" "+e.Host+": "+e.Message)
	}
	return out
}

// TestPresence: an agent that keeps a plan long poll open, or pushes often
// enough, is never logged as disconnected; one that goes quiet is, once,
// when the grace has passed; its next request logs the reconnection with
// the time it was away.
func TestPresence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink logSink
		p := newPresence(2*time.Minute, sink.add)
		defer p.stop()

		// web1 long-polls for ten minutes: 55 s polls back to back.
		for range 11 {
			done := p.poll("web1")
			time.Sleep(55 * time.Second)
			done()
		}
		// web2 only pushes, every 90 s.
		for range 7 {
			p.touch("web2")
			time.Sleep(90 * time.Second)
		}
		synctest.Wait()
		if got := sink.messages(); len(got) != 1 || !strings.HasPrefix(got[0], "warn web1: agent web1 disconnected: no request for 2m0s") {
			// web1 stopped polling 10.5 min ago: it is disconnected;
			// web2's last push was 90 s ago: not yet.
			t.Fatalf("after web1's polls and web2's pushes: %q", got)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if got := sink.messages(); len(got) != 2 || !strings.HasPrefix(got[1], "warn web2: agent web2 disconnected: no request for 2m0s") {
			t.Fatalf("web2 silent for 2 min: %q", got)
		}
		// An hour later web1 is back: one line, with how long it was away
		// (since its last poll ended at 00:10:05; now 01:21:06).
		time.Sleep(time.Hour)
		p.touch("web1")
		p.touch("web1")
		synctest.Wait()
		got := sink.messages()
		if len(got) != 3 || got[2] != "info web1: agent web1 reconnected after 1h11m1s away" {
			t.Fatalf("web1 back: %q", got)
		}
		// Quiet for the grace again: disconnected again, once.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := sink.messages(); len(got) != 4 || !strings.Contains(got[3], "agent web1 disconnected") {
			t.Fatalf("web1 quiet again: %q", got)
		}
	})
}

// TestEnrolmentInTheSystemLog: enrolling writes who, from where and what
// version to the system log.
func TestEnrolmentInTheSystemLog(t *testing.T) {
	a := newTestAPI(t, nil)
	enr, err := a.st.CreateEnrollment(t.Context(), "web1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if rec := a.do("POST", "/agent/v1/enroll", enr.Token, `{"host":"web1","version":"0.1","os":"linux","arch":"amd64"}`); rec.Code != 200 {
		t.Fatalf("enrol: %d %s", rec.Code, rec.Body)
	}
	logs, err := a.st.SystemLog(t.Context(), store.LogQuery{Component: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Host != "web1" || !strings.HasPrefix(logs[0].Message, "agent web1 enrolled from ") || !strings.HasSuffix(logs[0].Message, "(version 0.1, linux/amd64)") {
		t.Fatalf("system log after an enrolment: %+v", logs)
	}
}
