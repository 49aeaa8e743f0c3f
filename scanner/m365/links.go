package m365

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// DeltaPrefer asks drive delta to surface items whose sharing changed and
// to mark permission roots, so that only those need a permissions read.
const DeltaPrefer = "hierarchicalsharing, deltashowremovedasdeleted, deltatraversepermissiongaps, deltashowsharingchanges"

var (
	driveSelect      = []string{"id", "name", "webUrl", "driveType"}
	deltaSelect      = []string{"id", "name", "parentReference", "folder", "file", "root", "shared", "deleted"}
	permissionSelect = []string{"id", "roles", "link", "expirationDateTime", "hasPassword", "grantedToV2", "grantedToIdentitiesV2", "invitation", "inheritedFrom"}
)

type drive struct {
	ID, Name string
}

// parseDrives reads a site's drives.
func parseDrives(items []json.RawMessage) ([]drive, error) {
	const ep = "GET /v1.0/sites/{site-id}/drives"
	out := make([]drive, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("drive %d: %w", i, err)
		}
		if p.s("id") == "" {
			return nil, fmt.Errorf("%s: drive %d has no id", ep, i)
		}
		out = append(out, drive{ID: p.s("id"), Name: p.s("name")})
	}
	return out, nil
}

// DriveItem is what delta tells about one item.
type DriveItem struct {
	ID, Name, ParentID, ParentPath string
	Folder, Root, Deleted          bool
	// Shared is true when the item carries a shared facet (possibly empty,
	// which marks unique permissions) or a sharedChanged annotation;
	// SharedChanged when the annotation says its sharing changed.
	Shared, SharedChanged bool
}

// ParseDeltaItems reads the items of one drive delta page.
func ParseDeltaItems(items []json.RawMessage) ([]DriveItem, error) {
	const ep = "GET /v1.0/drives/{drive-id}/root/delta"
	out := make([]DriveItem, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		it := DriveItem{ID: p.s("id"), Name: p.s("name"),
			Folder: p.raw("folder") != nil, Root: p.raw("root") != nil, Deleted: p.raw("deleted") != nil,
			SharedChanged: strings.EqualFold(p.s("@microsoft.graph.sharedChanged"), "true"),
		}
		it.Shared = p.raw("shared") != nil || it.SharedChanged
		if it.ID == "" {
			return nil, fmt.Errorf("%s: item %d has no id", ep, i)
		}
		if pr := p.object("parentReference"); pr != nil {
			it.ParentID, it.ParentPath = pr.s("id"), pr.s("path")
		}
		out = append(out, it)
	}
	return out, nil
}

// ParsePermissions turns an item's permissions into sharing links; grants
// that are not links, and permissions inherited from a parent (reported on
// the parent), are skipped.
func ParsePermissions(items []json.RawMessage, base tenant.Link) ([]tenant.Link, error) {
	const ep = "GET /v1.0/drives/{drive-id}/items/{item-id}/permissions"
	var out []tenant.Link
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("permission %d: %w", i, err)
		}
		link := p.object("link")
		if link == nil || p.raw("inheritedFrom") != nil {
			continue
		}
		l := base
		l.PermissionID = p.s("id")
		if l.PermissionID == "" {
			return nil, fmt.Errorf("%s: permission %d has no id", ep, i)
		}
		l.Scope = tenant.LinkScope(link.s("scope"))
		l.Type = tenant.LinkType(link.s("type"))
		l.Roles = p.strings("roles")
		l.Expires = p.time("expirationDateTime")
		l.HasPassword = p.boolean("hasPassword")
		l.PreventsDownload = link.boolean("preventsDownload")
		l.WebURL = link.s("webUrl")
		l.GrantedTo = grantees(p)
		out = append(out, l)
	}
	return out, nil
}

// grantees lists who a "users" link was given to, by e-mail when known.
func grantees(p props) []string {
	var ids []json.RawMessage
	if raw := p.raw("grantedToIdentitiesV2"); raw != nil {
		_ = json.Unmarshal(raw, &ids)
	}
	if raw := p.raw("grantedToV2"); raw != nil {
		ids = append(ids, raw)
	}
	seen := map[string]bool{}
	var out []string
	for _, raw := range ids {
		var set props
		if json.Unmarshal(raw, &set) != nil || set == nil {
			continue
		}
		for _, k := range []string{"user", "siteUser", "group", "siteGroup"} {
			who := set.object(k)
			if who == nil {
				continue
			}
			name := strings.ToLower(who.s("email"))
			if name == "" {
				name = who.s("loginName")
			}
			if name == "" {
				name = who.s("displayName")
			}
			if name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
			break
		}
	}
	sort.Strings(out)
	return out
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
