package storetest

// The notification outbox: claims, threads and digests.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
)

func testOutbox(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	msg := func(key, dest string) store.OutboxMessage {
		return store.OutboxMessage{IdempotencyKey: key, Tenant: Tenant, Destination: dest, Kind: "new", Fingerprint: "fp-" + key,
			Payload: []byte(`{"text": "exact bytes"}`)}
	}
	n, err := s.Enqueue(ctx, msg("a", "slack"), msg("b", "slack"), msg("c", "webhook"))
	if err != nil || n != 3 {
		t.Fatalf("enqueue: %d %v", n, err)
	}
	n, err = s.Enqueue(ctx, msg("a", "slack"), msg("d", "slack"))
	if err != nil || n != 1 {
		t.Fatalf("enqueue with a duplicate key: %d %v", n, err)
	}
	later := msg("e", "slack")
	later.NextAttemptAt = c.Now().Add(time.Hour)
	s.Enqueue(ctx, later)

	got, err := s.ClaimDue(ctx, "w1", 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].IdempotencyKey != "a" || got[1].IdempotencyKey != "b" {
		t.Fatalf("claimed %+v", got)
	}
	eq(t, "payload kept", string(got[0].Payload), `{"text": "exact bytes"}`)
	eq(t, "claimed by", got[0].ClaimedBy, "w1")
	rest, _ := s.ClaimDue(ctx, "w2", 10, time.Minute)
	var keys []string
	for _, m := range rest {
		keys = append(keys, m.IdempotencyKey)
	}
	eq(t, "second worker gets the rest that is due", keys, []string{"c", "d"})

	if err := s.MarkSent(ctx, got[0].ID, "C123:1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, got[1].ID, "w2", "boom", c.Now().Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("fail by non-owner: %v", err)
	}
	if err := s.MarkFailed(ctx, got[1].ID, "w1", "slack 500", c.Now().Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// w2 dies holding c and d: after the visibility timeout they come back.
	c.Advance(2 * time.Minute)
	again, _ := s.ClaimDue(ctx, "w3", 10, time.Minute)
	keys = nil
	for _, m := range again {
		keys = append(keys, m.IdempotencyKey)
	}
	eq(t, "reclaimed after lease expiry", keys, []string{"c", "d"})
	for _, m := range again {
		if err := s.MarkFailed(ctx, m.ID, "w3", "timeout", c.Now().Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(4 * time.Minute)
	retry, _ := s.ClaimDue(ctx, "w3", 10, time.Minute)
	if len(retry) != 1 || retry[0].IdempotencyKey != "b" || retry[0].Attempts != 1 || retry[0].LastError != "slack 500" {
		t.Fatalf("retry = %+v", retry)
	}
	if err := s.MarkDead(ctx, retry[0].ID, "invalid_blocks"); err != nil {
		t.Fatal(err)
	}
	ref, ok, err := s.ThreadRef(ctx, "slack", "fp-a")
	if err != nil || !ok || ref != "C123:1700000000.000100" {
		t.Errorf("thread ref = %q %v %v", ref, ok, err)
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-b"); ok {
		t.Error("thread ref of an undelivered message")
	}
	if err := s.MarkSent(ctx, 99999, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mark unknown: %v", err)
	}
	c.Advance(2 * time.Hour)
	n, err = s.DeadLetterExpired(ctx, c.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "dead-lettered (c, d, e)", n, 3)
	stats, err := s.OutboxStats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if none, err := s.OutboxStats(ctx, "nobody.example"); err != nil || len(none) != 0 {
		t.Errorf("stats of a tenant with no messages: %v %v", none, err)
	}
	got2 := map[string]int64{}
	for _, st := range stats {
		got2[st.Destination+"/"+string(st.State)] = st.Count
	}
	eq(t, "stats", got2, map[string]int64{"slack/sent": 1, "slack/dead": 3, "webhook/dead": 1})
	dead, _ := s.OutboxMessages(ctx, store.OutboxFilter{State: store.OutboxDead, Destination: "slack"})
	eq(t, "dead slack", len(dead), 3)
	if dead[0].LastError != "invalid_blocks" {
		t.Errorf("dead reason = %q", dead[0].LastError)
	}
}

func testOutboxConcurrent(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	var msgs []store.OutboxMessage
	for i := 0; i < 40; i++ {
		msgs = append(msgs, store.OutboxMessage{IdempotencyKey: fmt.Sprintf("k%02d", i), Destination: "slack", Payload: []byte("{}")})
	}
	if _, err := s.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", w)
			for {
				got, err := s.ClaimDue(ctx, owner, 3, time.Minute)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					if prev, dup := seen[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, prev, owner)
					}
					seen[m.ID] = owner
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	eq(t, "claimed", len(seen), 40)
}

// sendOne enqueues a message, claims it and marks it sent with ref.
func sendOne(t *testing.T, s store.Store, m store.OutboxMessage, ref string) store.OutboxMessage {
	t.Helper()
	ctx := context.Background()
	if n, err := s.Enqueue(ctx, m); err != nil || n != 1 {
		t.Fatalf("enqueue %s: %d %v", m.IdempotencyKey, n, err)
	}
	got, err := s.ClaimDue(ctx, "w1", 10, time.Minute)
	if err != nil || len(got) != 1 || got[0].IdempotencyKey != m.IdempotencyKey {
		t.Fatalf("claim %s: %+v %v", m.IdempotencyKey, got, err)
	}
	if err := s.MarkSent(ctx, got[0].ID, ref); err != nil {
		t.Fatal(err)
	}
	return got[0]
}

func testOutboxLatestThread(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	msg := func(key, kind string) store.OutboxMessage {
		return store.OutboxMessage{IdempotencyKey: key, Destination: "slack", Kind: kind, Fingerprint: "fp-x", Payload: []byte("{}")}
	}
	first := sendOne(t, s, msg("new/x/1", "new"), "ref-first")
	c.Advance(time.Minute)
	resolved := sendOne(t, s, msg("resolved/x/2", "resolved"), "") // a reply: no reference of its own
	c.Advance(time.Minute)
	sendOne(t, s, msg("reopened/x/3", "reopened"), "ref-reopened")
	c.Advance(time.Minute)
	sendOne(t, s, msg("reminder/x/3", "reminder"), "")

	ref, ok, err := s.ThreadRef(ctx, "slack", "fp-x")
	if err != nil || !ok {
		t.Fatalf("thread ref: %v %v", ok, err)
	}
	eq(t, "thread after a reopen", ref, "ref-reopened")
	ref, ok, err = s.ThreadRefBefore(ctx, "slack", "fp-x", resolved.ID)
	if err != nil || !ok {
		t.Fatalf("thread ref before: %v %v", ok, err)
	}
	eq(t, "thread of the first resolution", ref, "ref-first")
	if _, ok, _ := s.ThreadRefBefore(ctx, "slack", "fp-x", first.ID); ok {
		t.Error("thread ref before the first announcement")
	}
	if _, ok, _ := s.ThreadRef(ctx, "webhook", "fp-x"); ok {
		t.Error("thread ref at another destination")
	}

	// A later announcement delivered first (the earlier one was held up)
	// does not change which one is latest: enqueue order decides.
	late := msg("new/y/1", "new")
	late.Fingerprint = "fp-y"
	if _, err := s.Enqueue(ctx, late); err != nil {
		t.Fatal(err)
	}
	esc := msg("escalated/y/2", "escalated")
	esc.Fingerprint = "fp-y"
	if _, err := s.Enqueue(ctx, esc); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimDue(ctx, "w1", 10, time.Minute)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim: %+v %v", got, err)
	}
	c.Advance(time.Second)
	if err := s.MarkSent(ctx, got[1].ID, "ref-escalated"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if err := s.MarkSent(ctx, got[0].ID, "ref-new"); err != nil {
		t.Fatal(err)
	}
	ref, _, _ = s.ThreadRef(ctx, "slack", "fp-y")
	eq(t, "thread when sent out of order", ref, "ref-escalated")
}

func testOutboxDigestMembers(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	digest := store.OutboxMessage{IdempotencyKey: "digest/slack/1", Destination: "slack", Kind: "digest", Members: []string{"fp-a", "fp-b", "fp-a"},
		Payload: []byte("{}")}
	if n, err := s.Enqueue(ctx, digest); err != nil || n != 1 {
		t.Fatalf("enqueue digest: %d %v", n, err)
	}
	// Enqueuing the same key again keeps the first members.
	again := digest
	again.Members = []string{"fp-c"}
	if n, err := s.Enqueue(ctx, again); err != nil || n != 0 {
		t.Fatalf("enqueue digest again: %d %v", n, err)
	}
	res := store.OutboxMessage{IdempotencyKey: "resolved/slack/fp-a/2", Destination: "slack", Kind: "resolved", Fingerprint: "fp-a", Payload: []byte("{}")}
	if _, err := s.Enqueue(ctx, res); err != nil {
		t.Fatal(err)
	}
	all, _ := s.OutboxMessages(ctx, store.OutboxFilter{})
	resID := all[len(all)-1].ID
	for _, tc := range []struct {
		fp   string
		want bool
	}{{"fp-a", true}, {"fp-b", true}, {"fp-c", false}, {"fp-z", false}} {
		got, err := s.PendingBefore(ctx, "slack", tc.fp, resID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "pending before the resolution of "+tc.fp, got, tc.want)
	}
	if got, _ := s.PendingBefore(ctx, "webhook", "fp-a", resID); got {
		t.Error("pending at another destination")
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-a"); ok {
		t.Error("thread ref of an undelivered digest")
	}

	claimed, err := s.ClaimDue(ctx, "w1", 1, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].IdempotencyKey != digest.IdempotencyKey {
		t.Fatalf("claim digest: %+v %v", claimed, err)
	}
	if err := s.MarkSent(ctx, claimed[0].ID, "ref-digest"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PendingBefore(ctx, "slack", "fp-a", resID); got {
		t.Error("digest still pending after it was sent")
	}
	for _, fp := range []string{"fp-a", "fp-b"} {
		ref, ok, err := s.ThreadRef(ctx, "slack", fp)
		if err != nil || !ok || ref != "ref-digest" {
			t.Errorf("thread of digest member %s = %q %v %v", fp, ref, ok, err)
		}
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-c"); ok {
		t.Error("thread ref of a finding the digest did not list")
	}

	// Pruning a sent digest takes its members along.
	c.Advance(48 * time.Hour)
	if _, err := s.Prune(ctx, store.PruneOptions{Before: c.Now()}); err != nil {
		t.Fatalf("prune with digest members: %v", err)
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-a"); ok {
		t.Error("thread ref of a pruned digest")
	}
}

func testOutboxClaims(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, store.OutboxMessage{IdempotencyKey: "k", Destination: "slack", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	first := c.Now()
	got, err := s.ClaimDue(ctx, "w1", 1, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %+v %v", got, err)
	}
	eq(t, "claims after the first claim", got[0].Claims, 1)
	if got[0].FirstClaimedAt == nil || !got[0].FirstClaimedAt.Equal(first) {
		t.Errorf("first claimed at = %v, want %v", got[0].FirstClaimedAt, first)
	}
	// w1 dies; the message comes back after its lease.
	c.Advance(2 * time.Minute)
	got, err = s.ClaimDue(ctx, "w2", 1, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("reclaim: %+v %v", got, err)
	}
	eq(t, "claims after the lease ran out", got[0].Claims, 2)
	eq(t, "attempts after the lease ran out", got[0].Attempts, 0)
	if got[0].FirstClaimedAt == nil || !got[0].FirstClaimedAt.Equal(first) {
		t.Errorf("first claimed at moved: %v, want %v", got[0].FirstClaimedAt, first)
	}
	if err := s.MarkFailed(ctx, got[0].ID, "w2", "slack 500", c.Now()); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ClaimDue(ctx, "w3", 1, time.Minute)
	if len(got) != 1 || got[0].Claims != 3 || got[0].Attempts != 1 {
		t.Fatalf("after a failure: %+v", got)
	}
}
