package m365test_test

import (
	"context"
	"testing"

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
