package runner

import "container/heap"

// queued is a job with its submission order, which breaks ties between
// equal slots (first come, first run).
type queued struct {
	job Job
	seq uint64
}

// jobQueue is a min-heap of jobs by slot, then submission order. It is not
// safe for concurrent use; Runner guards it.
type jobQueue []queued

func (q jobQueue) Len() int { return len(q) }
func (q jobQueue) Less(i, j int) bool {
	if c := q[i].job.Slot.Compare(q[j].job.Slot); c != 0 {
		return c < 0
	}
	return q[i].seq < q[j].seq
}
func (q jobQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *jobQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *jobQueue) Pop() any {
	old := *q
	n := len(old)
	x := old[n-1]
	old[n-1] = queued{} // drop references to the job's task
	*q = old[:n-1]
	return x
}

var _ heap.Interface = (*jobQueue)(nil)

func heapPush(q *jobQueue, x queued) { heap.Push(q, x) }
func heapPop(q *jobQueue) queued     { return heap.Pop(q).(queued) }
