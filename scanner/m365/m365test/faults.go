package m365test

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Fault is a failure injected into matching requests.
type Fault struct {
	// Status answers with this HTTP status and a service error body
	// (429 and 503 carry Retry-After when RetryAfter is set).
	Status     int
	RetryAfter time.Duration
	// ExpiredToken answers 401 "token is expired".
	ExpiredToken bool
	// Delay holds the response back (a slow service).
	Delay time.Duration
	// Truncate sends half of the real body and drops the connection.
	Truncate bool
	// InvalidJSON answers 200 with a body that is not JSON.
	InvalidJSON bool
	// Times limits how often the fault fires; 0 means every time.
	Times int
	// Rewrite replaces the body of a successful real answer with what it
	// returns: hostile or malformed responses shaped from real ones. It
	// may be called from several requests at once.
	Rewrite func(key string, body []byte) []byte
}

// before reports whether the fault replaces the real answer.
func (f Fault) before() bool { return f.Status != 0 || f.ExpiredToken || f.InvalidJSON }

// after alters a real answer (slow or truncated).
func (f Fault) after(key string, rr *reply) {
	rr.delay = f.Delay
	rr.truncate = f.Truncate
	if f.Rewrite != nil && rr.status/100 == 2 && len(rr.body) > 0 {
		rr.body = f.Rewrite(key, rr.body)
	}
}

// Faults holds injected faults keyed by endpoint pattern.
type Faults struct {
	mu    sync.Mutex
	rules []*faultRule
}

type faultRule struct {
	pattern string
	fault   Fault
	fired   int
}

// Add injects f into requests whose endpoint key matches pattern. Keys are
// "GET /v1.0/users", "POST /v1.0/$batch", "CSOM Tenant",
// "CSOM GetSitePropertiesFromSharePoint", "EXO Get-SharingPolicy"; a
// pattern is a path.Match glob ("GET /v1.0/drives/*/root/delta") or a
// key prefix ending in "*" ("GET /v1.0/users*"). Sub-requests of a $batch
// are matched by their own key.
func (fs *Faults) Add(pattern string, f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.rules = append(fs.rules, &faultRule{pattern: pattern, fault: f})
}

// Clear removes every fault.
func (fs *Faults) Clear() {
	fs.mu.Lock()
	fs.rules = nil
	fs.mu.Unlock()
}

// Fired reports how often faults matching pattern fired.
func (fs *Faults) Fired(pattern string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for _, r := range fs.rules {
		if r.pattern == pattern {
			n += r.fired
		}
	}
	return n
}

func matchKey(pattern, key string) bool {
	if ok, _ := path.Match(pattern, key); ok {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasPrefix(key, p) {
		return true
	}
	return pattern == key
}

// take returns the first live fault for key and counts it.
func (fs *Faults) take(key string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.rules {
		if !matchKey(r.pattern, key) || (r.fault.Times > 0 && r.fired >= r.fault.Times) {
			continue
		}
		r.fired++
		return r.fault, true
	}
	return Fault{}, false
}

// faultReply builds the answer for a replacing fault.
func (s *Server) faultReply(kind service, key string, f Fault) *reply {
	var rr *reply
	switch {
	case f.ExpiredToken:
		rr = authError(kind, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	case f.InvalidJSON:
		rr = &reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"value":[{"id":"1",` + "\x00" + `<html>oops`)}
	default:
		code := map[int]string{
			http.StatusTooManyRequests: "TooManyRequests", http.StatusServiceUnavailable: "serviceNotAvailable",
			http.StatusInternalServerError: "generalException", http.StatusUnauthorized: "InvalidAuthenticationToken",
			http.StatusForbidden: "Authorization_RequestDenied", http.StatusNotFound: "itemNotFound",
		}[f.Status]
		if code == "" {
			code = "UnknownError"
		}
		msg := fmt.Sprintf("injected fault on %s", key)
		if kind == svcCSOM {
			rr = csomError(f.Status, "Microsoft.SharePoint.Client.ServerException", msg)
		} else {
			rr = graphError(f.Status, code, msg)
		}
		if f.RetryAfter > 0 {
			rr.header.Set("Retry-After", fmt.Sprint(int(f.RetryAfter.Round(time.Second)/time.Second)))
		}
	}
	rr.delay = f.Delay
	return rr
}
