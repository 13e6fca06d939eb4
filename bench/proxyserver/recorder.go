package main

import (
	"sync"
	"time"

	"github.com/devcluster/devcluster/proxy"
)

// requestCounter is the OnRequest hook of -onrequest: at least the work the
// dashboard's recorder does per request (a lock-free lookup by instance, a
// mutex per instance around its counters, a mutex around a ring of recent
// requests), so that a benchmark measures what per-request accounting costs
// the proxy (issue 12: it must stay within noise).
type requestCounter struct {
	insts map[string]*instCount // filled before serving, then only read
	other instCount             // requests no instance answered

	mu     sync.Mutex
	recent [128]proxy.RequestInfo
	next   int
}

type instCount struct {
	mu       sync.Mutex
	total    uint64
	classes  [6]uint64
	duration time.Duration
	bytesOut int64
}

func newRequestCounter(ids []string) *requestCounter {
	rc := &requestCounter{insts: map[string]*instCount{}}
	for _, id := range ids {
		rc.insts[id] = &instCount{}
	}
	return rc
}

func (rc *requestCounter) record(ri proxy.RequestInfo) {
	ic := rc.insts[ri.Instance]
	if ic == nil {
		ic = &rc.other
	}
	ic.mu.Lock()
	ic.total++
	ic.classes[min(max(ri.Status/100, 0), 5)]++
	ic.duration += ri.Duration
	ic.bytesOut += ri.BytesOut
	ic.mu.Unlock()
	rc.mu.Lock()
	rc.recent[rc.next] = ri
	rc.next = (rc.next + 1) % len(rc.recent)
	rc.mu.Unlock()
}

// total is every request heard of.
func (rc *requestCounter) total() uint64 {
	var n uint64
	for _, ic := range append([]*instCount{&rc.other}, values(rc.insts)...) {
		ic.mu.Lock()
		n += ic.total
		ic.mu.Unlock()
	}
	return n
}

func values(m map[string]*instCount) []*instCount {
	out := make([]*instCount, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
