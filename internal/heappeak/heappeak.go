// Package heappeak samples the live heap while a function runs, for
// benchmarks that report peak memory.
package heappeak

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Of runs fn and returns the highest heap in use sampled meanwhile (every
// 50 ms, and once at the end), in bytes. Benchmarks run with a low GOGC
// so that it stays close to the live heap.
func Of(fn func()) uint64 {
	var peak atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > peak.Load() {
			peak.Store(ms.HeapAlloc)
		}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	sample()
	return peak.Load()
}
