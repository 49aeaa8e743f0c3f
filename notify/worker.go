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

// OutboxItem is a claimed outbox row.
type OutboxItem struct {
	ID          int64
	Key         string
	Destination string
	Group       string
	Payload     []byte
	Attempts    int
	CreatedAt   time.Time
}

// Outbox is the part of the store the delivery worker drains. Claim leases
// due rows to owner; the Mark calls succeed only while the lease is held.
type Outbox interface {
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error)
	MarkSent(ctx context.Context, id int64, owner, receipt string, at time.Time) error
	MarkFailed(ctx context.Context, id int64, owner, reason string, next time.Time) error
	DeadLetter(ctx context.Context, id int64, owner, reason string, at time.Time) error
}

// ThreadStore remembers where a finding was announced per destination, so
// later notices (resolved, reminders) go into that message's thread.
type ThreadStore interface {
	ThreadRef(ctx context.Context, destination, fingerprint string) (ThreadRef, bool, error)
	SetThreadRef(ctx context.Context, destination, fingerprint string, ref ThreadRef) error
}

// WorkerOptions configures a delivery worker.
type WorkerOptions struct {
	Outbox    Outbox
	Threads   ThreadStore
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
	Claimed, Sent, Retried, Dead int
}

// NewWorker checks the options and fills defaults.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if o.Outbox == nil {
		return nil, errors.New("notify worker: no outbox")
	}
	if o.Threads == nil {
		return nil, errors.New("notify worker: no thread store")
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
			w.o.Logger.Error("notify outbox", "err", err)
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
	now := w.o.Now()
	items, err := w.o.Outbox.Claim(ctx, w.o.Owner, now, w.o.Delivery.Lease, w.o.Delivery.Batch)
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
)

func (w *Worker) deliver(ctx context.Context, it OutboxItem) (result, time.Time, string, error) {
	log := w.o.Logger.With("destination", it.Destination, "key", it.Key, "attempt", it.Attempts+1)
	dead := func(reason string) (result, time.Time, string, error) {
		log.Error("notification dead-lettered", "reason", reason)
		w.o.Metrics.dead(it.Destination)
		if err := w.o.Outbox.DeadLetter(ctx, it.ID, w.o.Owner, reason, w.o.Now()); err != nil {
			return resultDead, time.Time{}, reason, fmt.Errorf("dead-letter %s: %w", it.Key, err)
		}
		return resultDead, time.Time{}, reason, nil
	}
	n, err := DecodePayload(it.Payload)
	if err != nil {
		return dead(err.Error())
	}
	n.Attempt = it.Attempts
	notifier, ok := w.o.Notifiers[it.Destination]
	var retry bool
	if !ok {
		// Another replica may know the destination; the max age settles it.
		retry, err = true, fmt.Errorf("destination %q is not configured", it.Destination)
	} else {
		if n.Finding != nil && n.Kind != KindNew {
			ref, found, terr := w.o.Threads.ThreadRef(ctx, it.Destination, n.Finding.Fingerprint)
			if terr != nil {
				return resultRetry, time.Time{}, "", fmt.Errorf("thread of %s: %w", it.Key, terr)
			}
			if found {
				n.Thread = &ref
			}
		}
		sctx, cancel := context.WithTimeout(ctx, w.o.SendTimeout)
		retry, err = notifier.Notify(sctx, n)
		cancel()
	}
	now := w.o.Now()
	if err == nil {
		receipt := ""
		if n.Posted != nil {
			for _, fp := range n.Fingerprints() {
				ref := *n.Posted
				ref.Digest = n.Kind == KindDigest
				if err := w.o.Threads.SetThreadRef(ctx, it.Destination, fp, ref); err != nil {
					log.Warn("remember thread", "err", err)
				}
			}
			b, _ := json.Marshal(n.Posted)
			receipt = string(b)
		}
		w.o.Metrics.sent(it.Destination, n.Kind)
		log.Info("notification sent", "kind", n.Kind)
		if err := w.o.Outbox.MarkSent(ctx, it.ID, w.o.Owner, receipt, now); err != nil {
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
	log.Warn("notification failed, will retry", "err", reason, "next_attempt", next)
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
