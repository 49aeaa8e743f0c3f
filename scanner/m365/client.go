package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
)

// UserAgent follows SharePoint's traffic-decoration convention
// (NONISV|Company|App/Version), which throttling treats more gently.
func UserAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "NONISV|sharedrift|sharedrift/" + version
}

// Options configures a Client.
type Options struct {
	// TenantID is the directory ID; the Exchange admin API routes by it.
	TenantID  string
	Endpoints Endpoints
	Tokens    TokenProvider
	// HTTPClient defaults to a client with a 2-minute per-request timeout.
	HTTPClient *http.Client
	// MaxRetries bounds retries of one request (default 5).
	MaxRetries int
	// MaxWait caps one Retry-After or backoff wait (default 5 minutes).
	MaxWait time.Duration
	// Sleep waits between retries; tests shorten it. Default honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Pacer is asked before every request and told every response's
	// headers, so that a scan slows down before the service throttles it
	// (default: a BudgetPacer; a CostPacer also learns each request's
	// cost and bounds the requests in flight).
	Pacer Pacer
	// Recorder, when set, receives every successful response.
	Recorder Recorder
	// PageSize is the $top asked of Graph collections (default 999).
	PageSize int
	Logger   *slog.Logger
	// Version is the binary's, reported in the User-Agent ("dev" when empty).
	Version string
}

// Pacer spaces requests per audience. Observe sees every response's
// headers (RateLimit-*, x-ms-throttle-limit-percentage).
type Pacer interface {
	Wait(ctx context.Context, aud Audience) error
	Observe(aud Audience, h http.Header)
}

// Recording is one response as the service sent it, for fixtures.
type Recording struct {
	Audience    Audience
	Method      string
	URL         string
	RequestBody []byte
	Status      int
	Body        []byte
}

// Recorder receives successful responses. It must not keep RequestBody or
// Body past the call without copying.
type Recorder interface {
	Record(r Recording)
}

// Client calls Microsoft Graph, SharePoint admin CSOM and the Exchange
// Online admin API for one tenant. It is safe for concurrent use.
type Client struct {
	o      Options
	http   *http.Client
	logger *slog.Logger
}

// maxBody bounds one response body; larger bodies are an error, not a
// silent cut.
const maxBody = 256 << 20

// New returns a client. Tokens and the three endpoint URLs are required.
func New(o Options) (*Client, error) {
	if o.Tokens == nil {
		return nil, errors.New("m365 client: no token provider")
	}
	if o.Endpoints.Graph == "" || o.Endpoints.SharePointAdmin == "" || o.Endpoints.Exchange == "" {
		return nil, errors.New("m365 client: Graph, SharePoint admin and Exchange endpoints are required")
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 5
	}
	if o.MaxWait == 0 {
		o.MaxWait = 5 * time.Minute
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.PageSize == 0 {
		o.PageSize = 999
	}
	if o.Pacer == nil {
		bp := NewBudgetPacer()
		bp.Sleep = o.Sleep
		o.Pacer = bp
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &Client{o: o, http: hc, logger: lg}, nil
}

// Endpoints returns the client's service endpoints.
func (c *Client) Endpoints() Endpoints { return c.o.Endpoints }

// TenantID returns the configured directory ID.
func (c *Client) TenantID() string { return c.o.TenantID }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// APIError is a non-success answer from one of the services.
type APIError struct {
	// Endpoint is "METHOD path" without the query string.
	Endpoint string
	Status   int
	Code     string
	Message  string
}

func (e *APIError) Error() string {
	msg := strings.TrimSpace(e.Code + ": " + e.Message)
	msg = strings.TrimPrefix(strings.TrimSuffix(msg, ":"), ": ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s: HTTP %d %s", e.Endpoint, e.Status, msg)
}

// IsStatus reports whether err is an APIError with one of the statuses.
func IsStatus(err error, status ...int) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, s := range status {
		if ae.Status == s {
			return true
		}
	}
	return false
}

// request is one logical call; send retries it as needed.
type request struct {
	aud    Audience
	method string
	url    string
	body   []byte
	header http.Header
	// meter and cost override the cost model (a $batch costs what its
	// sub-requests cost); zero cost means "derive from the request".
	meter Meter
	cost  int64
	// readOnly marks a POST that only reads (a $batch of GETs, a CSOM
	// query, a Get- cmdlet), so that it may be retried like a GET.
	readOnly bool
}

// idempotent reports whether sending r twice does no more than sending it
// once. A POST that writes is not: a 5xx or a broken connection may come
// after the service applied it, so it is retried only when the service
// refused it outright (429).
func (r request) idempotent() bool { return r.method != http.MethodPost || r.readOnly }

type response struct {
	status int
	header http.Header
	body   []byte
}

// endpointName names a URL for errors: method and path, no query, no host.
func endpointName(method, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return method + " " + rawURL
	}
	return method + " " + u.Path
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
		status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

// send performs r with bounded retries on throttling, 5xx and transport
// errors, honouring Retry-After, and refreshes the token once on 401.
func (c *Client) send(ctx context.Context, r request) (*response, error) {
	stats := scanner.StatsFrom(ctx)
	name := endpointName(r.method, r.url)
	scope := c.o.Endpoints.Scope(r.aud)
	refreshed := false
	meter, cost := r.meter, r.cost
	if cost == 0 {
		meter, cost = requestCost(r)
	}
	cp, _ := c.o.Pacer.(CostPacer)
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		done := func(int, http.Header) {}
		switch {
		case cp != nil:
			d, err := cp.Acquire(ctx, Ticket{Audience: r.aud, Meter: meter, Cost: cost, Retry: attempt > 0})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			done = d
		case c.o.Pacer != nil:
			if err := c.o.Pacer.Wait(ctx, r.aud); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			done = func(_ int, h http.Header) {
				if h != nil {
					c.o.Pacer.Observe(r.aud, h)
				}
			}
		}
		tok, err := c.o.Tokens.Token(ctx, scope)
		if err != nil {
			done(0, nil)
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
		if err != nil {
			done(0, nil)
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("User-Agent", UserAgent(c.o.Version))
		if stats != nil {
			stats.Calls.Add(1)
			if attempt > 0 {
				stats.Retries.Add(1)
			}
			if meter == MeterSharePoint {
				stats.RU.Add(cost)
			}
		}
		start := time.Now()
		resp, err := c.http.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
			resp.Body.Close()
			if err == nil && len(body) > maxBody {
				err = fmt.Errorf("response body larger than %d bytes", maxBody)
			}
			if err != nil {
				err = fmt.Errorf("read response body (truncated after %d bytes): %w", len(body), err)
			}
		}
		if err != nil {
			done(0, nil)
			c.logRequest(ctx, r, 0, meter, cost, time.Since(start), attempt)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", name, ctx.Err())
			}
			if !r.idempotent() {
				return nil, fmt.Errorf("%s: %w (not retried: the write may have been applied)", name, err)
			}
			if attempt >= c.o.MaxRetries {
				return nil, fmt.Errorf("%s: %w (after %d attempts)", name, err, attempt+1)
			}
			wait := c.backoff(attempt)
			c.logger.WarnContext(ctx, "request failed, retrying", slog.String("endpoint", name), slog.String("error", err.Error()), slog.Duration("wait", wait))
			if err := c.o.Sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		done(resp.StatusCode, resp.Header)
		c.logRequest(ctx, r, resp.StatusCode, meter, cost, time.Since(start), attempt)
		out := &response{status: resp.StatusCode, header: resp.Header, body: body}
		if resp.StatusCode < 300 {
			if c.o.Recorder != nil {
				c.o.Recorder.Record(Recording{Audience: r.aud, Method: r.method, URL: r.url, RequestBody: r.body, Status: resp.StatusCode, Body: body})
			}
			return out, nil
		}
		apiErr := decodeError(name, resp.StatusCode, body)
		if resp.StatusCode == http.StatusUnauthorized && strings.Contains(apiErr.Message, "Unsupported app only token") {
			// Refreshing cannot help: the credential kind is wrong.
			apiErr.Message = SecretTokenFix
			return nil, apiErr
		}
		if resp.StatusCode == http.StatusUnauthorized && !refreshed {
			// An expired token is refreshed once; a second 401 is final.
			if inv, ok := c.o.Tokens.(invalidator); ok {
				inv.Invalidate(scope)
			}
			refreshed = true
			if stats != nil {
				stats.Retries.Add(1)
			}
			attempt--
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			if stats != nil {
				stats.Throttled.Add(1)
			}
		}
		if !retryable(resp.StatusCode) || attempt >= c.o.MaxRetries ||
			(!r.idempotent() && resp.StatusCode != http.StatusTooManyRequests) {
			if attempt > 0 {
				apiErr.Message += fmt.Sprintf(" (after %d attempts)", attempt+1)
			}
			return nil, apiErr
		}
		wait, ok := retryAfter(resp.Header, time.Now())
		if !ok {
			wait = c.backoff(attempt)
		}
		if wait > c.o.MaxWait {
			wait = c.o.MaxWait
		}
		c.logger.WarnContext(ctx, "service asked to retry", slog.String("endpoint", name), slog.Int("status", resp.StatusCode), slog.Duration("wait", wait))
		if err := c.o.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
}

// logRequest writes one debug line per HTTP request sent: what was
// asked (method and full URL, query included), what came back, what it
// cost and how long it took. The Authorization header is never logged.
func (c *Client) logRequest(ctx context.Context, r request, status int, meter Meter, cost int64, d time.Duration, attempt int) {
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	var ru int64
	if meter == MeterSharePoint {
		ru = cost
	}
	c.logger.DebugContext(ctx, "http request",
		slog.String("method", r.method), slog.String("url", r.url), slog.Int("status", status),
		slog.Int64("ru", ru), slog.Duration("duration", d), slog.Int("retry", attempt))
}

// backoff is exponential from 1s with jitter, capped at 60s.
func (c *Client) backoff(attempt int) time.Duration {
	d := time.Second << min(attempt, 6)
	d = min(d, 60*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// decodeError extracts code and message from a Graph, CSOM, Exchange or
// Fabric error body; an unparseable body still gives the status.
func decodeError(endpoint string, status int, body []byte) *APIError {
	e := &APIError{Endpoint: endpoint, Status: status}
	var g struct {
		Error struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
			Inner   struct {
				Internal struct {
					Message string `json:"message"`
				} `json:"internalException"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &g) == nil && (g.Error.Code != "" || g.Error.Message != "") {
		e.Code, e.Message = g.Error.Code, g.Error.Message
		if m := g.Error.Inner.Internal.Message; m != "" {
			e.Message = m
		}
		if m := exchangeDetailMessage(g.Error.Details); m != "" {
			e.Message = m
		}
		return e
	}
	var f struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &f) == nil && f.ErrorCode != "" {
		e.Code, e.Message = f.ErrorCode, f.Message
		return e
	}
	if info, err := csomErrorInfo(body); err == nil && info != nil {
		e.Code, e.Message = info.ErrorTypeName, info.ErrorMessage
		return e
	}
	e.Message = strings.TrimSpace(string(bytes.ToValidUTF8(body[:min(len(body), 200)], nil)))
	return e
}

// sameOrigin reports whether next points at the same scheme and host as
// base, so that a paging link can never send our token elsewhere.
func sameOrigin(base, next string) bool {
	b, err1 := url.Parse(base)
	n, err2 := url.Parse(next)
	return err1 == nil && err2 == nil && b.Scheme == n.Scheme && strings.EqualFold(b.Host, n.Host)
}

// jsonTypeOf names the JSON type a Go type is decoded from.
func jsonTypeOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Pointer:
		return jsonTypeOf(t.Elem())
	}
	return "number"
}

// decodeJSON unmarshals body into v, naming the endpoint on failure.
func decodeJSON(endpoint string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON input") {
			return fmt.Errorf("%s: truncated JSON response (%d bytes): %w", endpoint, len(body), err)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: malformed JSON response at byte %d of %d: %w", endpoint, se.Offset, len(body), err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field != "" {
				return fmt.Errorf("%s: field %q: expected %s, got %s: %w", endpoint, te.Field, jsonTypeOf(te.Type), te.Value, err)
			}
			return fmt.Errorf("%s: expected %s, got %s: %w", endpoint, jsonTypeOf(te.Type), te.Value, err)
		}
		return fmt.Errorf("%s: unexpected JSON response: %w", endpoint, err)
	}
	return nil
}
