package m365

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Ticket describes one request to a CostPacer.
type Ticket struct {
	Audience Audience
	Meter    Meter
	Cost     int64
	// Retry marks a request that already waited out its Retry-After; the
	// hold that answer put on the meter does not apply to it again.
	Retry bool
}

// CostPacer is a Pacer that budgets by request cost and bounds the
// requests in flight. The client uses Acquire instead of Wait and Observe
// when its pacer implements it; done must be called once per Acquire with
// the response status and headers (0 and nil after a transport error).
type CostPacer interface {
	Pacer
	Acquire(ctx context.Context, t Ticket) (done func(status int, h http.Header), err error)
}

// Budget windows of the meters: SharePoint meters resource units per
// minute, Entra's token bucket spans 10 seconds.
var defaultWindows = map[Meter]time.Duration{MeterSharePoint: time.Minute, MeterEntra: 10 * time.Second, MeterExchange: time.Minute,
	MeterTeams: time.Minute, MeterFabric: time.Minute}

// BudgetPacer paces each meter to its budget before the service throttles:
//
//   - SharePoint's RateLimit-Limit / RateLimit-Remaining headers (sent
//     once 80% of the budget is spent) teach it the limit; from then on it
//     keeps a mirror of the service's bucket, debiting each request's cost
//     and refilling at limit per window, and holds requests that would
//     overdraw it;
//   - Entra's x-ms-throttle-limit-percentage (sent from 0.8) widens a gap
//     between requests while at 0.9 or more and narrows it otherwise;
//   - a 429 or 503 halves the meter's concurrency (it grows back by one
//     per window of successes) and its Retry-After holds every request of
//     the meter, not just the one retried.
type BudgetPacer struct {
	// Windows overrides the budget window per meter.
	Windows map[Meter]time.Duration
	// MaxConcurrency bounds requests in flight per meter (default 16).
	MaxConcurrency int
	// Until SharePoint names its limit (it does so once 80% is spent), the
	// cost in flight stays within a tenth of the smallest published budget
	// (1,200 RU per minute), so that learning the limit costs no 429s. Its
	// silence is news too: with X spent over the last window and no
	// header, the limit is at least X/1.8 (at most one window's refill on
	// top of a full bucket, and 20% still left), and a fifth of that may
	// be in flight. MinBudget overrides the smallest budget per meter.
	MinBudget map[Meter]float64
	// MinGap is the first spacing per resource unit after a high throttle
	// percentage (default 1ms).
	MinGap time.Duration
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	meters map[Meter]*meterState
}

type spend struct {
	at   time.Time
	cost float64
}

type meterState struct {
	limit    float64 // RateLimit-Limit; 0 until the service told it
	tokens   float64 // mirror of the service's remaining budget
	at       time.Time
	until    time.Time // nothing is sent before (Retry-After, reset)
	gap      time.Duration
	next     time.Time
	conc     float64
	inflight int
	// inflightCost is the cost of requests sent and not answered yet.
	inflightCost float64
	// spent records what was sent within the last window while the limit
	// was unknown.
	spent   []spend
	spentW  float64
	changed chan struct{}
}

// NewBudgetPacer returns a pacer with the defaults.
func NewBudgetPacer() *BudgetPacer {
	return &BudgetPacer{MaxConcurrency: 16, MinGap: time.Millisecond, Now: time.Now, Sleep: sleepCtx}
}

func (p *BudgetPacer) window(m Meter) time.Duration {
	if w, ok := p.Windows[m]; ok && w > 0 {
		return w
	}
	if w, ok := defaultWindows[m]; ok {
		return w
	}
	return time.Minute
}

func (p *BudgetPacer) state(m Meter) *meterState {
	if p.meters == nil {
		p.meters = map[Meter]*meterState{}
	}
	st, ok := p.meters[m]
	if !ok {
		st = &meterState{conc: float64(p.maxConc()), changed: make(chan struct{})}
		p.meters[m] = st
	}
	return st
}

func (p *BudgetPacer) maxConc() int {
	if p.MaxConcurrency > 0 {
		return p.MaxConcurrency
	}
	return 16
}

// refill brings the mirror up to now.
func (p *BudgetPacer) refill(m Meter, st *meterState, now time.Time) {
	if st.limit <= 0 {
		return
	}
	if el := now.Sub(st.at); el > 0 {
		st.tokens = min(st.limit, st.tokens+st.limit*el.Seconds()/p.window(m).Seconds())
	}
	st.at = now
}

// Acquire implements CostPacer.
func (p *BudgetPacer) Acquire(ctx context.Context, t Ticket) (func(int, http.Header), error) {
	// floor is the time this caller has waited until: with a clock that
	// does not move during Sleep (tests), waits must still end.
	var floor time.Time
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.mu.Lock()
		st := p.state(t.Meter)
		now := p.Now()
		if now.Before(floor) {
			now = floor
		}
		var wait time.Duration
		switch {
		case !t.Retry && now.Before(st.until):
			wait = st.until.Sub(now)
		case st.inflight >= max(1, int(st.conc)):
			ch := st.changed
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-ch:
			}
			continue
		case st.limit <= 0 && st.inflight > 0 && st.inflightCost+float64(t.Cost) > p.learningAllowance(t.Meter, st, now):
			ch := st.changed
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-ch:
			}
			continue
		case st.gap > 0 && now.Before(st.next):
			wait = st.next.Sub(now)
		default:
			p.refill(t.Meter, st, now)
			cost := min(float64(t.Cost), st.limit)
			if st.limit > 0 && st.tokens < cost {
				wait = time.Duration((cost - st.tokens) / st.limit * float64(p.window(t.Meter)))
				wait = max(wait, time.Millisecond)
			}
		}
		if wait > 0 {
			p.mu.Unlock()
			wait = min(wait, maxPace)
			if err := p.Sleep(ctx, wait); err != nil {
				return nil, err
			}
			floor = now.Add(wait)
			continue
		}
		if st.limit > 0 {
			st.tokens -= float64(t.Cost)
		} else if !math.IsInf(p.minBudget(t.Meter), 1) {
			st.spent = append(st.spent, spend{at: now, cost: float64(t.Cost)})
			st.spentW += float64(t.Cost)
		}
		if st.gap > 0 {
			st.next = now.Add(st.gap * time.Duration(max(1, t.Cost)))
		}
		st.inflight++
		st.inflightCost += float64(t.Cost)
		p.mu.Unlock()
		var once sync.Once
		return func(status int, h http.Header) {
			once.Do(func() { p.done(t, status, h) })
		}, nil
	}
}

func (p *BudgetPacer) done(t Ticket, status int, h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state(t.Meter)
	now := p.Now()
	st.inflight--
	st.inflightCost -= float64(t.Cost)
	if h != nil {
		p.observe(t.Meter, st, now, h)
	}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		st.conc = max(1, st.conc/2)
		if d, ok := retryAfter(h, now); ok {
			d = min(d, maxPace)
			if u := now.Add(d); u.After(st.until) {
				st.until = u
			}
		}
	case status > 0 && status < 300:
		st.conc = min(float64(p.maxConc()), st.conc+1/st.conc)
	}
	close(st.changed)
	st.changed = make(chan struct{})
}

func (p *BudgetPacer) observe(m Meter, st *meterState, now time.Time, h http.Header) {
	limit, errL := strconv.ParseFloat(strings.TrimSpace(h.Get("RateLimit-Limit")), 64)
	rem, errR := strconv.ParseFloat(strings.TrimSpace(h.Get("RateLimit-Remaining")), 64)
	if errL == nil && errR == nil && limit > 0 {
		// The requests still in flight may not have been charged when the
		// service computed rem: counting them as spent errs on the safe
		// side, and the lower of that and the mirror is kept.
		est := rem - st.inflightCost
		if st.limit <= 0 {
			st.tokens, st.at = est, now
		} else {
			p.refill(m, st, now)
			st.tokens = min(st.tokens, est)
		}
		st.limit = limit
		st.spent, st.spentW = nil, 0
	}
	if errR == nil && rem <= 0 && st.limit <= 0 {
		if s, err := strconv.Atoi(strings.TrimSpace(h.Get("RateLimit-Reset"))); err == nil && s > 0 {
			if u := now.Add(min(time.Duration(s)*time.Second, maxPace)); u.After(st.until) {
				st.until = u
			}
		}
	}
	pct, err := strconv.ParseFloat(strings.TrimSpace(h.Get("x-ms-throttle-limit-percentage")), 64)
	switch {
	case err == nil && pct >= 0.9:
		st.gap = min(max(st.gap*2, p.minGap()), time.Second)
	case err == nil && pct >= 0.8:
	default:
		st.gap = st.gap * 3 / 4
		if st.gap < time.Millisecond {
			st.gap = 0
		}
	}
}

// learningAllowance is the cost that may be in flight while the limit is
// unknown.
func (p *BudgetPacer) learningAllowance(m Meter, st *meterState, now time.Time) float64 {
	cut := now.Add(-p.window(m))
	i := 0
	for i < len(st.spent) && st.spent[i].at.Before(cut) {
		st.spentW -= st.spent[i].cost
		i++
	}
	st.spent = st.spent[i:]
	return max(p.minBudget(m)/10, st.spentW/1.8/5)
}

func (p *BudgetPacer) minBudget(m Meter) float64 {
	if b, ok := p.MinBudget[m]; ok {
		return b
	}
	if m == MeterSharePoint {
		return 1200
	}
	return math.Inf(1)
}

func (p *BudgetPacer) minGap() time.Duration {
	if p.MinGap > 0 {
		return p.MinGap
	}
	return time.Millisecond
}

// Wait implements Pacer for callers that do not know the cost.
func (p *BudgetPacer) Wait(ctx context.Context, aud Audience) error {
	done, err := p.Acquire(ctx, Ticket{Audience: aud, Meter: audienceMeter(aud), Cost: 1})
	if err != nil {
		return err
	}
	done(0, nil)
	return nil
}

// Observe implements Pacer.
func (p *BudgetPacer) Observe(aud Audience, h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := audienceMeter(aud)
	p.observe(m, p.state(m), p.Now(), h)
}

func audienceMeter(aud Audience) Meter {
	switch aud {
	case AudienceSharePoint:
		return MeterSharePoint
	case AudienceExchange:
		return MeterExchange
	case AudienceTeams:
		return MeterTeams
	case AudienceFabric:
		return MeterFabric
	}
	return MeterEntra
}
