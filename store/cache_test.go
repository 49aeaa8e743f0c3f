package store_test

import (
	"context"
	"testing"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
)

// Recording a scan gives its connection a large page cache only for the
// time of the write: afterwards every pooled connection is back to the
// small one, so idle connections do not keep a large scan's memory.
func TestSQLiteScanCacheIsTemporary(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t, store.Options{})
	snap := storetest.Snapshot(storetest.T0)
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap)}); err != nil {
		t.Fatal(err)
	}
	// A failing scan (a nil snapshot fails before the transaction; a fenced
	// one without a lease fails inside it) also restores the cache.
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: storetest.Snapshot(storetest.T0), Fence: &store.Lease{Name: "x", Owner: "y"}}); err == nil {
		t.Fatal("fenced scan without a lease was recorded")
	}
	sizes, err := store.CacheSizes(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) < 2 {
		t.Fatalf("pool of %d connections", len(sizes))
	}
	for i, v := range sizes {
		if v != -2048 {
			t.Errorf("connection %d: cache_size %d, want -2048 (2 MiB)", i, v)
		}
	}
}
