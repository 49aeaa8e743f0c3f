package storetest

// Subscriptions and drive change marks.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
)

func testChangeFeeds(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	if err := s.BeginSubscription(ctx, Tenant, "", "h"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("subscription without a drive: %v", err)
	}
	began := c.Now()
	if err := s.BeginSubscription(ctx, Tenant, "d1", "hash1"); err != nil {
		t.Fatal(err)
	}
	creating, err := s.SubscriptionCreating(ctx, Tenant, began)
	if err != nil || !creating {
		t.Fatalf("creating right after begin: %v %v", creating, err)
	}
	if creating, _ := s.SubscriptionCreating(ctx, "other.example", began); creating {
		t.Fatal("another tenant's creation counted")
	}
	if _, err := s.SubscriptionByID(ctx, "sub-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id while creating: %v", err)
	}
	exp := c.Now().Add(72 * time.Hour)
	if err := s.ActivateSubscription(ctx, Tenant, "d1", "sub-1", exp); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSubscription(ctx, Tenant, "d1", "sub-2", exp); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second activation: %v", err)
	}
	c.Advance(time.Second)
	if creating, _ := s.SubscriptionCreating(ctx, Tenant, began); creating {
		t.Fatal("still creating after activation")
	}
	sub, err := s.SubscriptionByID(ctx, "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "subscription", sub, store.ChangeSubscription{Tenant: Tenant, DriveID: "d1", ID: "sub-1", ClientStateHash: "hash1",
		UpdatedAt: began, Expires: exp})
	exp2 := exp.Add(time.Hour)
	if err := s.RenewedSubscription(ctx, "sub-1", exp2); err != nil {
		t.Fatal(err)
	}
	subs, err := s.Subscriptions(ctx, Tenant)
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions: %v %v", subs, err)
	}
	eq(t, "renewed expiry", subs[0].Expires, exp2)
	// Subscribing again replaces the old id: its notifications are unknown.
	if err := s.BeginSubscription(ctx, Tenant, "d1", "hash2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubscriptionByID(ctx, "sub-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replaced subscription still known: %v", err)
	}
	if err := s.DropSubscription(ctx, Tenant, "d1"); err != nil {
		t.Fatal(err)
	}
	if subs, _ := s.Subscriptions(ctx, Tenant); len(subs) != 0 {
		t.Fatalf("dropped subscription listed: %v", subs)
	}

	// Marks: one row per drive; clearing keeps a mark made after the read.
	t1 := c.Now()
	for _, d := range []string{"d1", "d2", "d1"} {
		if err := s.MarkDriveChanged(ctx, Tenant, d, "updated", c.Now()); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
	}
	marks, err := s.DriveChanges(ctx, Tenant)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "marks", len(marks), 2)
	eq(t, "first mark", marks[0].DriveID, "d1")
	eq(t, "first_at kept", marks[0].FirstAt, t1)
	eq(t, "last_at moved", marks[0].LastAt, t1.Add(2*time.Second))
	if err := s.MarkDriveChanged(ctx, Tenant, "d2", "missed", c.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearDriveChanges(ctx, marks); err != nil {
		t.Fatal(err)
	}
	left, err := s.DriveChanges(ctx, Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].DriveID != "d2" || left[0].Reason != "missed" {
		t.Fatalf("after clearing, the mark made since the read must stay: %+v", left)
	}
	if err := s.MarkDriveChanged(ctx, Tenant, "d3", "", c.Now()); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("mark without reason: %v", err)
	}
}
