package m365

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// Link discovery: how the links section finds the links of a site.
const (
	// DiscoveryGroups lists each site's sharing-link groups (one
	// SharePoint REST call) and reads Graph permissions only for the
	// items whose links need detail a group title does not give.
	DiscoveryGroups = "groups"
	// DiscoveryItems reads the permissions of every shared item.
	DiscoveryItems = "items"
)

// epSiteGroups names the site groups endpoint in errors.
const epSiteGroups = "GET {site}/_api/web/sitegroups"

// linkGroup is what a sharing-link group's title says about its link.
type linkGroup struct {
	ItemUID string // the list item's UniqueId, lower case
	Kind    string // SharingLinkKind name, as written
	ShareID string // the link's shareId, lower case
	// Members are the group's users when they were read (members true):
	// for a link for specific people, the people it was given to.
	Members []groupMember
	members bool
}

// groupMember is a site group's user as SharePoint lists it (SP.User).
type groupMember struct {
	Login, Email, Title string
}

// linkKind is what a known SharingLinkKind tells about its link.
type linkKind struct {
	scope tenant.LinkScope
	typ   tenant.LinkType // empty: the kind does not say (Flexible)
}

// linkKinds are the kinds a sharing-link group's title may name (see
// shapes.go). Any other kind makes the item's permissions be read.
var linkKinds = map[string]linkKind{
	"AnonymousView":    {tenant.LinkScopeAnonymous, tenant.LinkTypeView},
	"AnonymousEdit":    {tenant.LinkScopeAnonymous, tenant.LinkTypeEdit},
	"OrganizationView": {tenant.LinkScopeOrganization, tenant.LinkTypeView},
	"OrganizationEdit": {tenant.LinkScopeOrganization, tenant.LinkTypeEdit},
	"Flexible":         {tenant.LinkScopeUsers, ""},
}

const sharingLinksPrefix = "SharingLinks."

// parseSharingLinkGroup reads a site group title. A title that is not a
// sharing-link group's gives ok false and no error; one that starts like
// it but does not parse is an error, so that its link is never dropped
// silently. An unknown kind is not an error: the caller reads the item.
func parseSharingLinkGroup(title string) (g linkGroup, ok bool, err error) {
	rest, found := strings.CutPrefix(title, sharingLinksPrefix)
	if !found {
		return linkGroup{}, false, nil
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return linkGroup{}, true, fmt.Errorf("sharing-link group %q: expected SharingLinks.<itemUniqueId>.<kind>.<shareId>", clip(title))
	}
	if !guidRE.MatchString(parts[0]) {
		return linkGroup{}, true, fmt.Errorf("sharing-link group %q: item id %q is not a GUID", clip(title), clip(parts[0]))
	}
	if !guidRE.MatchString(parts[2]) {
		return linkGroup{}, true, fmt.Errorf("sharing-link group %q: share id %q is not a GUID", clip(title), clip(parts[2]))
	}
	if parts[1] == "" || strings.IndexFunc(parts[1], func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) >= 0 {
		return linkGroup{}, true, fmt.Errorf("sharing-link group %q: kind %q is not a name", clip(title), clip(parts[1]))
	}
	return linkGroup{ItemUID: strings.ToLower(parts[0]), Kind: parts[1], ShareID: strings.ToLower(parts[2])}, true, nil
}

// clip bounds hostile text quoted in an error.
func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// siteGroupsQuery is the query of the site groups request; with members
// it expands each group's users (see shapes.go).
func siteGroupsQuery(members bool) string {
	if members {
		return "?$select=Id,Title,Users/LoginName,Users/Email,Users/Title&$expand=Users"
	}
	return "?$select=Id,Title"
}

// siteLinkGroups lists the sharing-link groups of a site by item UniqueId,
// with their members when asked. Any group title that looks like a
// sharing-link group but does not parse, and a sharing-link group whose
// members were asked for but are missing or announced as continued
// elsewhere, fail the whole list: the site is then read item by item.
func (c *Client) siteLinkGroups(ctx context.Context, siteURL string, members bool) (map[string][]linkGroup, error) {
	base, err := c.siteBase(siteURL)
	if err != nil {
		return nil, err
	}
	next := base + "/_api/web/sitegroups" + siteGroupsQuery(members)
	out := map[string][]linkGroup{}
	h := http.Header{"Accept": {"application/json;odata=nometadata"}}
	for page := 0; next != ""; page++ {
		if page > 10000 {
			return nil, fmt.Errorf("%s: more than 10000 pages", epSiteGroups)
		}
		resp, err := c.send(ctx, request{aud: AudienceSharePoint, method: http.MethodGet, url: next, header: h})
		if err != nil {
			return nil, err
		}
		var body struct {
			Value *[]struct {
				ID    *int64  `json:"Id"`
				Title *string `json:"Title"`
				Users *[]struct {
					LoginName *string `json:"LoginName"`
					Email     *string `json:"Email"`
					Title     *string `json:"Title"`
				} `json:"Users"`
				UsersNext *string `json:"Users@odata.nextLink"`
			} `json:"value"`
			Next string `json:"odata.nextLink"`
		}
		if err := decodeJSON(epSiteGroups, resp.body, &body); err != nil {
			return nil, err
		}
		if body.Value == nil {
			return nil, fmt.Errorf("%s: no value array", epSiteGroups)
		}
		for i, g := range *body.Value {
			if g.ID == nil || g.Title == nil {
				return nil, fmt.Errorf("%s: group %d: Id or Title missing", epSiteGroups, i)
			}
			lg, ok, err := parseSharingLinkGroup(*g.Title)
			if err != nil {
				return nil, fmt.Errorf("%s: group %d: %w", epSiteGroups, *g.ID, err)
			}
			if !ok {
				continue
			}
			if members {
				switch {
				case g.UsersNext != nil:
					return nil, fmt.Errorf("%s: group %d: its member list is truncated (a next link)", epSiteGroups, *g.ID)
				case g.Users == nil:
					return nil, fmt.Errorf("%s: group %d: members asked for but not listed", epSiteGroups, *g.ID)
				}
				for j, u := range *g.Users {
					if u.LoginName == nil {
						return nil, fmt.Errorf("%s: group %d: member %d: LoginName missing", epSiteGroups, *g.ID, j)
					}
					lg.Members = append(lg.Members, groupMember{Login: *u.LoginName, Email: deref(u.Email), Title: deref(u.Title)})
				}
				lg.members = true
			}
			out[lg.ItemUID] = append(out[lg.ItemUID], lg)
		}
		if body.Next != "" && !sameOrigin(base, body.Next) {
			return nil, fmt.Errorf("%s: next link %q points to another host", epSiteGroups, clip(body.Next))
		}
		next = body.Next
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// needsDetail says whether an item's links must be read from its Graph
// permissions: an Anyone link (expiry, password), a kind not known, or a
// link for specific people when people rules need its recipients and the
// group's members were not read or are none (a link given to nobody the
// group lists is not taken as given to nobody).
func needsDetail(gs []linkGroup, peopleDetail bool) bool {
	for _, g := range gs {
		k, ok := linkKinds[g.Kind]
		switch {
		case !ok, k.scope == tenant.LinkScopeAnonymous,
			k.scope == tenant.LinkScopeUsers && peopleDetail && (!g.members || len(g.Members) == 0):
			return true
		}
	}
	return false
}

// groupLinks are an item's links as its groups describe them, for items
// that need no detail: scope, type and roles; a Flexible link's type is
// not known, its recipients are its group's members when they were read
// (else not known: the people rules then judge it unknown).
func groupLinks(gs []linkGroup, base tenant.Link) []tenant.Link {
	out := make([]tenant.Link, 0, len(gs))
	for _, g := range gs {
		k := linkKinds[g.Kind]
		l := base
		l.PermissionID, l.Scope, l.Type = g.ShareID, k.scope, k.typ
		switch k.typ {
		case tenant.LinkTypeView:
			l.Roles = []string{"read"}
		case tenant.LinkTypeEdit:
			l.Roles = []string{"write"}
		}
		if k.scope == tenant.LinkScopeUsers && g.members {
			l.GrantedTo, l.RecipientDomains, l.ExternalRecipients = memberRecipients(g.Members)
		}
		out = append(out, l)
	}
	return out
}

// memberRecipients names a people link's recipients from its group's
// members as grantees does from a permission: by e-mail, else login name,
// else display name; each placed by its login name (recipients.go).
func memberRecipients(ms []groupMember) (names, domains, external []string) {
	for _, m := range ms {
		email := strings.ToLower(m.Email)
		n := cmp.Or(email, m.Login, m.Title)
		if n == "" || slices.Contains(names, n) {
			continue
		}
		names = append(names, n)
		if d := recipientDomain(email, m.Login); d != "" && !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
		if recipientOutside(m.Login) {
			external = append(external, n)
		}
	}
	sort.Strings(names)
	sort.Strings(domains)
	sort.Strings(external)
	return names, domains, external
}
