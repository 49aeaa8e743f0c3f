package store_test

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/internal/heappeak"
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
func peakHeap(fn func()) float64 { return float64(heappeak.Of(fn)) / (1 << 20) }

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

// scopedBenchDrive names drive d of the scoped benchmark's tenant.
func scopedBenchDrive(d int) string { return "b!drive" + strconv.Itoa(d) }

// scopedBenchSnapshot is a tenant of n links on drives of perDrive links
// each, one in three an Anyone link (a failing result, as in the s2
// benchmark's tenant: about a third of its links are open findings).
func scopedBenchSnapshot(n, perDrive int, at time.Time) *tenant.Snapshot {
	s := storetest.Snapshot(at)
	s.Links = make([]tenant.Link, n)
	for i := range s.Links {
		scope := tenant.LinkScopeUsers
		if i%3 == 0 {
			scope = tenant.LinkScopeAnonymous
		}
		l := storetest.Link(strconv.Itoa(i), scope)
		l.DriveID = scopedBenchDrive(i / perDrive)
		s.Links[i] = l
	}
	return s
}

// BenchmarkScopedRecord records what a change notification for one drive
// gives on a tenant of benchSize stored links (drives of 100 links, as
// s2's 1M links on 10k drives), two ways: scoped (the drive's links only,
// paired, removed and resolved within its key range) and whole (every
// stored link merged with the drive's changes, as before scoped
// sections). Each iteration changes one link of the drive. It reports the
// record's seconds, the peak of what recording adds to the live heap
// (the benchmark's own snapshot of the tenant is not counted), and the
// seconds to read the
// stored links the links source merges the changes onto (merge-read-s)
// and to read the scan's transitions, as notification planning does
// after every scan (transitions-s); -benchmem gives the allocations of
// the record.
func BenchmarkScopedRecord(b *testing.B) {
	const perDrive = 100
	n := benchSize()
	drive := scopedBenchDrive(n / perDrive / 2)
	prefix, _ := tenant.DriveKeyPrefix(drive)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b, benchOptions())
			defer s.Close()
			full := scopedBenchSnapshot(n, perDrive, storetest.T0)
			if _, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: full, Results: storetest.Evaluate(full)}); err != nil {
				b.Fatal(err)
			}
			var first int
			for first < len(full.Links) && full.Links[first].DriveID != drive {
				first++
			}
			at := storetest.T0
			for _, mode := range []string{"scoped", "whole"} {
				b.Run(mode, func(b *testing.B) {
					b.ReportAllocs()
					var secs, peak, merge, trans float64
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						at = at.Add(time.Minute)
						// One link of the drive changes its scope each time.
						l := &full.Links[first+i%perDrive]
						if l.Scope == tenant.LinkScopeAnonymous {
							l.Scope = tenant.LinkScopeUsers
						} else {
							l.Scope = tenant.LinkScopeAnonymous
						}
						snap := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: full.Tenant, CollectedAt: at, Sites: full.Sites,
							Status: map[tenant.Section]tenant.SectionStatus{tenant.SectionSites: {State: tenant.StateComplete}, tenant.SectionLinks: {State: tenant.StateComplete}}}
						start := time.Now()
						read := 0
						count := func(drift.Object) error { read++; return nil }
						var err error
						if mode == "scoped" {
							snap.Links = full.Links[first : first+perDrive]
							snap.SetScope(tenant.SectionLinks, []string{prefix})
							err = s.CurrentObjectsIn(context.Background(), storetest.Tenant, tenant.SectionLinks, []string{prefix}, count)
						} else {
							snap.Links = full.Links
							err = s.CurrentObjects(context.Background(), storetest.Tenant, tenant.SectionLinks, count)
						}
						if err != nil {
							b.Fatal(err)
						}
						merge += time.Since(start).Seconds()
						results := storetest.Evaluate(snap)
						runtime.GC()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms) // the tenant's snapshot is live throughout: count what recording adds
						b.StartTimer()
						sc, d, mb := record(b, s, store.ScanInput{Snapshot: snap, Results: results})
						b.StopTimer()
						mb -= float64(ms.HeapAlloc) / (1 << 20)
						if sc.FindingsNew+sc.FindingsReopened+sc.FindingsResolved != 1 || sc.Changes != 1 {
							b.Fatalf("%s: new %d, reopened %d, resolved %d, changes %d; want one finding and one change", mode,
								sc.FindingsNew, sc.FindingsReopened, sc.FindingsResolved, sc.Changes)
						}
						secs += d.Seconds()
						peak = max(peak, mb)
						// What notification planning reads after the scan.
						start = time.Now()
						trs, err := s.Transitions(context.Background(), sc.ID)
						if err != nil || len(trs) != 1 {
							b.Fatalf("%s: transitions %d, %v; want the one finding", mode, len(trs), err)
						}
						trans += time.Since(start).Seconds()
						b.StartTimer()
					}
					b.ReportMetric(secs/float64(b.N), "record-s")
					b.ReportMetric(merge/float64(b.N), "merge-read-s")
					b.ReportMetric(trans/float64(b.N), "transitions-s")
					b.ReportMetric(peak, "heap-added-MB")
				})
			}
		})
	}
}

// BenchmarkFindingMeta reads the state of benchSize stored findings as a
// whole scan's record merges them (32 bytes each): held-MB is what the
// slice holds at the end, alloc-MB what reading it allocated in all
// (growing a slice by appending allocates each larger array anew, the
// old one live beside the new while it is copied).
func BenchmarkFindingMeta(b *testing.B) {
	n := benchSize()
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b, benchOptions())
			snap := storetest.Snapshot(storetest.T0)
			snap.Links = nil
			func() { // the results are garbage once recorded
				results := make([]tenant.Result, n)
				for j := range results {
					l := storetest.Link(strconv.Itoa(j), tenant.LinkScopeAnonymous)
					results[j] = tenant.Result{RuleID: storetest.RuleAnyoneLink, Section: tenant.SectionLinks, Outcome: tenant.Fail,
						Severity: tenant.SeverityHigh, ObjectKey: l.Key(), Expected: "no Anyone links", Actual: "anonymous"}
				}
				if _, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: results}); err != nil {
					b.Fatal(err)
				}
			}()
			runtime.GC()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				got, held, err := store.FindingMeta(context.Background(), s, snap.Tenant)
				runtime.ReadMemStats(&after)
				if err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatalf("read %d findings, stored %d", got, n)
				}
				b.ReportMetric(float64(held)/(1<<20), "held-MB")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "alloc-MB")
			}
		})
	}
}

// BenchmarkLinksSpooled records benchSize spooled links (first scan, then
// the same again), written a chunk of stored objects at a time ("chunks")
// or paired with the whole stored section at once ("whole", the chunk made
// larger than the section). The collector runs at GOGC=10 meanwhile, so
// that the peak heap sampled is close to the peak live heap.
func BenchmarkLinksSpooled(b *testing.B) {
	n := benchSize()
	for _, mode := range []string{"chunks", "whole"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "whole" {
				store.SetPairChunk(b, n+1)
			}
			defer debug.SetGCPercent(debug.SetGCPercent(10))
			spooled := func(at time.Time) *tenant.Snapshot {
				s := storetest.Snapshot(at)
				s.Links = nil
				sp := tenant.NewLinkSpool(b.TempDir(), 0)
				for j := 0; j < n; j++ {
					l := storetest.Link(strconv.Itoa(j), tenant.LinkScopeUsers)
					if err := sp.Add(&l); err != nil {
						b.Fatal(err)
					}
				}
				s.SetLinks(sp)
				return s
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := openSQLite(b, benchOptions())
				snap := spooled(storetest.T0)
				runtime.GC()
				b.StartTimer()
				_, d, mb := record(b, s, store.ScanInput{Snapshot: snap})
				b.ReportMetric(d.Seconds(), "first-s")
				b.ReportMetric(mb, "first-peak-heap-MB")
				snap.Close()
				snap = spooled(storetest.T0.Add(time.Hour))
				runtime.GC()
				sc, d, mb := record(b, s, store.ScanInput{Snapshot: snap})
				if sc.ObjectsWritten != 0 {
					b.Fatalf("unchanged rescan wrote %d objects", sc.ObjectsWritten)
				}
				b.ReportMetric(d.Seconds(), "rescan-s")
				b.ReportMetric(mb, "rescan-peak-heap-MB")
				snap.Close()
				s.Close()
			}
		})
	}
}
