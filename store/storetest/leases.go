package storetest

// Delta tokens, leases and the fenced scan.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
)

func testDeltaTokens(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	tok, err := s.DeltaToken(ctx, Tenant, "drive:1")
	if err != nil || tok != "" {
		t.Fatalf("empty token: %q %v", tok, err)
	}
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0), DeltaTokens: map[string]string{"drive:1": "t1", "drive:2": "u1"}}); err != nil {
		t.Fatal(err)
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:1")
	eq(t, "token after scan", tok, "t1")
	// A scan that does not commit does not advance tokens.
	fence := &store.Lease{Name: "tenant:" + Tenant, Owner: "ghost", Generation: 7}
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0.Add(time.Hour)), DeltaTokens: map[string]string{"drive:1": "t2"}, Fence: fence}); err == nil {
		t.Fatal("fenced scan without lease committed")
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:1")
	eq(t, "token after failed scan", tok, "t1")
	if err := s.SetDeltaToken(ctx, Tenant, "drive:2", "u2"); err != nil {
		t.Fatal(err)
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:2")
	eq(t, "set token", tok, "u2")
	if err := s.SetDeltaToken(ctx, Tenant, "drive:2", ""); err != nil {
		t.Fatal(err)
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:2")
	eq(t, "cleared token", tok, "")
	if err := s.SetDeltaToken(ctx, "new-tenant.example", "k", "v"); err != nil {
		t.Fatalf("token for an unseen tenant: %v", err)
	}
}

func testLeases(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	l, ok, err := s.TryLease(ctx, "tenant:a", "r1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	eq(t, "generation", l.Generation, int64(1))
	eq(t, "expires", l.ExpiresAt, c.Now().Add(time.Minute))
	l2, ok, err := s.TryLease(ctx, "tenant:a", "r2", time.Minute)
	if err != nil || ok {
		t.Fatalf("contended lease granted: %v %v", ok, err)
	}
	eq(t, "holder reported", l2.Owner, "r1")
	if _, ok, _ := s.TryLease(ctx, "tenant:b", "r2", time.Minute); !ok {
		t.Error("other lease not granted")
	}
	c.Advance(30 * time.Second)
	l, err = s.RenewLease(ctx, "tenant:a", "r1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "renewed", l.ExpiresAt, c.Now().Add(time.Minute))
	if _, err := s.RenewLease(ctx, "tenant:a", "r2", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("renew by non-holder: %v", err)
	}
	l, ok, _ = s.TryLease(ctx, "tenant:a", "r1", time.Minute)
	if !ok || l.Generation != 1 {
		t.Errorf("re-acquire by holder: ok=%v gen=%d", ok, l.Generation)
	}
	c.Advance(61 * time.Second) // expired: a dead replica's tenant is taken over
	l, ok, _ = s.TryLease(ctx, "tenant:a", "r2", time.Minute)
	if !ok || l.Generation != 2 || l.Owner != "r2" {
		t.Errorf("takeover: ok=%v %+v", ok, l)
	}
	if _, err := s.RenewLease(ctx, "tenant:a", "r1", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("renew after takeover: %v", err)
	}
	if err := s.ReleaseLease(ctx, "tenant:a", "r2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.TryLease(ctx, "tenant:a", "r3", time.Minute); !ok {
		t.Error("released lease not granted")
	}
	ls, err := s.ListLeases(ctx)
	if err != nil || len(ls) != 2 {
		t.Errorf("leases: %+v %v", ls, err)
	}

	// Many replicas racing: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, ok, err := s.TryLease(ctx, "tenant:race", fmt.Sprintf("r%d", i), time.Minute)
			if err != nil {
				t.Errorf("racing lease: %v", err)
			}
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	eq(t, "winners", winners, 1)
}

func testFence(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	l, _, err := s.TryLease(ctx, "tenant:"+Tenant, "r1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0), Fence: &l}); err != nil {
		t.Fatalf("fenced scan by holder: %v", err)
	}
	c.Advance(2 * time.Minute)
	if _, ok, _ := s.TryLease(ctx, "tenant:"+Tenant, "r2", time.Minute); !ok {
		t.Fatal("takeover failed")
	}
	_, err = s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0.Add(time.Hour)), Fence: &l})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale replica committed: %v", err)
	}
	scans, _ := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	eq(t, "scans", len(scans), 1)
}
