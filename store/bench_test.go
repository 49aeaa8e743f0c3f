package store_test

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// benchSize is the number of links (and findings) per benchmark scan;
// SHAREDRIFT_BENCH_LINKS overrides the default of one million.
func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("SHAREDRIFT_BENCH_LINKS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// benchOptions logs the store's per-step timings to stderr when
// SHAREDRIFT_BENCH_LOG is set, to see where a slow benchmark spends.
func benchOptions() store.Options {
	if os.Getenv("SHAREDRIFT_BENCH_LOG") == "" {
		return store.Options{}
	}
	return store.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// peakHeap samples the live heap while fn runs and returns its peak in MB.
func peakHeap(fn func()) float64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	return float64(peak.Load()) / (1 << 20)
}

func record(b *testing.B, s store.Store, in store.ScanInput) (store.Scan, time.Duration, float64) {
	b.Helper()
	var (
		sc  store.Scan
		err error
	)
	start := time.Now()
	mb := peakHeap(func() { sc, err = s.RecordScan(context.Background(), in) })
	if err != nil {
		b.Fatal(err)
	}
	return sc, time.Since(start), mb
}

// BenchmarkLinks persists a snapshot of benchSize links (first scan, every
// object written with COPY or multi-row inserts), then records the same
// tenant unchanged (no object written).
func BenchmarkLinks(b *testing.B) {
	n := benchSize()
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := be.open(b, benchOptions())
				snap := bigSnapshot(n, storetest.T0, false)
				runtime.GC()
				b.StartTimer()
				sc, d, mb := record(b, s, store.ScanInput{Snapshot: snap})
				b.ReportMetric(float64(sc.ObjectsWritten)/d.Seconds(), "first-rows/s")
				b.ReportMetric(d.Seconds(), "first-s")
				b.ReportMetric(mb, "first-peak-heap-MB")
				snap.CollectedAt = snap.CollectedAt.Add(time.Hour)
				sc, d, mb = record(b, s, store.ScanInput{Snapshot: snap})
				b.ReportMetric(float64(sc.ObjectsWritten), "rescan-rows-written")
				b.ReportMetric(d.Seconds(), "rescan-s")
				b.ReportMetric(mb, "rescan-peak-heap-MB")
				s.Close()
			}
		})
	}
}

// BenchmarkFindings upserts benchSize failing results into findings: first
// as new findings, then again as existing ones (last_seen moves).
func BenchmarkFindings(b *testing.B) {
	n := benchSize()
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := be.open(b, benchOptions())
				snap := storetest.Snapshot(storetest.T0)
				snap.Links = nil
				results := make([]tenant.Result, n)
				for j := range results {
					l := storetest.Link(strconv.Itoa(j), tenant.LinkScopeAnonymous)
					results[j] = tenant.Result{RuleID: storetest.RuleAnyoneLink, Section: tenant.SectionLinks, Outcome: tenant.Fail,
						Severity: tenant.SeverityHigh, ObjectKey: l.Key(), ObjectName: l.ItemPath, Expected: "no Anyone links", Actual: "anonymous"}
				}
				runtime.GC()
				b.StartTimer()
				sc, d, mb := record(b, s, store.ScanInput{Snapshot: snap, Results: results})
				if sc.FindingsNew != int64(n) {
					b.Fatalf("new findings = %d", sc.FindingsNew)
				}
				b.ReportMetric(d.Seconds(), "new-s")
				b.ReportMetric(mb, "new-peak-heap-MB")
				snap.CollectedAt = snap.CollectedAt.Add(time.Hour)
				sc, d, _ = record(b, s, store.ScanInput{Snapshot: snap, Results: results})
				if sc.FindingsOpen != int64(n) || sc.FindingsNew != 0 {
					b.Fatalf("open = %d new = %d", sc.FindingsOpen, sc.FindingsNew)
				}
				b.ReportMetric(d.Seconds(), "refresh-s")
				s.Close()
			}
		})
	}
}
