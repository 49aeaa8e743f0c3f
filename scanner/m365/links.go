package m365

import (
	"cmp"
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// DeltaPrefer asks drive delta to surface items whose sharing changed and
// to mark permission roots, so that only those need a permissions read.
const DeltaPrefer = "hierarchicalsharing, deltashowremovedasdeleted, deltatraversepermissiongaps, deltashowsharingchanges"

// The fields read of a drive, a drive delta item and a permission. A
// sub-schema is declared before the schema using it, so that fields keep
// their declared order.
var (
	driveSchema = newSchema("drive")
	drID        = driveSchema.identity("id")
	drName      = driveSchema.str("name")

	itemReferenceSchema = newSchema("")
	irID                = itemReferenceSchema.str("id")
	irPath              = itemReferenceSchema.str("path")
	deltaItemSchema     = newSchema("item")
	diID                = deltaItemSchema.identity("id")
	diName              = deltaItemSchema.str("name")
	diParent            = deltaItemSchema.object("parentReference", itemReferenceSchema)
	diFolder            = deltaItemSchema.facet("folder")
	diRoot              = deltaItemSchema.facet("root")
	diDeleted           = deltaItemSchema.facet("deleted")
	diShared            = deltaItemSchema.facet("shared")
	diSharedChanged     = deltaItemSchema.str("@microsoft.graph.sharedChanged")
	diSPIDs             = deltaItemSchema.object("sharepointIds", spIDsSchema)
	spIDsSchema         = newSchema("")
	spUniqueID          = spIDsSchema.str("listItemUniqueId")
	// sharepointIds gives the list item's UniqueId, which names the item
	// in its sharing-link groups' titles.
	deltaSelect = []string{"id", "name", "parentReference", "folder", "file", "root", "shared", "deleted", "sharepointIds"}

	sharingLinkSchema  = newSchema("")
	slScope            = sharingLinkSchema.str("scope")
	slType             = sharingLinkSchema.str("type")
	slWebURL           = sharingLinkSchema.str("webUrl")
	slPreventsDownload = sharingLinkSchema.boolean("preventsDownload")
	identitySchema     = newSchema("")
	idEmail            = identitySchema.str("email")
	idLoginName        = identitySchema.str("loginName")
	idDisplayName      = identitySchema.str("displayName")
	// A sharePointIdentitySet: the first identity present names the grantee.
	identitySetSchema = newSchema("")
	isUser            = identitySetSchema.object("user", identitySchema)
	isSiteUser        = identitySetSchema.object("siteUser", identitySchema)
	isGroup           = identitySetSchema.object("group", identitySchema)
	isSiteGroup       = identitySetSchema.object("siteGroup", identitySchema)
	isSPGroup         = identitySetSchema.object("sharePointGroup", identitySchema)
	isApplication     = identitySetSchema.object("application", identitySchema)
	isDevice          = identitySetSchema.object("device", identitySchema)
	permissionSchema  = newSchema("permission")
	pmID              = permissionSchema.identity("id")
	pmRoles           = permissionSchema.strings("roles")
	pmLink            = permissionSchema.object("link", sharingLinkSchema)
	pmExpires         = permissionSchema.time("expirationDateTime")
	pmHasPassword     = permissionSchema.boolean("hasPassword")
	pmGrantedTo       = permissionSchema.object("grantedToV2", identitySetSchema)
	pmGrantedToIDs    = permissionSchema.objects("grantedToIdentitiesV2", identitySetSchema)
	// grantedTo is the legacy form, read only when grantedToV2 is absent
	// (the recorded beta invitations carry no other).
	pmGrantedToV1 = permissionSchema.object("grantedTo", identitySetSchema)
	// A permission an item inherits from an ancestor names it here.
	pmInherited = permissionSchema.facet("inheritedFrom")
)

const (
	epDrives      = "GET /v1.0/sites/{site-id}/drives"
	epDriveDelta  = "GET /v1.0/drives/{drive-id}/root/delta"
	epDriveItem   = "GET /v1.0/drives/{drive-id}/items/{item-id}"
	epPermissions = "GET /v1.0/drives/{drive-id}/items/{item-id}/permissions"
)

// Values known in advance are answered without a copy.
var (
	knownScopes = []string{string(tenant.LinkScopeAnonymous), string(tenant.LinkScopeOrganization), string(tenant.LinkScopeUsers), string(tenant.LinkScopeExisting)}
	knownTypes  = []string{string(tenant.LinkTypeView), string(tenant.LinkTypeEdit)}
	knownRoles  = []string{"read", "write", "owner"}
)

type drive struct {
	ID, Name string
}

// parseDrives reads a site's drives; drives that cannot be read are left
// out and reported as FieldErrors.
func parseDrives(items []json.RawMessage) ([]drive, error) {
	out := make([]drive, 0, len(items))
	var bad FieldErrors
	var r reader
	for i, raw := range items {
		if r.item(epDrives, driveSchema, raw, i) {
			d := drive{ID: r.str(drID), Name: r.str(drName)}
			if !r.failed() {
				out = append(out, d)
				continue
			}
		}
		bad.add(r.first())
	}
	return out, bad.err()
}

// DriveItem is what delta tells about one item.
type DriveItem struct {
	ID, Name, ParentID, ParentPath string
	Folder, Root, Deleted          bool
	// Shared is true when the item carries a shared facet (possibly empty,
	// which marks unique permissions) or a sharedChanged annotation;
	// SharedChanged when the annotation says its sharing changed.
	Shared, SharedChanged bool
	// UniqueID is the list item's UniqueId (sharepointIds), lower case;
	// empty when not reported.
	UniqueID string
}

// ParseDeltaItems reads the items of one drive delta page. Items that
// cannot be read are left out and reported as FieldErrors.
func ParseDeltaItems(items []json.RawMessage) ([]DriveItem, error) {
	return parseDriveItems(epDriveDelta, items)
}

func parseDriveItems(ep string, items []json.RawMessage) ([]DriveItem, error) {
	out := make([]DriveItem, 0, len(items))
	var bad FieldErrors
	var r, pr, sp reader
	for i, raw := range items {
		if !r.item(ep, deltaItemSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		it := DriveItem{ID: r.str(diID), Name: r.str(diName),
			Folder: r.has(diFolder), Root: r.has(diRoot), Deleted: r.has(diDeleted),
			SharedChanged: strings.EqualFold(r.strIn(diSharedChanged, trueStrings), "true"),
		}
		it.Shared = r.has(diShared) || it.SharedChanged
		if r.open(diParent, &pr) {
			it.ParentID, it.ParentPath = pr.str(irID), pr.str(irPath)
		}
		if r.open(diSPIDs, &sp) {
			it.UniqueID = strings.ToLower(sp.str(spUniqueID))
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out = append(out, it)
	}
	return out, bad.err()
}

var trueStrings = []string{"True", "true"}

// ParsePermissions turns an item's permissions into sharing links and
// direct grants. Links a folder passes down to an item are returned too:
// SharePoint never marks them (no inheritedFrom), so dedupeLinks keeps one
// per permission id and drive. A grant made by invitation (no link) to a
// person, to Everyone or to a Microsoft 365 or security group becomes a
// Direct entry of scope "users" (see directGrant); grants to the site's
// own SharePoint groups and grants an item inherits (inheritedFrom: the
// ancestor's read lists them) are skipped. Permissions that cannot be
// read, links or not, are left out and reported as FieldErrors: a "link"
// of the wrong type must never pass for a grant that is not a link.
func ParsePermissions(items []json.RawMessage, base tenant.Link) ([]tenant.Link, error) {
	var out []tenant.Link
	var bad FieldErrors
	var r, link reader
	for i, raw := range items {
		if !r.item(epPermissions, permissionSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		l := base
		// The legacy grantee is read whatever it is used for, so that a
		// value of the wrong type there is seen too.
		var legacy reader
		if r.open(pmGrantedToV1, &legacy) {
			readGrantee(&legacy)
		}
		if r.open(pmLink, &link) {
			l.PermissionID = r.str(pmID)
			l.Scope = tenant.LinkScope(link.strIn(slScope, knownScopes))
			l.Type = tenant.LinkType(link.strIn(slType, knownTypes))
			l.Roles = r.strsIn(pmRoles, knownRoles)
			l.Expires = r.time(pmExpires)
			l.HasPassword = r.boolp(pmHasPassword)
			l.PreventsDownload = link.boolp(slPreventsDownload)
			l.WebURL = link.str(slWebURL)
			l.GrantedTo, l.RecipientDomains, l.ExternalRecipients = grantees(&r)
		} else if r.failed() || !directGrant(&r, &l) {
			// A link of the wrong type (its JSON types were checked when it
			// was opened), or a grant that is not recorded.
			if r.failed() {
				bad.add(r.first())
			}
			continue
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		if out == nil {
			out = make([]tenant.Link, 0, len(items)-i)
		}
		out = append(out, l)
	}
	return out, bad.err()
}

// unidentifiedGrantee names the holder of a grant whose identity is
// missing or of no kind read here: counted outside, never dropped.
const unidentifiedGrantee = "(unidentified grantee)"

// directGrant fills l from a permission without a link and reports whether
// it is recorded: not when it is inherited, nor when it names no person:
// only groups (a SharePoint group of the site is site membership; a
// Microsoft 365 or security group's members are not known here, and a
// guest's memberships are the guests section's) or SharePoint's own
// accounts. A grant whose identity is missing or of no known kind is
// recorded with an unidentified grantee outside the organization.
func directGrant(r *reader, l *tenant.Link) bool {
	if r.has(pmInherited) {
		return false
	}
	id := r.str(pmID)
	var set reader
	var gs []grantee
	notPeople := false
	add := func() {
		g := readGrantee(&set)
		switch {
		case g.siteGroup, g.kind == isGroup, g.person && notPerson(g.login):
			notPeople = true
			return
		case g.name == "":
			g = grantee{name: unidentifiedGrantee, outside: true}
		case g.person && g.login == "":
			// No login name: the one the id encodes places the grantee.
			if login := loginFromPermissionID(id); login != "" {
				if notPerson(login) {
					notPeople = true
					return
				}
				g.outside = recipientOutside(login)
				g.domain = cmp.Or(g.domain, recipientDomain("", login))
			}
		}
		gs = append(gs, g)
	}
	for lst := r.list(pmGrantedToIDs); lst.next(r, &set); {
		add()
	}
	switch {
	case r.open(pmGrantedTo, &set):
		add()
	case r.open(pmGrantedToV1, &set):
		add()
	}
	if len(gs) == 0 {
		if notPeople {
			return false
		}
		gs = append(gs, grantee{name: unidentifiedGrantee, outside: true})
	}
	l.Direct = true
	l.PermissionID = id
	l.Scope = tenant.LinkScopeUsers
	l.Roles = lowerAll(r.strsIn(pmRoles, knownRoles))
	l.Type = roleType(l.Roles)
	l.GrantedTo, l.RecipientDomains, l.ExternalRecipients = collectGrantees(gs)
	return true
}

// roleType is the link type a grant's roles amount to: edit with write
// or owner, view with read alone, else none known.
func roleType(roles []string) tenant.LinkType {
	switch {
	case slices.Contains(roles, "write"), slices.Contains(roles, "owner"):
		return tenant.LinkTypeEdit
	case slices.Contains(roles, "read"):
		return tenant.LinkTypeView
	}
	return ""
}

// grantees lists who a "users" link was given to, by e-mail when known,
// with their e-mail domains and those of them outside the tenant.
func grantees(r *reader) (names, domains, external []string) {
	var set reader
	var gs []grantee
	for l := r.list(pmGrantedToIDs); l.next(r, &set); {
		gs = append(gs, readGrantee(&set))
	}
	if r.open(pmGrantedTo, &set) {
		gs = append(gs, readGrantee(&set))
	}
	return collectGrantees(gs)
}

// collectGrantees names each grantee once, sorted, with the domains and
// the grantees outside the tenant.
func collectGrantees(gs []grantee) (names, domains, external []string) {
	for _, g := range gs {
		if g.name == "" || slices.Contains(names, g.name) {
			continue
		}
		names = append(names, g.name)
		if g.domain != "" && !slices.Contains(domains, g.domain) {
			domains = append(domains, g.domain)
		}
		if g.outside {
			external = append(external, g.name)
		}
	}
	sort.Strings(names)
	sort.Strings(domains)
	sort.Strings(external)
	return names, domains, external
}

// grantee is one identity set a link or grant was given to.
type grantee struct {
	name, domain, login string
	outside             bool
	// person: the set names a user or site user first (whose login may
	// still be Everyone's or a group's claim); siteGroup: a SharePoint
	// group of the site; kind: the identity that named it.
	person, siteGroup bool
	kind              objField
}

// readGrantee names the first identity of a set: e-mail, login name or
// display name. Every identity present is read, so that none hides a
// value of the wrong type. A person is placed by its login name
// (recipients.go); a Microsoft 365 or security group ("group") counts as
// outside, since its members are not known here; a SharePoint group of
// the site is the site's own. An application or a device is named but
// placed outside.
func readGrantee(set *reader) grantee {
	var who reader
	var g grantee
	var email string
	found := false
	for _, f := range [...]objField{isUser, isSiteUser, isGroup, isSiteGroup, isSPGroup, isApplication, isDevice} {
		if !set.open(f, &who) {
			continue
		}
		e, l := strings.ToLower(who.str(idEmail)), who.str(idLoginName)
		n := cmp.Or(e, l, who.str(idDisplayName))
		if !found {
			found, g.name, g.kind = true, n, f
			g.person = f == isUser || f == isSiteUser
		}
		// The user and siteUser of one set are the same person: either
		// may carry the e-mail and the login name.
		if g.person && (f == isUser || f == isSiteUser) {
			email, g.login = cmp.Or(email, e), cmp.Or(g.login, l)
		}
	}
	switch {
	case g.person:
		g.domain = recipientDomain(email, g.login)
		g.outside = recipientOutside(g.login)
	case g.kind == isGroup:
		g.outside = true
	case g.kind == isSiteGroup, g.kind == isSPGroup:
		g.siteGroup = true
	case found:
		g.outside = true
	}
	return g
}

// itemPath builds "/folder/file" from the delta tree (delta omits
// parentReference.path), falling back to the path when present.
func itemPath(it DriveItem, byID map[string]DriveItem) string {
	if it.ParentPath != "" {
		if i := strings.Index(it.ParentPath, "root:"); i >= 0 {
			return strings.TrimRight(it.ParentPath[i+5:], "/") + "/" + it.Name
		}
	}
	var parts []string
	cur := it
	for depth := 0; depth < 256 && !cur.Root; depth++ {
		parts = append(parts, cur.Name)
		parent, ok := byID[cur.ParentID]
		if !ok {
			break
		}
		cur = parent
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return "/" + strings.Join(parts, "/")
}

// driveSelect lists the fields asked for.
func driveSelect() []string { return append(driveSchema.names(), "webUrl", "driveType") }

// permissionSelect lists the fields asked for.
func permissionSelect() []string { return append(permissionSchema.names(), "invitation") }
