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
	base, _ := DecodeStatus(good)
	next := base
	next.Seq, next.Load1 = base.Seq+1, base.Load1+1
	nb, _ := next.Encode(MaxStatusBytes)
	f.Add(envelopeOf(msgDelta, "web2", encodeDelta(base, next, nb)))
	f.Add(envelopeOf(msgReply, "web2", good))
	f.Add(append(header(msgWant, "web2"), 4, 'w', 'e', 'b', '1', 5))
	f.Add(stateMessage("web3", [][]byte{encodeDelta(base, next, nb), good}))
	f.Add(envelopeOf(msgReply, "web3", encodeDelta(base, next, nb)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := New(testOptions(), func(context.Context) Status { return Status{} })
		if err != nil {
			t.Fatal(err)
		}
		m.queue, m.relay = newQueueForTest(), newQueueForTest()
		d := (*delegate)(m)
		d.NotifyMsg(b)
		// A delta on a host this node has: first the base, then b.
		d.NotifyMsg(envelope("web2", good))
		d.NotifyMsg(b)
		d.MergeRemoteState(b, false)
		d.MergeRemoteState(b, true)
		stored := len(m.View().Hosts)
		if stored > 1 && m.c.received.Get() < 2 {
			t.Fatalf("%d hosts stored with %d statuses received", stored, m.c.received.Get())
		}
	})
}

func newQueueForTest() *memberlist.TransmitLimitedQueue {
	return &memberlist.TransmitLimitedQueue{NumNodes: func() int { return 3 }, RetransmitMult: 3}
}
