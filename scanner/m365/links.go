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
	permissionSchema  = newSchema("permission")
	pmID              = permissionSchema.identity("id")
	pmRoles           = permissionSchema.strings("roles")
	pmLink            = permissionSchema.object("link", sharingLinkSchema)
	pmExpires         = permissionSchema.time("expirationDateTime")
	pmHasPassword     = permissionSchema.boolean("hasPassword")
	pmGrantedTo       = permissionSchema.object("grantedToV2", identitySetSchema)
	pmGrantedToIDs    = permissionSchema.objects("grantedToIdentitiesV2", identitySetSchema)
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

// ParsePermissions turns an item's permissions into sharing links; grants
// that are not links are skipped. Links a folder passes down to an item
// are returned too: SharePoint never marks them (no inheritedFrom), so
// dedupeLinks keeps one per permission id and drive. Permissions that
// cannot be read, links or not, are left out and reported as
// FieldErrors: a "link" of the wrong type must never pass for a grant
// that is not a link.
func ParsePermissions(items []json.RawMessage, base tenant.Link) ([]tenant.Link, error) {
	var out []tenant.Link
	var bad FieldErrors
	var r, link reader
	for i, raw := range items {
		if !r.item(epPermissions, permissionSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		if !r.open(pmLink, &link) {
			// Not a link: its JSON types were checked when it was opened.
			if r.failed() {
				bad.add(r.first())
			}
			continue
		}
		l := base
		l.PermissionID = r.str(pmID)
		l.Scope = tenant.LinkScope(link.strIn(slScope, knownScopes))
		l.Type = tenant.LinkType(link.strIn(slType, knownTypes))
		l.Roles = r.strsIn(pmRoles, knownRoles)
		l.Expires = r.time(pmExpires)
		l.HasPassword = r.boolp(pmHasPassword)
		l.PreventsDownload = link.boolp(slPreventsDownload)
		l.WebURL = link.str(slWebURL)
		l.GrantedTo, l.RecipientDomains, l.ExternalRecipients = grantees(&r)
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

// grantees lists who a "users" link was given to, by e-mail when known,
// with their e-mail domains and those of them outside the tenant.
func grantees(r *reader) (names, domains, external []string) {
	var set reader
	add := func() {
		g := readGrantee(&set)
		if g.name == "" || slices.Contains(names, g.name) {
			return
		}
		names = append(names, g.name)
		if g.domain != "" && !slices.Contains(domains, g.domain) {
			domains = append(domains, g.domain)
		}
		if g.outside {
			external = append(external, g.name)
		}
	}
	for l := r.list(pmGrantedToIDs); l.next(r, &set); {
		add()
	}
	if r.open(pmGrantedTo, &set) {
		add()
	}
	sort.Strings(names)
	sort.Strings(domains)
	sort.Strings(external)
	return names, domains, external
}

// grantee is one identity set a link was given to.
type grantee struct {
	name, domain string
	outside      bool
}

// readGrantee names the first identity of a set: e-mail, login name or
// display name. Every identity present is read, so that none hides a
// value of the wrong type. A group or site group is the tenant's own; a
// person is placed by recipientOutside.
func readGrantee(set *reader) grantee {
	var who reader
	var g grantee
	var email, login string
	found, person := false, false
	for _, f := range [...]objField{isUser, isSiteUser, isGroup, isSiteGroup} {
		if !set.open(f, &who) {
			continue
		}
		e, l := strings.ToLower(who.str(idEmail)), who.str(idLoginName)
		n := e
		if n == "" {
			n = l
		}
		if n == "" {
			n = who.str(idDisplayName)
		}
		if !found {
			found, g.name = true, n
			person = f == isUser || f == isSiteUser
		}
		// The user and siteUser of one set are the same person: either
		// may carry the e-mail and the login name.
		if person && (f == isUser || f == isSiteUser) {
			email, login = cmp.Or(email, e), cmp.Or(login, l)
		}
	}
	if person {
		g.domain = recipientDomain(email, login)
		g.outside = recipientOutside(login)
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
