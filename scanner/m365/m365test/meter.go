package m365test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the fake's notion of time when it runs faster than real time:
// Scale simulated seconds pass per real second. Give its Now and Sleep to
// the client and its pacer so that both sides share the same clock.
type Clock struct {
	// at is swapped whole by Switch, so readers never see half a change.
	at atomic.Pointer[clockState]
}

type clockState struct {
	scale float64
	start time.Time // real time at base
	base  time.Time // simulated time at start
}

func newClock(scale float64) *Clock {
	if scale <= 0 {
		scale = 1
	}
	now := time.Now()
	c := &Clock{}
	c.at.Store(&clockState{scale: scale, start: now, base: now})
	return c
}

// Scale is how many simulated seconds pass per real second.
func (c *Clock) Scale() float64 { return c.at.Load().scale }

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	st := c.at.Load()
	return st.base.Add(time.Duration(float64(time.Since(st.start)) * st.scale))
}

// Switch makes simulated time continue from at (or from now, when at is
// earlier: simulated time never goes back) at a new scale. Sleeps already
// begun keep the scale they began with; call it between runs.
func (c *Clock) Switch(at time.Time, scale float64) {
	if scale <= 0 {
		scale = 1
	}
	now := time.Now()
	cur := c.Now()
	if at.Before(cur) {
		at = cur
	}
	c.at.Store(&clockState{scale: scale, start: now, base: at})
}

// Sleep waits d of simulated time.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(c.Real(d))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Sim converts a real duration into simulated time.
func (c *Clock) Sim(d time.Duration) time.Duration { return time.Duration(float64(d) * c.Scale()) }

// Real converts a simulated duration into real time.
func (c *Clock) Real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.Scale()) }

// Meters of the fake, as the services meter: SharePoint in resource units
// per minute, Entra per 10 seconds.
const (
	meterSharePoint = "sharepoint"
	meterEntra      = "entra"
	meterOther      = "other"
)

// Usage counts what the fake served.
type Usage struct {
	// Requests are HTTP requests; SubRequests the requests inside $batch.
	Requests    int64 `json:"requests"`
	SubRequests int64 `json:"subRequests"`
	// RU is SharePoint resource units charged; EntraRU Entra's.
	RU      int64 `json:"ru"`
	EntraRU int64 `json:"entraRu"`
	// Throttled counts 429 answers (sub-requests included).
	Throttled int64 `json:"throttled"`
	// ByKind counts requests and sub-requests by endpoint kind, and
	// ThrottledByKind the 429s among them.
	ByKind          map[string]int64 `json:"byKind"`
	ThrottledByKind map[string]int64 `json:"throttledByKind,omitempty"`
}

// bucket is a token bucket of limit units refilled over window.
type bucket struct {
	limit  float64
	window time.Duration
	tokens float64
	at     time.Time
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = math.Min(b.limit, b.tokens+b.limit*el.Seconds()/b.window.Seconds())
	}
	b.at = now
}

// meterState meters requests and enforces budgets.
type meterState struct {
	clock *Clock

	restCost int64

	mu      sync.Mutex
	buckets map[string]*bucket
	usage   Usage
}

func newMeterState(o Options, clock *Clock) *meterState {
	m := &meterState{clock: clock, buckets: map[string]*bucket{}, restCost: int64(o.RESTCost)}
	if m.restCost <= 0 {
		m.restCost = 2
	}
	m.reset()
	now := clock.Now()
	if o.Budget > 0 {
		m.buckets[meterSharePoint] = &bucket{limit: float64(o.Budget), window: time.Minute, tokens: float64(o.Budget), at: now}
	}
	if o.EntraBudget > 0 {
		m.buckets[meterEntra] = &bucket{limit: float64(o.EntraBudget), window: 10 * time.Second, tokens: float64(o.EntraBudget), at: now}
	}
	return m
}

// charge meters one request (a $batch envelope is free: its sub-requests
// are charged one by one). It returns a 429 reply when the budget cannot
// pay, and the budget headers to add to the answer.
func (m *meterState) charge(kind service, method, path, rawQuery string, sub bool) (*reply, http.Header) {
	meter, cost, label := costOf(kind, method, path, rawQuery, m.restCost)
	m.mu.Lock()
	defer m.mu.Unlock()
	if sub {
		m.usage.SubRequests++
	} else {
		m.usage.Requests++
	}
	m.usage.ByKind[label]++
	if label == "batch" {
		return nil, nil
	}
	h := http.Header{}
	b := m.buckets[meter]
	if b != nil {
		now := m.clock.Now()
		b.refill(now)
		if b.tokens < float64(cost) {
			m.usage.Throttled++
			m.usage.ThrottledByKind[label]++
			wait := time.Duration((float64(cost) - b.tokens) / b.limit * float64(b.window))
			rr := graphError(http.StatusTooManyRequests, "TooManyRequests", "The request has been throttled.")
			if kind == svcCSOM {
				rr = csomError(http.StatusTooManyRequests, "Microsoft.SharePoint.Client.ServerException", "The request has been throttled.")
			}
			rr.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			m.budgetHeaders(meter, b, rr.header)
			return rr, nil
		}
		b.tokens -= float64(cost)
		m.budgetHeaders(meter, b, h)
	}
	switch meter {
	case meterSharePoint:
		m.usage.RU += cost
	case meterEntra:
		m.usage.EntraRU += cost
	}
	return nil, h
}

// budgetHeaders are sent once 80% of a budget is spent, as the services
// do: SharePoint's RateLimit-* and Entra's x-ms-throttle-limit-percentage.
func (m *meterState) budgetHeaders(meter string, b *bucket, h http.Header) {
	used := 1 - b.tokens/b.limit
	if used < 0.8 {
		return
	}
	switch meter {
	case meterSharePoint:
		h.Set("RateLimit-Limit", strconv.Itoa(int(b.limit)))
		h.Set("RateLimit-Remaining", strconv.Itoa(max(0, int(b.tokens))))
		reset := (b.limit - b.tokens) / b.limit * b.window.Seconds()
		h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(reset))))
	case meterEntra:
		h.Set("x-ms-throttle-limit-percentage", strconv.FormatFloat(math.Min(used, 1), 'f', 2, 64))
	}
}

func (m *meterState) snapshot() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.usage
	u.ByKind = make(map[string]int64, len(m.usage.ByKind))
	for k, v := range m.usage.ByKind {
		u.ByKind[k] = v
	}
	u.ThrottledByKind = make(map[string]int64, len(m.usage.ThrottledByKind))
	for k, v := range m.usage.ThrottledByKind {
		u.ThrottledByKind[k] = v
	}
	return u
}

func (m *meterState) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.usage = Usage{ByKind: map[string]int64{}, ThrottledByKind: map[string]int64{}}
}

// costOf prices a request with SharePoint's published resource-unit costs
// (1 single item or delta page with a token, 2 multi-item query or delta
// without token or write, 5 permission operation; CSOM, which has no
// published cost, as a multi-item query) and Graph's identity and access
// costs for the rest. label names the endpoint kind for the counters.
func costOf(kind service, method, path, rawQuery string, restCost int64) (meter string, cost int64, label string) {
	switch kind {
	case svcCSOM:
		return meterSharePoint, 2, "csom"
	case svcExchange:
		return meterOther, 1, "exchange"
	case svcTeams:
		return meterOther, 1, "teams"
	case svcFabric:
		return meterOther, 1, "fabric"
	case svcSPREST:
		if method == http.MethodGet && siteGroupsPath.MatchString(path) {
			return meterSharePoint, restCost, "site groups"
		}
		if method == http.MethodGet && siteUsersPath.MatchString(path) {
			return meterSharePoint, restCost, "site users"
		}
		return meterSharePoint, 5, "permissions" // a sharing (permission) operation
	case svcGraph:
	default:
		return meterOther, 0, "unknown"
	}
	p := path
	for _, v := range []string{"/v1.0", "/beta"} {
		p = strings.TrimPrefix(p, v)
	}
	if p == "/$batch" {
		return meterOther, 0, "batch"
	}
	q, _ := url.ParseQuery(rawQuery)
	seg := strings.Split(strings.Trim(p, "/"), "/")
	last := seg[len(seg)-1]
	switch seg[0] {
	case "sites", "drives", "shares", "admin":
		switch {
		case last == "permissions" || len(seg) > 1 && seg[len(seg)-2] == "permissions":
			return meterSharePoint, 5, "permissions"
		case method != http.MethodGet:
			return meterSharePoint, 2, "write"
		case last == "delta":
			l := "drive delta"
			if seg[0] == "sites" {
				l = "sites delta"
			}
			if q.Get("token") != "" {
				return meterSharePoint, 1, l
			}
			return meterSharePoint, 2, l
		case last == "getAllSites":
			return meterSharePoint, 2, "sites"
		case last == "drives":
			return meterSharePoint, 2, "drives"
		}
		return meterSharePoint, 1, "item"
	}
	c := int64(1)
	label = seg[0]
	if method == http.MethodGet {
		switch {
		case p == "/users" || p == "/users/delta":
			c = 2
			label = "users"
			if p == "/users/delta" {
				label = "users delta"
			} else if strings.Contains(q.Get("$select"), "signInActivity") {
				label = "sign-ins"
			}
		case len(seg) == 3 && seg[0] == "users":
			label = "users " + seg[2]
		}
		if q.Get("$select") != "" {
			c--
		}
		if q.Get("$expand") != "" {
			c++
		}
		if t, err := strconv.Atoi(q.Get("$top")); err == nil && t < 20 {
			c--
		}
	}
	return meterEntra, max(c, 1), label
}

// String is for logs.
func (u Usage) String() string {
	return fmt.Sprintf("requests=%d sub=%d ru=%d entraRu=%d throttled=%d", u.Requests, u.SubRequests, u.RU, u.EntraRU, u.Throttled)
}
