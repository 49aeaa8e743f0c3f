package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
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
	// which marks unique permissions) or a sharedChanged annotation.
	Shared bool
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
			Shared: p.raw("shared") != nil || strings.EqualFold(p.s("@microsoft.graph.sharedChanged"), "true"),
		}
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

// linksSource finds shared items with drive delta and reads their
// permissions in batches.
type linksSource struct {
	c  *Client
	on func(driveID, deltaLink string)
}

func (linksSource) Section() tenant.Section { return tenant.SectionLinks }

func (src linksSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	sites, err := src.c.listSites(ctx)
	if err != nil {
		return fmt.Errorf("collect links: %w", err)
	}
	var reqs []BatchRequest
	byID := map[string]graphSite{}
	for _, s := range sites {
		byID[s.FullID] = s
		reqs = append(reqs, BatchRequest{ID: s.FullID, URL: "/sites/" + escapePath(s.FullID) + "/drives" + selectQuery(driveSelect)})
	}
	var failures []error
	driveRes := src.c.BatchCollections(ctx, V1, reqs)
	links := []tenant.Link{}
	for _, key := range sortedKeys(driveRes) {
		res := driveRes[key]
		site := byID[key]
		if res.Err != nil {
			failures = append(failures, fmt.Errorf("drives of %s: %w", site.URL, res.Err))
			continue
		}
		drives, err := parseDrives(res.Items)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		for _, d := range drives {
			l, err := src.driveLinks(ctx, site, d)
			links = append(links, l...)
			if err != nil {
				failures = append(failures, fmt.Errorf("drive %s of %s: %w", d.Name, site.URL, err))
			}
		}
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Key() < links[j].Key() })
	snap.Links = links
	if len(failures) > 0 {
		return scanner.Partial(fmt.Errorf("collect links: %d failures: %w", len(failures), errors.Join(failures...)))
	}
	return nil
}

func (src linksSource) driveLinks(ctx context.Context, site graphSite, d drive) ([]tenant.Link, error) {
	byID := map[string]DriveItem{}
	var order []string
	path := "/drives/" + escapePath(d.ID) + "/root/delta" + selectQuery(deltaSelect, "$top="+itoa(src.c.o.PageSize))
	deltaLink, err := src.c.GraphPages(ctx, V1, path, http.Header{"Prefer": {DeltaPrefer}}, func(items []json.RawMessage) error {
		its, err := ParseDeltaItems(items)
		for _, it := range its {
			if _, seen := byID[it.ID]; !seen {
				order = append(order, it.ID)
			}
			byID[it.ID] = it // the last occurrence wins
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if src.on != nil && deltaLink != "" {
		src.on(d.ID, deltaLink)
	}
	var reqs []BatchRequest
	for _, id := range order {
		it := byID[id]
		if it.Shared && !it.Deleted && !it.Root {
			reqs = append(reqs, BatchRequest{ID: id, URL: "/drives/" + escapePath(d.ID) + "/items/" + escapePath(id) + "/permissions" + selectQuery(permissionSelect)})
		}
	}
	res := src.c.BatchCollections(ctx, V1, reqs)
	var links []tenant.Link
	var errs []error
	for _, r := range reqs {
		it := byID[r.ID]
		pr := res[r.ID]
		if pr.Err != nil {
			errs = append(errs, pr.Err)
			continue
		}
		base := tenant.Link{DriveID: d.ID, ItemID: it.ID, SiteID: site.ID, SiteURL: site.URL, Library: d.Name,
			ItemPath: itemPath(it, byID), Folder: it.Folder}
		l, err := ParsePermissions(pr.Items, base)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		links = append(links, l...)
	}
	return links, errors.Join(errs...)
}
