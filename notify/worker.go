package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// OutboxItem is an outbox row.
type OutboxItem struct {
	ID          int64
	Key         string
	Tenant      string
	Destination string
	Kind        Kind
	// Fingerprint is set for single-finding notifications; it groups a
	// finding's messages for threading and ordering.
	Fingerprint string
	// Members are the findings a digest lists: a resolution of one of them
	// replies in the digest's thread.
	Members   []string
	Payload   []byte
	Attempts  int
	CreatedAt time.Time
	// Claims counts the leases handed out for the row, this one included;
	// FirstClaimedAt is when the first was.
	Claims         int
	FirstClaimedAt time.Time
}

// Outbox is the part of the store the delivery worker drains. ClaimDue
// leases due rows to owner for lease; a row whose lease ran out (its worker
// died) is claimable again, which is what makes delivery at-least-once.
type Outbox interface {
	ClaimDue(ctx context.Context, owner string, limit int, lease time.Duration) ([]OutboxItem, error)
	// MarkSent records delivery with the destination's reference to the
	// message (JSON ThreadRef for Slack), which ThreadRef returns later.
	MarkSent(ctx context.Context, id int64, externalRef string) error
	MarkFailed(ctx context.Context, id int64, owner, errMsg string, retryAt time.Time) error
	MarkDead(ctx context.Context, id int64, reason string) error
	// DeadLetterExpired gives up on pending rows created before cutoff.
	DeadLetterExpired(ctx context.Context, cutoff time.Time) (int, error)
	// ThreadRef returns the external reference of the latest message that
	// announced the finding at destination (its own or a digest listing it)
	// among the rows enqueued before the row with ID before.
	ThreadRef(ctx context.Context, destination, fingerprint string, before int64) (string, bool, error)
	// PendingBefore reports whether an older row for the same destination
	// and finding (its own or a digest listing it) is still undelivered, so
	// a resolution waits for the announcement it replies to.
	PendingBefore(ctx context.Context, destination, fingerprint string, id int64) (bool, error)
}

// Enqueuer is the store's side of planning: idempotent inserts.
type Enqueuer interface {
	Enqueue(ctx context.Context, items ...OutboxItem) (int, error)
}

// OutboxItems turns planned items into rows for Enqueue.
func OutboxItems(items []Item) ([]OutboxItem, error) {
	out := make([]OutboxItem, 0, len(items))
	for i := range items {
		p, err := items[i].Payload()
		if err != nil {
			return nil, err
		}
		fp := ""
		var members []string
		switch n := &items[i].Notification; {
		case n.Finding != nil:
			fp = n.Finding.Fingerprint
		case n.Digest != nil:
			members = items[i].Members
			if members == nil {
				members = n.Fingerprints()
			}
		}
		out = append(out, OutboxItem{Key: items[i].Key, Tenant: items[i].Notification.Tenant, Destination: items[i].Destination,
			Kind: items[i].Notification.Kind, Fingerprint: fp, Members: members, Payload: p})
	}
	return out, nil
}

// WorkerOptions configures a delivery worker.
type WorkerOptions struct {
	Outbox    Outbox
	Notifiers map[string]Notifier
	Delivery  DeliveryConfig
	// Owner identifies this worker's leases (host name + pid is a good value).
	Owner   string
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
	// SendTimeout bounds one Notify call (default 30s).
	SendTimeout time.Duration
}

// Worker drains the outbox: at-least-once delivery with idempotency keys,
// retries with exponential backoff, dead letters after Delivery.MaxAge or on
// a permanent rejection.
type Worker struct {
	o WorkerOptions
}

// RunStats counts what one RunOnce did.
type RunStats struct {
	Claimed, Sent, Retried, Dead, Deferred int
}

// NewWorker checks the options and fills defaults.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if o.Outbox == nil {
		return nil, errors.New("notify worker: no outbox")
	}
	if o.Owner == "" {
		return nil, errors.New("notify worker: no owner name")
	}
	o.Delivery = o.Delivery.WithDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	return &Worker{o: o}, nil
}

// Run polls the outbox until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.Delivery.PollInterval)
	defer t.Stop()
	for {
		st, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.o.Logger.Error("notify outbox", "error", err)
		}
		// A full batch means more may be due: go again without waiting.
		if err == nil && st.Claimed >= w.o.Delivery.Batch {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due notifications and delivers it. Each
// destination's rows are sent in order by their own goroutine, so a slow
// destination does not hold up the others.
func (w *Worker) RunOnce(ctx context.Context) (RunStats, error) {
	if n, err := w.o.Outbox.DeadLetterExpired(ctx, w.o.Now().Add(-w.o.Delivery.MaxAge)); err != nil {
		return RunStats{}, fmt.Errorf("dead-letter expired notifications: %w", err)
	} else if n > 0 {
		w.o.Logger.Warn("notifications dead-lettered after max age", "count", n, "max_age", w.o.Delivery.MaxAge)
	}
	items, err := w.o.Outbox.ClaimDue(ctx, w.o.Owner, w.o.Delivery.Batch, w.o.Delivery.Lease)
	if err != nil {
		return RunStats{}, fmt.Errorf("claim outbox: %w", err)
	}
	byDest := map[string][]OutboxItem{}
	var dests []string
	for _, it := range items {
		if _, ok := byDest[it.Destination]; !ok {
			dests = append(dests, it.Destination)
		}
		byDest[it.Destination] = append(byDest[it.Destination], it)
	}
	var (
		mu   sync.Mutex
		st   = RunStats{Claimed: len(items)}
		errs []error
		wg   sync.WaitGroup
	)
	for _, d := range dests {
		wg.Add(1)
		go func(rows []OutboxItem) {
			defer wg.Done()
			s, err := w.deliverDestination(ctx, rows)
			mu.Lock()
			defer mu.Unlock()
			st.Sent += s.Sent
			st.Retried += s.Retried
			st.Dead += s.Dead
			st.Deferred += s.Deferred
			if err != nil {
				errs = append(errs, err)
			}
		}(byDest[d])
	}
	wg.Wait()
	return st, errors.Join(errs...)
}

// deliverDestination sends rows in order; after a transient failure the rest
// wait for the same retry time instead of hammering a destination that is down.
func (w *Worker) deliverDestination(ctx context.Context, rows []OutboxItem) (RunStats, error) {
	var st RunStats
	var pausedUntil time.Time
	var pauseReason string
	for _, it := range rows {
		if !pausedUntil.IsZero() {
			if err := w.o.Outbox.MarkFailed(ctx, it.ID, w.o.Owner, pauseReason, pausedUntil); err != nil {
				return st, fmt.Errorf("reschedule %s: %w", it.Key, err)
			}
			st.Retried++
			continue
		}
		res, next, reason, err := w.deliver(ctx, it)
		if err != nil {
			return st, err
		}
		switch res {
		case resultSent:
			st.Sent++
		case resultDead:
			st.Dead++
		case resultDeferred:
			st.Deferred++
		case resultRetry:
			st.Retried++
			pausedUntil, pauseReason = next, "destination unavailable: "+reason
		}
	}
	return st, nil
}

type result int

const (
	resultSent result = iota
	resultRetry
	resultDead
	resultDeferred
)

// thread finds where the finding was last announced at the destination
// before the row with ID before was enqueued.
func (w *Worker) thread(ctx context.Context, dest, fingerprint string, before int64) (*ThreadRef, bool, error) {
	raw, ok, err := w.o.Outbox.ThreadRef(ctx, dest, fingerprint, before)
	if err != nil {
		return nil, false, fmt.Errorf("thread of %s at %s: %w", fingerprint, dest, err)
	}
	if !ok || raw == "" {
		return nil, false, nil
	}
	var ref ThreadRef
	if err := json.Unmarshal([]byte(raw), &ref); err != nil || ref.TS == "" {
		// Not a message reference (another destination type); no thread.
		return nil, false, nil
	}
	return &ref, true, nil
}

func (w *Worker) deliver(ctx context.Context, it OutboxItem) (result, time.Time, string, error) {
	log := w.o.Logger.With("destination", it.Destination, "key", it.Key, "attempt", it.Attempts+1)
	dead := func(reason string) (result, time.Time, string, error) {
		log.Error("notification dead-lettered", "reason", reason)
		w.o.Metrics.dead(it.Destination)
		if err := w.o.Outbox.MarkDead(ctx, it.ID, reason); err != nil {
			return resultDead, time.Time{}, reason, fmt.Errorf("dead-letter %s: %w", it.Key, err)
		}
		return resultDead, time.Time{}, reason, nil
	}
	n, err := DecodePayload(it.Payload)
	if err != nil {
		return dead(err.Error())
	}
	n.Attempt = it.Attempts
	// A row that failed before, or whose earlier claim was never settled
	// (its worker died), may have reached the destination already.
	n.MaybeDelivered = it.Attempts > 0 || it.Claims > 1
	n.FirstAttempt = it.FirstClaimedAt
	if n.FirstAttempt.IsZero() {
		n.FirstAttempt = it.CreatedAt
	}
	notifier, ok := w.o.Notifiers[it.Destination]
	var retry bool
	if !ok {
		// Another replica may know the destination; the max age settles it.
		retry, err = true, fmt.Errorf("destination %q is not configured", it.Destination)
	} else {
		if n.Finding != nil && (n.Kind == KindResolved || n.Kind == KindReminder) {
			ref, found, terr := w.thread(ctx, it.Destination, n.Finding.Fingerprint, it.ID)
			if terr != nil {
				return resultRetry, time.Time{}, "", terr
			}
			if !found {
				// The announcement may still be waiting in the outbox (the
				// destination was down); replying before it would lose the thread.
				waiting, perr := w.o.Outbox.PendingBefore(ctx, it.Destination, n.Finding.Fingerprint, it.ID)
				if perr != nil {
					return resultRetry, time.Time{}, "", fmt.Errorf("check earlier notifications of %s: %w", it.Key, perr)
				}
				if waiting {
					next := w.o.Now().Add(w.o.Delivery.BackoffInitial)
					if err := w.o.Outbox.MarkFailed(ctx, it.ID, w.o.Owner, "waiting for the announcement to be delivered", next); err != nil {
						return resultRetry, next, "", fmt.Errorf("defer %s: %w", it.Key, err)
					}
					return resultDeferred, next, "", nil
				}
			}
			n.Thread = ref
		}
		sctx, cancel := context.WithTimeout(ctx, w.o.SendTimeout)
		retry, err = notifier.Notify(sctx, n)
		cancel()
	}
	now := w.o.Now()
	if err == nil {
		receipt := ""
		if n.Posted != nil {
			ref := *n.Posted
			ref.Digest = n.Kind == KindDigest
			b, _ := json.Marshal(ref)
			receipt = string(b)
		}
		w.o.Metrics.sent(it.Destination, n.Kind)
		log.Info("notification sent", "kind", n.Kind)
		if err := w.o.Outbox.MarkSent(ctx, it.ID, receipt); err != nil {
			return resultSent, time.Time{}, "", fmt.Errorf("mark %s sent: %w", it.Key, err)
		}
		return resultSent, time.Time{}, "", nil
	}
	reason := fmt.Sprintf("destination %q: %v", it.Destination, err)
	if !retry {
		return dead(reason)
	}
	if age := now.Sub(it.CreatedAt); age >= w.o.Delivery.MaxAge {
		return dead(fmt.Sprintf("undelivered after %s: %s", age.Round(time.Second), reason))
	}
	next := now.Add(w.backoff(it.Attempts))
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > 0 {
		next = now.Add(ra.After)
	}
	w.o.Metrics.failed(it.Destination)
	log.Warn("notification failed, will retry", "error", reason, "next_attempt", next)
	if err := w.o.Outbox.MarkFailed(ctx, it.ID, w.o.Owner, reason, next); err != nil {
		return resultRetry, next, reason, fmt.Errorf("mark %s failed: %w", it.Key, err)
	}
	return resultRetry, next, reason, nil
}

// backoff doubles from BackoffInitial per attempt up to BackoffMax.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.o.Delivery.BackoffInitial
	for i := 0; i < attempts && d < w.o.Delivery.BackoffMax; i++ {
		d *= 2
	}
	return min(d, w.o.Delivery.BackoffMax)
}
