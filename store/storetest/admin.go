package storetest

// Migrations, pruning and refused input.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

func testMigrations(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	cur, sup, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur != sup || sup < 1 {
		t.Fatalf("schema version %d, supported %d", cur, sup)
	}
	n, err := s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d, err %v", n, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Driver() == "" || s.Target() == "" {
		t.Error("empty driver or target")
	}
}

func testBadInput(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	if _, err := s.RecordScan(ctx, store.ScanInput{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("nil snapshot: %v", err)
	}
	snap := Snapshot(T0)
	snap.Tenant = ""
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no tenant: %v", err)
	}
	ts, _ := s.Tenants(ctx)
	eq(t, "nothing written", len(ts), 0)
	if _, err := s.Enqueue(ctx, store.OutboxMessage{Destination: "slack"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no idempotency key: %v", err)
	}
	if _, err := s.CreateRemediation(ctx, store.Remediation{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty remediation: %v", err)
	}
	if _, _, err := s.TryLease(ctx, "", "me", time.Second); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty lease name: %v", err)
	}
	// Duplicate object keys in one snapshot count once.
	dup := Snapshot(T0)
	dup.Links = append(dup.Links, dup.Links[0])
	sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: dup})
	if err != nil {
		t.Fatalf("duplicate keys: %v", err)
	}
	eq(t, "objects written with a duplicate", sc.ObjectsWritten, int64(ObjectCount))
}

func testPrune(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	day := 24 * time.Hour
	record(t, s, Snapshot(T0))
	s1 := Snapshot(T0.Add(day))
	s1.Links[0].Scope = tenant.LinkScopeOrganization // a version superseded later
	s1.Links[2].Scope = tenant.LinkScopeUsers        // link 3 finding resolved on day 1
	record(t, s, s1)
	s2 := Snapshot(T0.Add(10 * day))
	s2.Links[0].Scope = tenant.LinkScopeOrganization
	s2.Links[2].Scope = tenant.LinkScopeUsers
	s2.Guests = s2.Guests[1:] // removed on day 10
	last := record(t, s, s2)
	s.Enqueue(ctx, store.OutboxMessage{IdempotencyKey: "old", Destination: "slack", Tenant: Tenant, Payload: []byte("{}")})
	old, _ := s.ClaimDue(ctx, "w", 1, time.Minute)
	s.MarkSent(ctx, old[0].ID, "")

	c.Advance(5 * day)
	// A dry run counts exactly what the real prune then deletes, and
	// deletes nothing.
	dry, err := s.Prune(ctx, store.PruneOptions{Before: T0.Add(5 * day), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Scans(ctx, store.ScanFilter{Tenant: Tenant}); len(all) != 3 {
		t.Fatalf("dry run left %d scans, want all 3", len(all))
	}
	// Another tenant's history is not touched by a prune of this one.
	other := Snapshot(T0)
	other.Tenant, other.TenantID = "other.example", "00000000-0000-0000-0000-0000000000ff"
	record(t, s, other)
	other.CollectedAt = T0.Add(day)
	record(t, s, other)
	if _, err := s.Prune(ctx, store.PruneOptions{Before: T0.Add(5 * day), Tenant: "nobody.example"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("prune an unknown tenant: %v, want ErrNotFound", err)
	}
	if _, err := s.Prune(ctx, store.PruneOptions{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("prune without a cutoff: %v, want ErrInvalid", err)
	}
	st, err := s.Prune(ctx, store.PruneOptions{Before: T0.Add(5 * day), Tenant: Tenant})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "dry run counts what prune deletes", dry, st)
	eq(t, "scans pruned", st.Scans, int64(2))
	eq(t, "resolved findings pruned", st.Findings, int64(1))
	eq(t, "outbox pruned", st.Outbox, int64(1))
	if st.ObjectVersions < 1 {
		t.Errorf("no object versions pruned: %+v", st)
	}
	scans, _ := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	if len(scans) != 1 || scans[0].ID != last.ID {
		t.Fatalf("kept scans %+v", scans)
	}
	if kept, _ := s.Scans(ctx, store.ScanFilter{Tenant: "other.example"}); len(kept) != 2 {
		t.Errorf("a prune of %s left %d scans of other.example, want 2", Tenant, len(kept))
	}
	// The current state survived: an identical scan writes nothing and
	// changes nothing.
	s3 := Snapshot(T0.Add(11 * day))
	s3.Links, s3.Guests = s2.Links, s2.Guests
	sc := record(t, s, s3)
	eq(t, "objects written after prune", sc.ObjectsWritten, int64(0))
	eq(t, "changes after prune", sc.Changes, int64(0))
	// Everything is pruned but the latest scan when the cutoff is later.
	if _, err := s.Prune(ctx, store.PruneOptions{Before: T0.Add(100 * day)}); err != nil {
		t.Fatal(err)
	}
	scans, _ = s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	eq(t, "latest scan always kept", len(scans), 1)
	n := 0
	s.CurrentObjects(ctx, Tenant, tenant.SectionLinks, func(drift.Object) error { n++; return nil })
	eq(t, "current links kept", n, 3)
}
