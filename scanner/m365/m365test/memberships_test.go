package m365test_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/tenant"

	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// TestMembershipChangesFromGroupsDelta: a change set adds guests to
// groups without changing the users (users delta is silent); the
// incremental scan finds them through groups delta, reads memberships of
// changed guests only (at most two reads per changed guest), and its
// guests equal a full read's.
func TestMembershipChangesFromGroupsDelta(t *testing.T) {
	spec := m365test.Spec{Seed: 11, Sites: 2, ItemsPerDrive: 50, SharedPerDrive: 5, LinksPerShared: 1, Guests: 2000}
	srv, err := m365test.NewGenerated(spec, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	st.commit(genScan(t, srv, st))
	truth := srv.Generated().ApplyChanges(0.02)
	srv.ResetUsage()
	inc := genScan(t, srv, st)
	u := srv.Usage()
	if n := u.ByKind["users memberOf"]; n == 0 || n > int64(2*len(truth.Guests)) {
		t.Errorf("%d membership reads for %d changed guests", n, len(truth.Guests))
	}
	if u.ByKind["users"] != 0 {
		t.Errorf("the guests were listed in full (%d pages)", u.ByKind["users"])
	}
	full := genScan(t, srv, nil)
	if len(inc.Guests) != len(full.Guests) {
		t.Fatalf("incremental %d guests, full %d", len(inc.Guests), len(full.Guests))
	}
	joined := 0
	for i := range full.Guests {
		a, b := inc.Guests[i], full.Guests[i]
		if a.ID != b.ID || len(a.MemberOf) != len(b.MemberOf) {
			t.Fatalf("guest %s: incremental memberships %v, full %v", b.ID, a.MemberOf, b.MemberOf)
		}
		for j := range a.MemberOf {
			if a.MemberOf[j].ID != b.MemberOf[j].ID {
				t.Fatalf("guest %s: incremental memberships %v, full %v", b.ID, a.MemberOf, b.MemberOf)
			}
		}
		if len(b.MemberOf) > 2 {
			joined++ // more than the two groups a guest starts with
		}
	}
	if joined == 0 {
		t.Fatal("no guest joined a group: the test proves nothing")
	}
}

// TestIncrementalGuestsInAnyStoredOrder: stored guests handed back out of
// ID order (a store whose collation is not bytewise), one of them twice
// with a stale copy first, still merge into what a full read gives; the
// guests' count is kept for the next read, and guests in the same groups
// share one list of them.
func TestIncrementalGuestsInAnyStoredOrder(t *testing.T) {
	spec := m365test.Spec{Seed: 12, Sites: 2, ItemsPerDrive: 50, SharedPerDrive: 5, LinksPerShared: 1, Guests: 1500}
	srv, err := m365test.NewGenerated(spec, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	first := genScan(t, srv, st)
	st.commit(first)
	if got := st.tokens["guests/count"]; got != strconv.Itoa(len(first.Guests)) {
		t.Fatalf("guests/count token %q after a full read of %d guests", got, len(first.Guests))
	}
	stale := first.Guests[len(first.Guests)/2]
	st.reorder = func(gs []tenant.Guest) []tenant.Guest {
		slices.Reverse(gs)
		s := stale
		s.DisplayName, s.MemberOf = "stale copy", []tenant.Ref{}
		return append([]tenant.Guest{s}, gs...)
	}
	truth := srv.Generated().ApplyChanges(0.02)
	srv.ResetUsage()
	inc := genScan(t, srv, st)
	if u := srv.Usage(); u.ByKind["users"] != 0 || len(truth.Guests) == 0 {
		t.Fatalf("%d guests changed; the guests were listed in full (%d pages): the incremental read is not tested", len(truth.Guests), u.ByKind["users"])
	}
	full := genScan(t, srv, nil)
	if len(inc.Guests) != len(full.Guests) {
		t.Fatalf("incremental %d guests, full %d", len(inc.Guests), len(full.Guests))
	}
	for i := range full.Guests {
		a, b := inc.Guests[i], full.Guests[i]
		if a.ID != b.ID || a.DisplayName != b.DisplayName || a.State != b.State || !reflect.DeepEqual(a.SignIn, b.SignIn) || !slices.Equal(a.MemberOf, b.MemberOf) || !slices.Equal(a.Sponsors, b.Sponsors) {
			t.Fatalf("guest %d: incremental %+v, full %+v", i, a, b)
		}
	}
	// Nothing changed since: no membership or sponsor is read again.
	st.commit(inc)
	srv.ResetUsage()
	genScan(t, srv, st)
	if u := srv.Usage(); u.ByKind["users memberOf"] != 0 || u.ByKind["users sponsors"] != 0 || u.ByKind["users"] != 0 {
		t.Fatalf("an unchanged incremental read listed %d pages of guests, %d memberships and %d sponsors", u.ByKind["users"], u.ByKind["users memberOf"], u.ByKind["users sponsors"])
	}
	shared, pairs := 0, 0
	byList := map[string]*tenant.Ref{}
	for _, g := range inc.Guests {
		if len(g.MemberOf) == 0 {
			continue
		}
		k := fmt.Sprint(g.MemberOf)
		if p, ok := byList[k]; ok {
			pairs++
			if p == &g.MemberOf[0] {
				shared++
			}
			continue
		}
		byList[k] = &g.MemberOf[0]
	}
	if pairs == 0 || shared != pairs {
		t.Fatalf("%d of %d equal membership lists share their storage", shared, pairs)
	}
}

// TestGuestRefreshFollowsScanStart: the guests' full refresh is due by the
// scans' own start times, not by the service's clock. A fast clock (a day
// and more of the service's time between two scans said to start a
// millisecond apart) leaves the second read incremental; a scan said to
// start a refresh later reads in full, whatever the service's clock says,
// and so does one a refresh earlier than the stored full read.
func TestGuestRefreshFollowsScanStart(t *testing.T) {
	spec := m365test.Spec{Seed: 13, Sites: 1, ItemsPerDrive: 20, SharedPerDrive: 2, LinksPerShared: 1, Guests: 600}
	srv, err := m365test.NewGenerated(spec, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	at := time.Now().UTC().Truncate(time.Second)
	// guestPages scans the guests said to start at started and returns how
	// many pages of users were listed (0: an incremental read).
	guestPages := func(started time.Time) int64 {
		t.Helper()
		srv.ResetUsage()
		st.commit(genScanWith(t, srv, m365.SourceOptions{Started: started, GuestRefresh: 24 * time.Hour, State: st}, tenant.SectionGuests))
		return srv.Usage().ByKind["users"]
	}
	if n := guestPages(at); n == 0 {
		t.Fatal("the first read listed no guests")
	}
	srv.Clock().Switch(srv.Clock().Now().Add(30*time.Hour), 1)
	if n := guestPages(at.Add(time.Millisecond)); n != 0 {
		t.Errorf("a scan a millisecond after the full read listed %d pages of guests: the refresh followed the service's clock", n)
	}
	if n := guestPages(at.Add(25 * time.Hour)); n == 0 {
		t.Error("a scan 25 hours after the full read did not read the guests in full")
	}
	// A full read stamped more than a refresh ahead of the scan (a clock
	// that went back) is not trusted.
	if n := guestPages(at); n == 0 {
		t.Error("a scan 25 hours before the stored full read did not read the guests in full")
	}
}
