package m365test_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

var fabrikam = filepath.Join(repoRoot, "testdata", "tenants", "fabrikam")

// scanWithFault scans fabrikam with one fault injected.
func scanWithFault(t *testing.T, pattern string, f m365test.Fault, tweak func(*m365.Options)) (*tenant.Snapshot, *m365test.Server) {
	t.Helper()
	srv, err := m365test.New(fabrikam, m365test.Options{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Faults.Add(pattern, f)
	co := srv.ClientOptions()
	co.Sleep = func(context.Context, time.Duration) error { return nil }
	if tweak != nil {
		tweak(&co)
	}
	c, err := m365.New(co)
	if err != nil {
		t.Fatal(err)
	}
	snap := scanner.Scan(context.Background(), m365.Sources(c, m365.SourceOptions{}), scanner.Options{Tenant: srv.Meta().Tenant, Timeout: 20 * time.Second})
	return snap, srv
}

// TestSectionFaults breaks one endpoint of each section: that section is
// failed or partial with an error naming the endpoint, every other section
// is complete, and no rule over the broken section passes.
func TestSectionFaults(t *testing.T) {
	base, err := baselines.Load("recommended")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		section tenant.Section
		pattern string
		state   tenant.State
		mention string
	}{
		{tenant.SectionSharePoint, "GET /v1.0/admin/sharepoint/settings", tenant.StatePartial, "/v1.0/admin/sharepoint/settings: HTTP 500"},
		{tenant.SectionSharePoint, "CSOM Tenant", tenant.StatePartial, "ProcessQuery: HTTP 500"},
		{tenant.SectionSites, "CSOM GetSitePropertiesFromSharePoint", tenant.StateFailed, "ProcessQuery: HTTP 500"},
		{tenant.SectionLinks, "GET /v1.0/drives/*/root/delta", tenant.StatePartial, "/root/delta: HTTP 500"},
		{tenant.SectionLinks, "GET /v1.0/drives/*/items/*/permissions", tenant.StatePartial, "/permissions: HTTP 500"},
		{tenant.SectionGuests, "GET /v1.0/users", tenant.StateFailed, "GET /v1.0/users: HTTP 500"},
		{tenant.SectionGuests, "GET /v1.0/users/*/memberOf", tenant.StatePartial, "/memberOf: HTTP 500"},
		{tenant.SectionEntra, "GET /v1.0/policies/authorizationPolicy", tenant.StatePartial, "authorizationPolicy: HTTP 500"},
		{tenant.SectionEntra, "GET /beta/policies/b2bManagementPolicies", tenant.StatePartial, "b2bManagementPolicies: HTTP 500"},
		{tenant.SectionGroups, "GET /v1.0/groupSettings", tenant.StateFailed, "groupSettings: HTTP 500"},
		{tenant.SectionGroups, "GET /v1.0/groups/*/settings", tenant.StatePartial, "/settings: HTTP 500"},
		{tenant.SectionExchange, "EXO Get-SharingPolicy", tenant.StateFailed, "Get-SharingPolicy: POST /adminapi/beta/"},
		{tenant.SectionExchange, "EXO Get-OrganizationRelationship", tenant.StateFailed, "Get-OrganizationRelationship"},
	}
	for _, tt := range tests {
		t.Run(string(tt.section)+"/"+tt.pattern, func(t *testing.T) {
			snap, srv := scanWithFault(t, tt.pattern, m365test.Fault{Status: http.StatusInternalServerError}, nil)
			if srv.Faults.Fired(tt.pattern) == 0 {
				t.Fatalf("fault %q never fired", tt.pattern)
			}
			st := snap.Status[tt.section]
			if st.State != tt.state {
				t.Errorf("state %q, want %q (error %q)", st.State, tt.state, st.Error)
			}
			if !strings.Contains(st.Error, tt.mention) {
				t.Errorf("error %q does not mention %q", st.Error, tt.mention)
			}
			for _, sec := range tenant.AllSections {
				if sec != tt.section && !snap.Complete(sec) {
					t.Errorf("section %s: %+v, want complete", sec, snap.Status[sec])
				}
			}
			for _, r := range rules.Evaluate(snap, base) {
				if r.Section == tt.section && r.Outcome == tenant.Pass {
					t.Errorf("rule %s passed over a %s section (%s)", r.RuleID, st.State, r.ObjectKey)
				}
			}
		})
	}
}

// recordSleeps returns a Sleep that records waits instead of sleeping.
func recordSleeps(mu *sync.Mutex, waits *[]time.Duration) func(*m365.Options) {
	return func(o *m365.Options) {
		o.Sleep = func(_ context.Context, d time.Duration) error {
			mu.Lock()
			*waits = append(*waits, d)
			mu.Unlock()
			return nil
		}
	}
}

func TestTransientFaultsAreRetried(t *testing.T) {
	tests := []struct {
		name     string
		pattern  string
		fault    m365test.Fault
		section  tenant.Section
		wantWait time.Duration // 0: any backoff
		throttle int
	}{
		{"429 with Retry-After", "GET /v1.0/users", m365test.Fault{Status: 429, RetryAfter: 3 * time.Second, Times: 1}, tenant.SectionGuests, 3 * time.Second, 1},
		{"429 inside $batch", "GET /v1.0/users/*/memberOf", m365test.Fault{Status: 429, RetryAfter: 2 * time.Second, Times: 1}, tenant.SectionGuests, 2 * time.Second, 1},
		{"503 with Retry-After on CSOM", "CSOM Tenant", m365test.Fault{Status: 503, RetryAfter: time.Second, Times: 1}, tenant.SectionSharePoint, time.Second, 1},
		{"500 on Exchange", "EXO Get-SharingPolicy", m365test.Fault{Status: 500, Times: 2}, tenant.SectionExchange, 0, 0},
		{"truncated body once", "GET /v1.0/groupSettings", m365test.Fault{Truncate: true, Times: 1}, tenant.SectionGroups, 0, 0},
		{"expired token once", "GET /v1.0/policies/authorizationPolicy", m365test.Fault{ExpiredToken: true, Times: 1}, tenant.SectionEntra, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var waits []time.Duration
			snap, srv := scanWithFault(t, tt.pattern, tt.fault, recordSleeps(&mu, &waits))
			if srv.Faults.Fired(tt.pattern) == 0 {
				t.Fatal("fault never fired")
			}
			for _, sec := range tenant.AllSections {
				if !snap.Complete(sec) {
					t.Errorf("section %s: %+v, want complete", sec, snap.Status[sec])
				}
			}
			st := snap.Status[tt.section]
			if st.Retries < 1 {
				t.Errorf("retries = %d, want at least 1", st.Retries)
			}
			if st.Throttled != tt.throttle {
				t.Errorf("throttled = %d, want %d", st.Throttled, tt.throttle)
			}
			switch {
			case tt.wantWait > 0:
				// The retried request waits the Retry-After; other requests
				// on the same budget are held until it has passed, never
				// longer.
				exact := 0
				for _, w := range waits {
					if w == tt.wantWait {
						exact++
					}
					if w > tt.wantWait {
						t.Errorf("waited %s, longer than the Retry-After %s", w, tt.wantWait)
					}
				}
				if exact != 1 {
					t.Errorf("waits %v, want the Retry-After %s exactly once", waits, tt.wantWait)
				}
			case tt.wantWait == 0:
				if len(waits) == 0 {
					t.Error("no backoff before retrying")
				}
			default:
				if len(waits) != 0 {
					t.Errorf("a token refresh should not wait, waited %v", waits)
				}
			}
		})
	}
}

// TestRetryAfterWaitedOut uses the real clock with a one-second Retry-After.
func TestRetryAfterWaitedOut(t *testing.T) {
	srv, err := m365test.New(fabrikam, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Faults.Add("EXO Get-OrganizationRelationship", m365test.Fault{Status: 429, RetryAfter: time.Second, Times: 1})
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	snap := scanner.Scan(context.Background(), m365.Sources(c, m365.SourceOptions{}), scanner.Options{})
	if el := time.Since(start); el < time.Second {
		t.Errorf("scan took %s; the Retry-After of 1s was not honoured", el)
	}
	if st := snap.Status[tenant.SectionExchange]; st.State != tenant.StateComplete || st.Throttled != 1 || st.Retries != 1 {
		t.Errorf("exchange status %+v, want complete with one throttled retry", st)
	}
	if len(snap.Exchange.OrganizationRelationships) == 0 {
		t.Error("organization relationships lost after the retry")
	}
}

// TestPersistentFaultsFail checks that bad bodies are errors naming the
// endpoint, never silent empty lists.
func TestPersistentFaultsFail(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		fault   m365test.Fault
		section tenant.Section
		mention []string
	}{
		{"truncated users", "GET /v1.0/users", m365test.Fault{Truncate: true}, tenant.SectionGuests, []string{"GET /v1.0/users", "truncated"}},
		{"invalid JSON users", "GET /v1.0/users", m365test.Fault{InvalidJSON: true}, tenant.SectionGuests, []string{"GET /v1.0/users", "malformed JSON"}},
		{"invalid JSON sites", "GET /v1.0/sites/getAllSites", m365test.Fault{InvalidJSON: true}, tenant.SectionSites, []string{"GET /v1.0/sites/getAllSites", "malformed JSON"}},
		{"truncated CSOM", "CSOM GetSitePropertiesFromSharePoint", m365test.Fault{Truncate: true}, tenant.SectionSites, []string{"ProcessQuery", "truncated"}},
		{"invalid JSON Exchange", "EXO Get-SharingPolicy", m365test.Fault{InvalidJSON: true}, tenant.SectionExchange, []string{"Get-SharingPolicy", "malformed JSON"}},
		{"expired token every time", "GET /v1.0/groupSettings", m365test.Fault{ExpiredToken: true}, tenant.SectionGroups, []string{"HTTP 401", "token is expired"}},
		{"throttled beyond retries", "GET /v1.0/groupSettings", m365test.Fault{Status: 429, RetryAfter: time.Second}, tenant.SectionGroups, []string{"HTTP 429", "after 6 attempts"}},
		{"forbidden", "GET /v1.0/policies/crossTenantAccessPolicy/default", m365test.Fault{Status: 403}, tenant.SectionEntra, []string{"HTTP 403 Authorization_RequestDenied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, _ := scanWithFault(t, tt.pattern, tt.fault, nil)
			st := snap.Status[tt.section]
			if st.State == tenant.StateComplete {
				t.Fatalf("section %s complete despite %s", tt.section, tt.name)
			}
			for _, m := range tt.mention {
				if !strings.Contains(st.Error, m) {
					t.Errorf("error %q does not mention %q", st.Error, m)
				}
			}
			if tt.section == tenant.SectionGuests && snap.Guests != nil {
				t.Errorf("failed guests section still carries %d guests", len(snap.Guests))
			}
		})
	}
}

// TestSlowSectionTimesOut: one slow service fails its own section only.
func TestSlowSectionTimesOut(t *testing.T) {
	srv, err := m365test.New(fabrikam, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Faults.Add("EXO Get-SharingPolicy", m365test.Fault{Delay: 800 * time.Millisecond})
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	snap := scanner.Scan(context.Background(), m365.Sources(c, m365.SourceOptions{}), scanner.Options{
		Timeout: 10 * time.Second, Timeouts: map[tenant.Section]time.Duration{tenant.SectionExchange: 200 * time.Millisecond},
	})
	st := snap.Status[tenant.SectionExchange]
	if st.State != tenant.StateFailed || !strings.Contains(st.Error, "section timeout 200ms") {
		t.Errorf("exchange %+v, want failed with the section timeout", st)
	}
	for _, sec := range tenant.AllSections {
		if sec != tenant.SectionExchange && !snap.Complete(sec) {
			t.Errorf("section %s: %+v", sec, snap.Status[sec])
		}
	}
}

// TestSignInActivityForbidden: without the licence or permission for sign-in
// activity the guests are still read, with their last sign-in unknown.
func TestSignInActivityForbidden(t *testing.T) {
	snap, srv := scanWithFault(t, "GET /v1.0/users", m365test.Fault{Status: http.StatusForbidden, Times: 1}, nil)
	if srv.Faults.Fired("GET /v1.0/users") != 1 {
		t.Fatal("fault did not fire")
	}
	if !snap.Complete(tenant.SectionGuests) || len(snap.Guests) == 0 {
		t.Fatalf("guests %+v, %d guests", snap.Status[tenant.SectionGuests], len(snap.Guests))
	}
	for _, g := range snap.Guests {
		if g.SignIn != nil {
			t.Errorf("guest %s has sign-in %+v, want unknown", g.ID, g.SignIn)
		}
		if g.Sponsors == nil {
			t.Errorf("guest %s lost its sponsors", g.ID)
		}
	}
}
