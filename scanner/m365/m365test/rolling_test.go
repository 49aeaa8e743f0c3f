package m365test_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/tenant"
)

// rollState is a memState whose every unit has the same turn.
type rollState struct {
	*memState
	turn m365.Turn
}

func (r *rollState) Turn(context.Context, string) m365.Turn { return r.turn }

// TestRollingVerifiedRead: a full read that is not deep keeps the stored
// detail of the Anyone links the groups confirm and reads the permissions
// of the other Anyone items (an orphaned group, a link the store does not
// know); a deep read reads them all. Either way the links are the
// tenant's, with the per-item detail.
func TestRollingVerifiedRead(t *testing.T) {
	srv := newGroupTenant(t)
	st := &rollState{memState: &memState{tokens: map[string]string{}, pending: map[string]string{}}}
	o := m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true, State: st}
	first := scanLinks(t, srv, o)
	st.commit(first)
	want := byKey(first)
	anyone := map[string]bool{}
	for _, l := range want {
		if l.Scope == tenant.LinkScopeAnonymous {
			anyone[l.DriveID+"/"+l.ItemID] = true
		}
	}
	truth := truthKeys(srv)

	// A link the store lost (as if re-created with a new id unseen):
	// the groups name a link the store does not hold, so its item is read.
	var lost tenant.Link
	for i, l := range st.links {
		if l.Scope == tenant.LinkScopeAnonymous {
			lost = l
			st.links[i].PermissionID = "00000000-0000-4000-8000-000000000000"
			break
		}
	}

	st.turn = m365.Turn{Full: true}
	verified := scanLinks(t, srv, o)
	reads := srv.Usage().ByKind["permissions"]
	got := byKey(verified)
	if len(got) != len(truth) {
		t.Fatalf("verified read found %d links, the tenant has %d", len(got), len(truth))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !truth[k] {
			t.Fatalf("link %s: found %v, in the tenant %v", k, ok, truth[k])
		}
		if w.Scope == tenant.LinkScopeAnonymous && (g.WebURL != w.WebURL || (g.Expires == nil) != (w.Expires == nil) ||
			g.Expires != nil && !g.Expires.Equal(*w.Expires) || g.HasPassword == nil || g.Type != w.Type) {
			t.Errorf("Anyone link %s: %+v, first read %+v", k, g, w)
		}
	}
	if _, ok := got[lost.Key()]; !ok {
		t.Errorf("the link the store lost (%s) was not read again", lost.Key())
	}
	d := verified.Status[tenant.SectionLinks].Discovery
	if d == nil || d.VerifiedDrives != groupSpec.Sites || d.KeptAnyoneLinks == 0 || d.RollingFullDrives != groupSpec.Sites {
		t.Errorf("discovery status %+v", d)
	}
	if reads == 0 || int(reads) >= len(anyone) {
		t.Errorf("verified read: %d permission reads for %d Anyone items: want some (orphans, the lost link) and fewer than all", reads, len(anyone))
	}
	st.commit(verified)

	st.turn = m365.Turn{Full: true, Deep: true}
	deep := scanLinks(t, srv, o)
	if n := srv.Usage().ByKind["permissions"]; int(n) != len(anyone) {
		t.Errorf("deep read: %d permission reads, want every Anyone item (%d)", n, len(anyone))
	}
	if len(byKey(deep)) != len(truth) {
		t.Errorf("deep read found %d links, the tenant has %d", len(byKey(deep)), len(truth))
	}
	st.commit(deep)

	st.turn = m365.Turn{}
	srv.ResetUsage()
	incr := scanLinks(t, srv, o)
	if n := srv.Usage().ByKind["permissions"]; n != 0 || len(byKey(incr)) != len(truth) {
		t.Errorf("no turn: %d permission reads, %d links (want 0, %d)", n, len(byKey(incr)), len(truth))
	}
}

// TestRollingRemembersOrphansAndUsers: a full read through groups
// remembers the orphaned Anyone groups it found (links/orphans). Without
// that memory a turn that is not deep reads the permissions of the items
// with an orphaned Anyone group; with it, it reads none. Such a turn
// reads no site users; an item whose stored links hold a direct grant to
// someone outside has its permissions read again. A deep turn reads the
// users and every Anyone item again, and the links stay the tenant's.
func TestRollingRemembersOrphansAndUsers(t *testing.T) {
	srv := newGroupTenant(t)
	st := &rollState{memState: &memState{tokens: map[string]string{}, pending: map[string]string{}}}
	o := m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true, State: st}
	truth := truthKeys(srv)
	check := func(name string, s *tenant.Snapshot) {
		t.Helper()
		got := byKey(s)
		if len(got) != len(truth) {
			t.Fatalf("%s: %d links, the tenant has %d", name, len(got), len(truth))
		}
		for k := range got {
			if !truth[k] {
				t.Fatalf("%s: link %s is not in the tenant", name, k)
			}
		}
	}
	st.commit(scanLinks(t, srv, o))
	if st.tokens["links/orphans"] == "" {
		t.Fatal("the first read remembered no orphaned group")
	}
	delete(st.tokens, "links/orphans") // as after an upgrade

	st.turn = m365.Turn{Full: true}
	srv.ResetUsage()
	first := scanLinks(t, srv, o)
	check("first turn", first)
	if n := srv.Usage().ByKind["permissions"]; n == 0 {
		t.Fatal("first turn: no permission read; the generated tenant has orphaned Anyone groups to find")
	}
	if n := srv.Usage().ByKind["site users"]; n != 0 {
		t.Errorf("first turn: %d site-user reads, want none", n)
	}
	st.commit(first)
	if st.tokens["links/orphans"] == "" {
		t.Fatal("no orphaned groups remembered")
	}

	srv.ResetUsage()
	second := scanLinks(t, srv, o)
	check("second turn", second)
	if n := srv.Usage().ByKind["permissions"]; n != 0 {
		t.Errorf("second turn: %d permission reads, want none (orphans known)", n)
	}
	if _, ok := st.pending["links/orphans"]; ok {
		t.Errorf("second turn rewrote the orphans it already knew")
	}
	st.commit(second)

	// A stored direct grant to a guest on one item: its site is still read
	// through its groups and its users are not asked for; that item's
	// permissions are read again, and the grant the tenant does not have
	// is gone from the read.
	for _, l := range st.links {
		g := l
		g.PermissionID, g.Scope, g.Type, g.Direct = "aW5nOmRpcmVjdA", tenant.LinkScopeUsers, tenant.LinkTypeEdit, true
		g.GrantedTo, g.ExternalRecipients, g.WebURL, g.Expires, g.HasPassword = []string{"x@partner.example"}, []string{"x@partner.example"}, "", nil, nil
		st.links = append(st.links, g)
		break
	}
	srv.ResetUsage()
	third := scanLinks(t, srv, o)
	check("turn with a stored grant", third)
	u := srv.Usage().ByKind
	if u["site users"] != 0 || int(u["site groups"]) != groupSpec.Sites || u["permissions"] != 1 {
		t.Errorf("turn with a stored grant: %d site-user, %d site-group, %d permission reads; want 0, %d, 1", u["site users"], u["site groups"], u["permissions"], groupSpec.Sites)
	}
	d := third.Status[tenant.SectionLinks].Discovery
	if d == nil || d.OutsiderSites != 0 || len(d.ItemSites) != 0 || d.GrantSites != 1 || d.GrantItems != 1 {
		t.Errorf("discovery status %+v", d)
	}
	st.commit(third)

	st.turn = m365.Turn{Full: true, Deep: true}
	srv.ResetUsage()
	deep := scanLinks(t, srv, o)
	check("deep turn", deep)
	if n := srv.Usage().ByKind["site users"]; int(n) != groupSpec.Sites {
		t.Errorf("deep turn: %d site-user reads, want one a site (%d)", n, groupSpec.Sites)
	}
}

// TestRollingGrantSiteThroughGroups: on a turn that is not deep, a site
// with guests is read through its groups; only its items holding a stored
// direct grant to people outside (and items the groups cannot confirm)
// have their permissions read, and every grant and link is the tenant's.
// A deep turn reads its users and the site item by item again.
func TestRollingGrantSiteThroughGroups(t *testing.T) {
	srv := newOutsiderTenant(t)
	st := &rollState{memState: &memState{tokens: map[string]string{}, pending: map[string]string{}}}
	o := m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true, State: st}
	truth := truthKeys(srv)
	check := func(name string, s *tenant.Snapshot) (grants int) {
		t.Helper()
		got := byKey(s)
		if len(got) != len(truth) {
			t.Fatalf("%s: %d links, the tenant has %d", name, len(got), len(truth))
		}
		for k, l := range got {
			if !truth[k] {
				t.Fatalf("%s: link %s is not in the tenant", name, k)
			}
			if l.Direct && len(l.ExternalRecipients) > 0 {
				grants++
			}
		}
		return grants
	}
	first := scanLinks(t, srv, o)
	want := check("first read", first)
	if want == 0 {
		t.Fatal("the generated tenant has no direct grant to a guest")
	}
	if d := first.Status[tenant.SectionLinks].Discovery; d == nil || d.OutsiderSites != 1 {
		t.Fatalf("first read: discovery %+v, want one site read item by item for its users", d)
	}
	st.commit(first)
	grantItems := map[string]bool{}
	for _, l := range st.links {
		if l.Direct && len(l.ExternalRecipients) > 0 {
			grantItems[l.DriveID+"/"+l.ItemID] = true
		}
	}

	st.turn = m365.Turn{Full: true}
	srv.ResetUsage()
	turn := scanLinks(t, srv, o)
	if got := check("turn", turn); got != want {
		t.Errorf("turn: %d direct grants to guests, the first read %d", got, want)
	}
	u := srv.Usage().ByKind
	d := turn.Status[tenant.SectionLinks].Discovery
	if d == nil || d.OutsiderSites != 0 || len(d.ItemSites) != 0 || d.GrantSites != 1 || d.GrantItems != len(grantItems) {
		t.Errorf("turn: discovery %+v, want the guests' site through groups with %d grant items", d, len(grantItems))
	}
	if u["site users"] != 0 || int(u["site groups"]) != outsiderSpec.Sites || int(u["permissions"]) < len(grantItems) ||
		int(u["permissions"]) >= len(grantItems)+outsiderSpec.SharedPerDrive {
		t.Errorf("turn: %d site-user, %d site-group, %d permission reads; want 0, %d, from %d to below %d",
			u["site users"], u["site groups"], u["permissions"], outsiderSpec.Sites, len(grantItems), len(grantItems)+outsiderSpec.SharedPerDrive)
	}
	st.commit(turn)

	st.turn = m365.Turn{Full: true, Deep: true}
	srv.ResetUsage()
	deep := scanLinks(t, srv, o)
	check("deep turn", deep)
	if d := deep.Status[tenant.SectionLinks].Discovery; d == nil || d.OutsiderSites != 1 || d.GrantSites != 0 {
		t.Errorf("deep turn: discovery %+v, want the guests' site item by item for its users", d)
	}
}

// scopedRollState is a rollState that also reads stored links by key
// prefix, as the store does (m365.ScopedState), counting its reads; fail,
// when set, is what such a read returns.
type scopedRollState struct {
	*rollState
	reads int
	fail  error
}

func (s *scopedRollState) PreviousIn(ctx context.Context, sec tenant.Section, prefixes []string, fn func([]byte) error) error {
	s.reads++
	if s.fail != nil {
		return s.fail
	}
	if sec != tenant.SectionLinks {
		return errors.New("scopedRollState holds links only")
	}
	return s.Previous(ctx, sec, func(doc []byte) error {
		var l tenant.Link
		if err := json.Unmarshal(doc, &l); err != nil {
			return err
		}
		if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(l.Key(), p) }) {
			return fn(doc)
		}
		return nil
	})
}

// TestRollingVerifiedReadInBatches: with more verified drives than
// StoredAnyoneBatch, each batch of drives reads its stored Anyone links
// when its turn comes instead of all of them being held for the whole
// read; the links, their detail and the reads are the same as when they
// are all held. A batch whose stored links cannot be read fails its
// drives, and the section is not complete.
func TestRollingVerifiedReadInBatches(t *testing.T) {
	srv := newGroupTenant(t)
	st := &scopedRollState{rollState: &rollState{memState: &memState{tokens: map[string]string{}, pending: map[string]string{}}}}
	o := m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true, State: st}
	st.commit(scanLinks(t, srv, o))

	st.turn = m365.Turn{Full: true}
	whole := scanLinks(t, srv, o) // 5 drives, under the default batch
	wholePerms := srv.Usage().ByKind["permissions"]
	if st.reads != 0 {
		t.Fatalf("%d reads by key prefix under the default batch, want none", st.reads)
	}
	o.StoredAnyoneBatch = 2
	batched := scanLinks(t, srv, o)
	if want := (groupSpec.Sites + 1) / 2; st.reads != want {
		t.Errorf("%d reads by key prefix in batches of 2 of %d drives, want %d", st.reads, groupSpec.Sites, want)
	}
	if n := srv.Usage().ByKind["permissions"]; n != wholePerms {
		t.Errorf("batched: %d permission reads, held whole: %d", n, wholePerms)
	}
	got, want := byKey(batched), byKey(whole)
	if len(got) != len(want) {
		t.Fatalf("batched read found %d links, held whole %d", len(got), len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("link %s batched: %+v, held whole: %+v", k, g, w)
		}
	}
	dw, db := whole.Status[tenant.SectionLinks].Discovery, batched.Status[tenant.SectionLinks].Discovery
	if dw == nil || db == nil || db.KeptAnyoneLinks == 0 || db.KeptAnyoneLinks != dw.KeptAnyoneLinks || db.VerifiedDrives != dw.VerifiedDrives {
		t.Errorf("discovery batched %+v, held whole %+v", db, dw)
	}

	st.fail = errors.New("database gone")
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	o.Now, o.TempDir = srv.Clock().Now, t.TempDir()
	srcs, err := m365.SourcesFor(c, o, tenant.SectionLinks)
	if err != nil {
		t.Fatal(err)
	}
	failed := scanner.Scan(context.Background(), srcs, scanner.Options{Tenant: srv.Meta().Tenant})
	defer failed.Close()
	if failed.Complete(tenant.SectionLinks) {
		t.Fatal("links complete although no drive's stored Anyone links could be read")
	}
	if msg := failed.Status[tenant.SectionLinks].Error; !strings.Contains(msg, "stored Anyone links") || !strings.Contains(msg, "database gone") {
		t.Errorf("links error %q, want the stored links' read named", msg)
	}
}
