// Package storetest is the conformance suite every store.Store
// implementation must pass. Run it from the implementation's tests with a
// factory that returns a fresh, empty, migrated store per call.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// NewStore returns a fresh, empty store using opts (which carry the test
// clock). It must register its own cleanup.
type NewStore func(t *testing.T, opts store.Options) store.Store

// Run runs the conformance suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, c *Clock)
	}{
		{"Migrations", testMigrations},
		{"FirstScanIsBaseline", testFirstScan},
		{"UnchangedRescanWritesNothing", testUnchanged},
		{"ChangesAndTransitions", testChanges},
		{"Reopen", testReopen},
		{"IncompleteSectionNeverResolvesOrRemoves", testIncomplete},
		{"IncompleteSectionBlankFieldsChangeNothing", testIncompleteBlank},
		{"UnknownDoesNotResolve", testUnknown},
		{"UnknownChangesNoFinding", testUnknownNoRewrite},
		{"RuleWideUnknownHoldsTheRulesFindings", testRuleWideUnknown},
		{"LastSeenOnlyWhenSeenFailing", testLastSeen},
		{"DuplicateResultsOneFinding", testDuplicateResults},
		{"ExceptionsInUse", testExceptions},
		{"SeverityEscalation", testEscalation},
		{"FindingEvents", testFindingEvents},
		{"AckAndSnooze", testAckSnooze},
		{"AcceptRisk", testAcceptRisk},
		{"FindingFilters", testFindingFilters},
		{"SearchBudget", testSearchBudget},
		{"ScanHistory", testHistory},
		{"RejectsBadInput", testBadInput},
		{"DeltaTokens", testDeltaTokens},
		{"Leases", testLeases},
		{"FencedScan", testFence},
		{"ChangeFeeds", testChangeFeeds},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrent},
		{"OutboxThreadIsLatestAnnouncement", testOutboxLatestThread},
		{"OutboxDigestMembers", testOutboxDigestMembers},
		{"OutboxClaimBookkeeping", testOutboxClaims},
		{"RemediationAudit", testRemediation},
		{"Prune", testPrune},
		{"ScopedScanTouchesOnlyItsScope", testScopedScan},
		{"ScopedPartialChangesNothing", testScopedPartial},
		{"PruneKeepsTheLatestWholeScan", testPruneKeepsWhole},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock(T0.Add(time.Hour))
			s := newStore(t, store.Options{Now: c.Now})
			tc.fn(t, s, c)
		})
	}
	t.Run("SpooledResultsLikeHeldResults", func(t *testing.T) { testSpooled(t, newStore) })
}

// testSpooled records the same scans into two stores, one with the
// results held in a slice and one with them streamed from a spool that
// spills every few results, and expects the same findings, counters and
// stored results: new, duplicate, unknown, resolved, reopened, refreshed
// and incomplete-section findings all go through both paths.
// record stores snap with results from Evaluate.
func record(t *testing.T, s store.Store, snap *tenant.Snapshot) store.Scan {
	t.Helper()
	sc, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: Evaluate(snap), Baseline: "test"})
	if err != nil {
		t.Fatalf("RecordScan: %v", err)
	}
	return sc
}

func fingerprint(rule, key, expected string) string {
	r := tenant.Result{RuleID: rule, ObjectKey: key, Expected: expected}
	return r.Fingerprint()
}

func linkFP(perm string) string {
	l := Link(perm, "")
	return fingerprint(RuleAnyoneLink, l.Key(), "no Anyone links")
}

var guestFP = fingerprint(RuleGuestSponsor, "guest:g2", "at least one sponsor")

// findings returns tenant findings by fingerprint.
func findings(t *testing.T, s store.Store) map[string]store.Finding {
	t.Helper()
	fs, err := s.FindingsList(context.Background(), store.FindingFilter{Tenant: Tenant})
	if err != nil {
		t.Fatalf("FindingsList: %v", err)
	}
	m := map[string]store.Finding{}
	for _, f := range fs {
		m[f.Fingerprint] = f
	}
	return m
}

func transitions(t *testing.T, s store.Store, scanID int64) map[string]store.TransitionKind {
	t.Helper()
	ts, err := s.Transitions(context.Background(), scanID)
	if err != nil {
		t.Fatalf("Transitions: %v", err)
	}
	m := map[string]store.TransitionKind{}
	for _, tr := range ts {
		m[tr.Finding.Fingerprint] = tr.Kind
	}
	return m
}

func changes(t *testing.T, s store.Store, scanID int64) []store.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), store.ChangeFilter{Tenant: Tenant, ScanID: scanID})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return cs
}

func changeSummary(cs []store.Change) []string {
	var out []string
	for _, c := range cs {
		var paths []string
		for _, f := range c.Fields {
			paths = append(paths, f.Path)
		}
		out = append(out, fmt.Sprintf("%s %s %s", c.Kind, c.Key, strings.Join(paths, ",")))
	}
	sort.Strings(out)
	return out
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
