package drift

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/sharedrift/sharedrift/tenant"
)

// Object is one keyed object of a snapshot section in its canonical JSON
// form. Doc is what gets hashed, stored and diffed.
type Object struct {
	Section tenant.Section
	Key     string
	// Name is a human label (site URL, item path, UPN); it is not part of
	// the identity.
	Name string
	Doc  []byte
}

// HashSize is the length of a content hash in bytes.
const HashSize = 16

// Hash is the content hash of an object document. A truncated SHA-256 is
// plenty to detect change and keeps the stored hash small.
func Hash(doc []byte) [HashSize]byte {
	sum := sha256.Sum256(doc)
	var h [HashSize]byte
	copy(h[:], sum[:HashSize])
	return h
}

// entraAuthorization is the authorization-policy part of the Entra settings,
// stored as its own object so that a change to the invitation list does not
// show up as a change of the policy.
type entraAuthorization struct {
	AllowInvitesFrom tenant.InviteFrom `json:"allowInvitesFrom,omitempty"`
	GuestUserRoleID  string            `json:"guestUserRoleId,omitempty"`
}

// Objects calls fn for every object of section sec of s, in snapshot order,
// and stops at the first error fn returns. It visits nothing for a section
// the snapshot does not hold. Objects are produced one at a time so a large
// section is never duplicated in memory.
func Objects(s *tenant.Snapshot, sec tenant.Section, fn func(Object) error) error {
	emit := func(key, name string, v any) error {
		doc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", key, err)
		}
		return fn(Object{Section: sec, Key: key, Name: name, Doc: doc})
	}
	switch sec {
	case tenant.SectionSharePoint:
		if s.SharePoint != nil {
			return emit(s.SharePoint.Key(), "SharePoint tenant settings", s.SharePoint)
		}
	case tenant.SectionSites:
		for i := range s.Sites {
			st := &s.Sites[i]
			if err := emit(st.Key(), st.URL, st); err != nil {
				return err
			}
		}
	case tenant.SectionLinks:
		return s.EachLink(func(l *tenant.Link) error {
			name := l.ItemPath
			if name == "" {
				name = l.WebURL
			}
			return emit(l.Key(), name, l)
		})
	case tenant.SectionGuests:
		for i := range s.Guests {
			g := &s.Guests[i]
			name := g.UPN
			if g.Mail != "" {
				name = g.Mail
			}
			if err := emit(g.Key(), name, g); err != nil {
				return err
			}
		}
	case tenant.SectionEntra:
		e := s.Entra
		if e == nil {
			return nil
		}
		if err := emit(tenant.KeyEntraAuthorization, "Entra authorization policy",
			entraAuthorization{AllowInvitesFrom: e.AllowInvitesFrom, GuestUserRoleID: e.GuestUserRoleID}); err != nil {
			return err
		}
		if e.Invitations != nil {
			if err := emit(tenant.KeyEntraInvitations, "B2B invitation domain list", e.Invitations); err != nil {
				return err
			}
		}
		if e.CrossTenantDefault != nil {
			if err := emit(tenant.KeyEntraCrossTenant, "Cross-tenant access defaults", e.CrossTenantDefault); err != nil {
				return err
			}
		}
		// Each partner is an object of its own, keyed by its tenant id, so
		// a partner added or removed is an added or removed object.
		for i := range e.CrossTenantPartners {
			p := &e.CrossTenantPartners[i]
			if err := emit(p.Key(), "Cross-tenant partner "+p.TenantID, p); err != nil {
				return err
			}
		}
	case tenant.SectionGroups:
		g := s.Groups
		if g == nil {
			return nil
		}
		// The tenant-wide object leaves the per-group list out: each group
		// is an object of its own.
		settings := *g
		settings.Groups = nil
		if err := emit(g.Key(), "Microsoft 365 Groups guest settings", &settings); err != nil {
			return err
		}
		for i := range g.Groups {
			gr := &g.Groups[i]
			if err := emit(gr.Key(), gr.DisplayName, gr); err != nil {
				return err
			}
		}
	case tenant.SectionExchange:
		x := s.Exchange
		if x == nil {
			return nil
		}
		for i := range x.SharingPolicies {
			p := &x.SharingPolicies[i]
			if err := emit(p.Key(), p.Name, p); err != nil {
				return err
			}
		}
		for i := range x.OrganizationRelationships {
			o := &x.OrganizationRelationships[i]
			if err := emit(o.Key(), o.Name, o); err != nil {
				return err
			}
		}
		// Remote domains are keyed by domain name: a domain added to or
		// removed from the list is an added or removed object, and a
		// domain that starts forwarding is a change of that domain alone.
		for i := range x.RemoteDomains {
			d := &x.RemoteDomains[i]
			if err := emit(d.Key(), "Remote domain "+d.DomainName, d); err != nil {
				return err
			}
		}
	case tenant.SectionTeams:
		if t := s.Teams; t != nil {
			return emit(t.Key(), "Teams external and guest access", t)
		}
	case tenant.SectionPowerBI:
		if p := s.PowerBI; p != nil {
			return emit(p.Key(), "Power BI tenant settings", p)
		}
	default:
		return fmt.Errorf("unknown section %q", sec)
	}
	return nil
}
