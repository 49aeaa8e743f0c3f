package m365

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unique"

	"github.com/sharedrift/sharedrift/tenant"
)

var guestSelect = []string{
	"id", "displayName", "mail", "userPrincipalName", "userType", "externalUserState",
	"externalUserStateChangeDateTime", "createdDateTime", "accountEnabled",
}

// signInPageSize is Graph's page limit when signInActivity is selected.
const signInPageSize = 120

const guestFilter = "$filter=userType+eq+'Guest'"

// ParseGuests reads a page of /users. withSignIn says whether
// signInActivity was asked for: when it was, a guest without it never
// signed in; when not, SignIn stays nil (unknown).
func ParseGuests(items []json.RawMessage, withSignIn bool) ([]tenant.Guest, error) {
	const ep = "GET /v1.0/users"
	out := make([]tenant.Guest, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", i, err)
		}
		if t := p.s("userType"); t != "" && !strings.EqualFold(t, "Guest") {
			continue
		}
		g := tenant.Guest{
			ID: p.s("id"), UPN: p.s("userPrincipalName"), Mail: p.s("mail"), DisplayName: p.s("displayName"),
			State: tenant.GuestState(p.s("externalUserState")), StateChangedAt: p.time("externalUserStateChangeDateTime"),
			CreatedAt: p.time("createdDateTime"), AccountEnabled: p.boolean("accountEnabled"),
		}
		if g.ID == "" {
			return nil, fmt.Errorf("%s: user %d has no id", ep, i)
		}
		g.Domain = guestDomain(g.Mail, g.UPN)
		compactGuest(&g)
		if withSignIn {
			g.SignIn = &tenant.SignIn{}
			if sa := p.object("signInActivity"); sa != nil {
				g.SignIn.Last = sa.time("lastSignInDateTime")
				if ni := sa.time("lastNonInteractiveSignInDateTime"); ni != nil && (g.SignIn.Last == nil || ni.After(*g.SignIn.Last)) {
					g.SignIn.Last = ni
				}
				g.SignIn.LastSuccessful = sa.time("lastSuccessfulSignInDateTime")
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// guestDomain takes the domain of the guest's mail, or of the home
// address encoded in a B2B UPN ("alice_fabrikam.com#EXT#@contoso…").
func guestDomain(mail, upn string) string {
	if i := strings.LastIndex(mail, "@"); i >= 0 && i < len(mail)-1 {
		return strings.ToLower(mail[i+1:])
	}
	if i := strings.Index(strings.ToUpper(upn), "#EXT#"); i > 0 {
		local := upn[:i]
		if j := strings.LastIndex(local, "_"); j >= 0 && j < len(local)-1 {
			return strings.ToLower(local[j+1:])
		}
	}
	return ""
}

// ParseRefs reads a directoryObject collection (sponsors, memberOf).
func ParseRefs(items []json.RawMessage) ([]tenant.Ref, error) {
	const ep = "GET /v1.0/users/{id}/sponsors|memberOf"
	out := make([]tenant.Ref, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		if p.s("id") == "" {
			return nil, fmt.Errorf("%s: object %d has no id", ep, i)
		}
		out = append(out, tenant.Ref{ID: p.s("id"), DisplayName: p.s("displayName"), Type: p.odataType()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return compactRefs(out), nil
}

// compactGuest shares the strings that repeat across guests (domains,
// states, the groups and sponsors they point to) with every other copy:
// a large tenant's guests are all held while a scan runs.
func compactGuest(g *tenant.Guest) {
	g.Domain = intern(g.Domain)
	g.State = tenant.GuestState(intern(string(g.State)))
	g.Sponsors = compactRefs(g.Sponsors)
	g.MemberOf = compactRefs(g.MemberOf)
}

// compactRefs interns refs' strings and drops spare capacity; nil (not
// collected) stays nil and empty stays empty.
func compactRefs(rs []tenant.Ref) []tenant.Ref {
	for i := range rs {
		r := &rs[i]
		r.ID, r.DisplayName, r.Type = intern(r.ID), intern(r.DisplayName), intern(r.Type)
	}
	return slices.Clip(rs)
}

func intern(s string) string { return unique.Make(s).Value() }
