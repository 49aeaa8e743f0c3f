package m365

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HeaderPacer slows an audience down when the service says its budget is
// nearly spent, before it answers 429: "RateLimit-Remaining: 0" waits for
// "RateLimit-Reset" seconds, and an "x-ms-throttle-limit-percentage" of 0.9
// or more (Entra's warning) pauses briefly. It is the default Pacer;
// budget-based pacing can replace it through Options.Pacer.
type HeaderPacer struct {
	// Pause is the wait after a high throttle-limit percentage (default 1s).
	Pause time.Duration
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	until map[Audience]time.Time
}

// NewHeaderPacer returns a pacer with the defaults.
func NewHeaderPacer() *HeaderPacer {
	return &HeaderPacer{Pause: time.Second, Now: time.Now, Sleep: sleepCtx, until: map[Audience]time.Time{}}
}

// Wait blocks until the audience may send again.
func (p *HeaderPacer) Wait(ctx context.Context, aud Audience) error {
	p.mu.Lock()
	d := p.until[aud].Sub(p.Now())
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	return p.Sleep(ctx, d)
}

// maxPace bounds one pacing wait; Retry-After handles anything longer.
const maxPace = time.Minute

// Observe reads a response's budget headers.
func (p *HeaderPacer) Observe(aud Audience, h http.Header) {
	var d time.Duration
	if rem := strings.TrimSpace(h.Get("RateLimit-Remaining")); rem == "0" {
		if s, err := strconv.Atoi(strings.TrimSpace(h.Get("RateLimit-Reset"))); err == nil && s > 0 {
			d = time.Duration(s) * time.Second
		}
	}
	if v, err := strconv.ParseFloat(strings.TrimSpace(h.Get("x-ms-throttle-limit-percentage")), 64); err == nil && v >= 0.9 {
		d = max(d, p.Pause)
	}
	if d <= 0 {
		return
	}
	d = min(d, maxPace)
	p.mu.Lock()
	if t := p.Now().Add(d); t.After(p.until[aud]) {
		p.until[aud] = t
	}
	p.mu.Unlock()
}
