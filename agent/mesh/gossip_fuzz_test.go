package mesh

import (
	"context"

	"github.com/hashicorp/memberlist"
	"testing"
)

// FuzzGossipMessages feeds arbitrary bytes to everything that reads the
// network after memberlist decrypted it: gossip messages, push/pull
// states and digests. Nothing may panic, and what is not a valid message
// must be counted, not stored.
func FuzzGossipMessages(f *testing.F) {
	good, _ := sampleStatus().Encode(MaxStatusBytes)
	f.Add(envelope("web2", good))
	f.Add(stateMessage("web2", [][]byte{good, good}))
	f.Add([]byte{msgDigest, 2, 'w', '2', 1, 4, 'w', 'e', 'b', '1', 5})
	f.Add([]byte{msgState, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := New(testOptions(), func(context.Context) Status { return Status{} })
		if err != nil {
			t.Fatal(err)
		}
		m.queue, m.relay = newQueueForTest(), newQueueForTest()
		d := (*delegate)(m)
		d.NotifyMsg(b)
		d.MergeRemoteState(b, false)
		d.MergeRemoteState(b, true)
		stored := len(m.View().Hosts)
		if stored > 0 && m.c.received.Get() == 0 {
			t.Fatalf("%d hosts stored without a status received", stored)
		}
	})
}

func newQueueForTest() *memberlist.TransmitLimitedQueue {
	return &memberlist.TransmitLimitedQueue{NumNodes: func() int { return 3 }, RetransmitMult: 3}
}
