package m365test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Spec sizes a generated tenant. Everything about it is a function of the
// seed and the indices, computed when asked for: a generated tenant of
// millions of items holds only the changes applied to it in memory.
type Spec struct {
	Seed  uint64 `json:"seed"`
	Sites int    `json:"sites"`
	// ItemsPerDrive counts the root, folders and files of each site's one
	// document library.
	ItemsPerDrive int `json:"itemsPerDrive"`
	// SharedPerDrive is the expected number of files carrying sharing
	// links per drive; LinksPerShared the links on each.
	SharedPerDrive int `json:"sharedPerDrive"`
	LinksPerShared int `json:"linksPerShared"`
	Guests         int `json:"guests"`
}

// SizeSpec returns the named size: "s1" is 1k sites, ~1M items of which
// ~100k shared with one link each, 10k guests; "s2" is 10k sites, 2M
// items, ~500k shared items with two links each (~1M links), 100k guests.
func SizeSpec(name string, seed uint64) (Spec, error) {
	switch name {
	case "s1":
		return Spec{Seed: seed, Sites: 1000, ItemsPerDrive: 1000, SharedPerDrive: 100, LinksPerShared: 1, Guests: 10000}, nil
	case "s2":
		return Spec{Seed: seed, Sites: 10000, ItemsPerDrive: 200, SharedPerDrive: 50, LinksPerShared: 2, Guests: 100000}, nil
	}
	return Spec{}, fmt.Errorf("unknown size %q, expected s1 or s2", name)
}

// Generated is a synthetic tenant.
type Generated struct {
	spec     Spec
	seed     uint64
	host     string
	tenantID string
	// now is the server's clock: new sign-ins happen at its time, so that
	// a collector asking for sign-ins since its last read finds them.
	now func() time.Time

	mu     sync.RWMutex
	epoch  int
	items  map[int]map[int]itemOverride // drive → item → override
	guests map[int]guestOverride
	added  int         // guests created by change sets
	floor  map[int]int // drive → oldest epoch whose tokens are still valid
	// joins are guests added to a group by change sets: a membership
	// change, which users delta does not report and groups delta does.
	joins []groupJoin
	// files are the names of the files AddAnyoneFile put in each drive,
	// items ItemsPerDrive, ItemsPerDrive+1, … of the drive.
	files map[int][]string
}

// groupJoin is a guest added to group (an index of guestGroupID) at epoch.
type groupJoin struct {
	epoch, guest, group int
}

type itemOverride struct {
	epoch   int
	deleted bool
	shared  bool
	variant int
}

type guestOverride struct {
	epoch   int
	deleted bool
	flipped bool
	renamed int
	signIn  time.Time // a new sign-in, zero for none
}

// genNow is the generated tenant's clock: every timestamp derives from it,
// and change set e happens e hours later.
var genNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewGenerated starts a fake serving the generated tenant.
func NewGenerated(spec Spec, opts Options) (*Server, error) {
	if spec.Sites <= 0 || spec.ItemsPerDrive < 3 || spec.LinksPerShared <= 0 || spec.Guests < 0 {
		return nil, fmt.Errorf("generated tenant: invalid size %+v", spec)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 999
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := newServer(opts)
	name := fmt.Sprintf("gen%d", spec.Seed)
	s.meta = Meta{Tenant: name + ".onmicrosoft.com", TenantID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", uint32(mix(spec.Seed))), SharePointTenant: name}
	now := genNow
	s.meta.Now = &now
	s.gen = &Generated{spec: spec, seed: mix(spec.Seed + 1), host: name + ".sharepoint.com", now: s.clock.Now, tenantID: s.meta.TenantID,
		items: map[int]map[int]itemOverride{}, guests: map[int]guestOverride{}, floor: map[int]int{}, files: map[int][]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s, nil
}

// Generated returns the server's generated tenant, nil for a fixture.
func (s *Server) Generated() *Generated { return s.gen }

// Spec returns the tenant's size.
func (g *Generated) Spec() Spec { return g.spec }

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g *Generated) h(a, b, c, d uint64) uint64 {
	return mix(mix(mix(mix(g.seed^a)^b)^c) ^ d)
}

// Identities. Indices are embedded so that requests can be resolved
// without a lookup table.
func (g *Generated) siteGUID(d int) string {
	return fmt.Sprintf("%08x-%04x-4000-8000-%012d", uint32(g.seed), d%0xffff, d)
}
func (g *Generated) siteFullID(d int) string {
	return g.host + "," + g.siteGUID(d) + "," + fmt.Sprintf("%08x-0000-4000-9000-%012d", uint32(g.seed>>32), d)
}
func (g *Generated) siteURL(d int) string { return fmt.Sprintf("https://%s/sites/s%05d", g.host, d) }
func driveID(d int) string                { return fmt.Sprintf("b!gen-%05d", d) }
func itemID(d, j int) string              { return fmt.Sprintf("i%05d-%07d", d, j) }
func (g *Generated) guestID(i int) string {
	return fmt.Sprintf("%08x-0000-4000-a000-%012d", uint32(g.seed>>16), i)
}

func parseIndex(s, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

func (g *Generated) driveIndex(id string) (int, bool) {
	d, ok := parseIndex(id, "b!gen-")
	return d, ok && d < g.spec.Sites
}

func (g *Generated) siteIndex(fullID string) (int, bool) {
	parts := strings.Split(fullID, ",")
	if len(parts) != 3 || parts[0] != g.host || len(parts[1]) < 12 {
		return 0, false
	}
	d, err := strconv.Atoi(parts[1][len(parts[1])-12:])
	if err != nil || d >= g.spec.Sites || g.siteGUID(d) != parts[1] {
		return 0, false
	}
	return d, true
}

func (g *Generated) itemIndex(d int, id string) (int, bool) {
	pre := fmt.Sprintf("i%05d-", d)
	j, ok := parseIndex(id, pre)
	return j, ok && j < g.itemEnd(d)
}

// itemEnd is one past drive d's last item index: the generated items and
// the files added to it (caller holds mu).
func (g *Generated) itemEnd(d int) int { return g.spec.ItemsPerDrive + len(g.files[d]) }

// isAdded reports whether item j is a file AddAnyoneFile added.
func (g *Generated) isAdded(j int) bool { return j >= g.spec.ItemsPerDrive }

func (g *Generated) guestIndex(id string) (int, bool) {
	if len(id) < 12 {
		return 0, false
	}
	i, err := strconv.Atoi(id[len(id)-12:])
	if err != nil || g.guestID(i) != id {
		return 0, false
	}
	return i, true
}

// folders is the number of folders under each drive's root.
func (g *Generated) folders() int { return max(1, g.spec.ItemsPerDrive/100) }

// item is the current state of item j of drive d; the caller holds mu.
type item struct {
	exists, root, folder, shared bool
	variant                      int
	epoch                        int // last change, 0 for none
}

func (g *Generated) baseShared(d, j int) bool {
	files := g.spec.ItemsPerDrive - 1 - g.folders()
	return g.h(1, uint64(d), uint64(j), 0)%uint64(files) < uint64(g.spec.SharedPerDrive)
}

func (g *Generated) item(d, j int) item {
	it := item{exists: true, root: j == 0, folder: j > 0 && j <= g.folders()}
	if it.root || it.folder {
		return it
	}
	it.shared = !g.isAdded(j) && g.baseShared(d, j)
	if o, ok := g.items[d][j]; ok {
		it.exists, it.shared, it.variant, it.epoch = !o.deleted, o.shared && !o.deleted, o.variant, o.epoch
	}
	return it
}

func (g *Generated) itemName(j int) string {
	switch {
	case j == 0:
		return "root"
	case j <= g.folders():
		return fmt.Sprintf("Folder %03d", j)
	}
	return fmt.Sprintf("File %07d.docx", j)
}

func (g *Generated) parent(j int) int {
	if j <= g.folders() || g.isAdded(j) {
		return 0
	}
	return 1 + j%g.folders()
}

// nameOf is item j's name in drive d: an added file's own (caller holds
// mu).
func (g *Generated) nameOf(d, j int) string {
	if g.isAdded(j) {
		return g.files[d][j-g.spec.ItemsPerDrive]
	}
	return g.itemName(j)
}

// ItemPath is the path the collector should report for generated item j
// (a file AddAnyoneFile added sits under the root, with its own name).
func (g *Generated) ItemPath(j int) string {
	if j <= g.folders() {
		return "/" + g.itemName(j)
	}
	return "/" + g.itemName(g.parent(j)) + "/" + g.itemName(j)
}

var scopes = []string{"anonymous", "organization", "users"}

// LinkMix states the generated sharing mix: what the benchmark reports.
const LinkMix = "one shared item in five carries an Anyone link (its first link); " +
	"the other links are organization links, one in 25 a link for specific people; " +
	"a change set rotates the scopes of the links it re-scopes; " +
	"orphaned sharing-link groups: about one unshared file in 97 keeps a group of a removed Anyone link, " +
	"one Anyone item in ten a second group whose link is gone, and items deleted or unshared by a change set keep their groups; " +
	"one site in 200 (s00199, s00399, …) has guests among its users: there links for specific people go to guests " +
	"and about one shared file in four also carries a direct grant (an invitation, no link) to the site's guest; " +
	"elsewhere links for specific people go to members, and every site lists its owner, the system account and " +
	"Everyone except external users among its users; " +
	"one site in 20 (s00010, s00030, …) carries the Confidential sensitivity label, the others none; " +
	"files added while change notifications run (AddAnyoneFile) carry one Anyone view link without expiry"

// confidentialEvery is how often a site carries the Confidential label
// (LinkMix): computed from the index, so labels cost no memory.
const confidentialEvery = 20

// Sensitivity labels of the generated tenant's catalogue.
const (
	labelGeneral            = "7a1e0000-0001-4000-8000-000000000001"
	labelConfidential       = "7a1e0000-0002-4000-8000-000000000002"
	labelHighlyConfidential = "7a1e0000-0003-4000-8000-000000000003"
)

// siteLabel is the sensitivity label id of site d, "" for none.
func siteLabel(d int) string {
	if d%confidentialEvery == confidentialEvery/2 {
		return labelConfidential
	}
	return ""
}

// ConfidentialDrive is the drive of the n-th site labelled Confidential
// (n from 0), false when the tenant has fewer.
func (g *Generated) ConfidentialDrive(n int) (string, bool) {
	d := n*confidentialEvery + confidentialEvery/2
	if n < 0 || d >= g.spec.Sites {
		return "", false
	}
	return driveID(d), true
}

// sensitivityLabels is the tenant's label catalogue, shaped like the
// beta security/informationProtection/sensitivityLabels answer.
func sensitivityLabels() []map[string]any {
	out := []map[string]any{}
	for i, l := range []struct{ id, name string }{{labelGeneral, "General"}, {labelConfidential, "Confidential"}, {labelHighlyConfidential, "Highly Confidential"}} {
		out = append(out, map[string]any{"id": l.id, "name": l.name, "description": "", "color": "", "sensitivity": i, "tooltip": l.name,
			"isActive": true, "isAppliable": true, "contentFormats": []any{"file", "email", "site", "unifiedGroup"}, "hasProtection": false})
	}
	return out
}

// outsiderEvery is how often a site has guests among its users (LinkMix).
const outsiderEvery = 200

// outsiderSite reports whether site d has guests among its users.
func (g *Generated) outsiderSite(d int) bool {
	return g.spec.Guests > 0 && d%outsiderEvery == outsiderEvery-1
}

// siteGuest is the guest of an outsider site its direct grants go to.
func (g *Generated) siteGuest(d int) int {
	return int(g.h(13, uint64(d), 0, 0) % uint64(g.spec.Guests))
}

// directGrant reports whether shared file j of site d carries a direct
// grant (LinkMix).
func (g *Generated) directGrant(d, j int) bool {
	return !g.isAdded(j) && g.outsiderSite(d) && g.h(14, uint64(d), uint64(j), 0)%4 == 0
}

// tenantName is the tenant's name (the host's first label).
func (g *Generated) tenantName() string { return strings.TrimSuffix(g.host, ".sharepoint.com") }

// guestLogin is guest i's claims login: a B2B guest's UPN.
func (g *Generated) guestLogin(i int) string {
	return "i:0#.f|membership|" + strings.ToLower(strings.Replace(g.guestMail(i), "@", "_", 1)) + "#ext#@" + g.tenantName() + ".onmicrosoft.com"
}

// grantID is the permission id of a direct grant: the base64 of its
// grantee's claims login, as the recorded invitations show.
func grantID(login string) string { return base64.RawURLEncoding.EncodeToString([]byte(login)) }

// uniqueID is the list item UniqueId of item j of drive d.
func (g *Generated) uniqueID(d, j int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(g.seed), d&0xffff, (j>>12)&0xfff, j&0xfff, uint64(d)<<24|uint64(j))
}

func guidOf(h uint64) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(h>>32), uint16(h>>16), h&0xfff, (h>>12)&0xfff, h&0xffffffffffff)
}

// permID is the id of link k of item j: a GUID, as SharePoint's link
// permission ids are, so that a sharing-link group can name it.
func (g *Generated) permID(d, j, k int) string {
	return guidOf(g.h(3, uint64(d), uint64(j), uint64(k)))
}

// linkScope is the scope of link k of item j in variant v (see LinkMix).
func (g *Generated) linkScope(d, j, k, v int) string {
	base := 1 // organization
	switch {
	case k == 0 && g.h(8, uint64(d), uint64(j), 0)%5 == 0:
		base = 0
	case g.h(9, uint64(d), uint64(j), uint64(k))%25 == 0:
		base = 2
	}
	return scopes[(base+v)%3]
}

// linkKind is the SharingLinkKind a link's group title names.
func linkKind(scope, typ string) string {
	switch scope {
	case "anonymous":
		if typ == "edit" {
			return "AnonymousEdit"
		}
		return "AnonymousView"
	case "organization":
		if typ == "edit" {
			return "OrganizationEdit"
		}
		return "OrganizationView"
	}
	return "Flexible"
}

// permissions are the sharing links of an item in its current state.
func (g *Generated) permissions(d, j int, it item) []any {
	if !it.shared {
		return []any{}
	}
	if g.isAdded(j) {
		return []any{g.anyoneLink(d, j)}
	}
	out := make([]any, 0, g.spec.LinksPerShared)
	for k := 0; k < g.spec.LinksPerShared; k++ {
		hk := g.h(2, uint64(d), uint64(j), uint64(k))
		scope := g.linkScope(d, j, k, it.variant)
		typ, roles := "view", []string{"read"}
		if (hk>>8)%3 == 0 {
			typ, roles = "edit", []string{"write"}
		}
		// Shaped like the recorded answers: hasPassword on every link,
		// the legacy grantedToIdentities beside the V2 form.
		p := map[string]any{
			"id":                    g.permID(d, j, k),
			"roles":                 roles,
			"hasPassword":           false,
			"grantedToIdentitiesV2": []any{},
			"grantedToIdentities":   []any{},
			"link": map[string]any{"scope": scope, "type": typ, "preventsDownload": false,
				"webUrl": fmt.Sprintf("https://%s/:w:/s/s%05d/E%016x", g.host, d, hk)},
		}
		switch scope {
		case "anonymous":
			if (hk>>16)%2 == 0 {
				p["expirationDateTime"] = genNow.AddDate(0, 0, int((hk>>20)%200)-50).Format(time.RFC3339)
			}
		case "users":
			switch {
			case g.outsiderSite(d):
				gi := int((hk >> 24) % uint64(g.spec.Guests))
				g.grantTo(p, g.guestID(gi), g.guestName(gi, 0), g.guestMail(gi), g.guestLogin(gi), 10+gi%1000, true)
			default:
				// A member of the tenant.
				mi := int((hk >> 24) % 5000)
				mail := fmt.Sprintf("user%04d@%s.onmicrosoft.com", mi, g.tenantName())
				g.grantTo(p, guidOf(g.h(15, uint64(mi), 0, 0)), fmt.Sprintf("User %04d", mi), mail, "i:0#.f|membership|"+mail, 2000+mi, true)
			}
		}
		out = append(out, p)
	}
	if g.directGrant(d, j) {
		gi := g.siteGuest(d)
		login := g.guestLogin(gi)
		roles := []string{"read"}
		if g.h(16, uint64(d), uint64(j), 0)%3 == 0 {
			roles = []string{"write"}
		}
		p := map[string]any{"id": grantID(login), "roles": roles}
		g.grantTo(p, g.guestID(gi), g.guestName(gi, 0), g.guestMail(gi), login, 10+gi%1000, false)
		out = append(out, p)
	}
	return out
}

// anyoneLink is the one link of an added file: Anyone, view, no expiry.
func (g *Generated) anyoneLink(d, j int) map[string]any {
	return map[string]any{"id": g.permID(d, j, 0), "roles": []string{"read"}, "hasPassword": false,
		"grantedToIdentitiesV2": []any{}, "grantedToIdentities": []any{},
		"link": map[string]any{"scope": "anonymous", "type": "view", "preventsDownload": false,
			"webUrl": fmt.Sprintf("https://%s/:x:/s/s%05d/E%016x", g.host, d, g.h(2, uint64(d), uint64(j), 0))}}
}

// grantTo names the person a permission was given to, shaped like the
// recorded answers: a link's recipients in grantedToIdentitiesV2 (and the
// legacy grantedToIdentities), a direct grant's in grantedToV2 (and the
// legacy grantedTo).
func (g *Generated) grantTo(p map[string]any, id, name, mail, login string, siteUserID int, link bool) {
	user := map[string]any{"id": id, "displayName": name, "email": mail}
	set := map[string]any{
		"user":     map[string]any{"@odata.type": "#microsoft.graph.sharePointIdentity", "id": id, "displayName": name, "email": mail},
		"siteUser": map[string]any{"id": strconv.Itoa(siteUserID), "displayName": name, "email": mail, "loginName": login},
	}
	if link {
		p["grantedToIdentitiesV2"] = []any{set}
		p["grantedToIdentities"] = []any{map[string]any{"user": user}}
		return
	}
	p["grantedToV2"] = set
	p["grantedTo"] = map[string]any{"user": user}
}

// SiteUser is a member of a site group as SharePoint lists it (SP.User).
type SiteUser struct {
	LoginName, Email, Title string
}

// SiteGroup is a site group: its title and members.
type SiteGroup struct {
	Title string
	Users []SiteUser
}

// linkGroups appends the sharing-link groups of item j: one per current
// link, plus the orphans of LinkMix. A link for specific people has its
// recipients as members, the same people its permission names.
func (g *Generated) linkGroups(out []SiteGroup, d, j int, it item) []SiteGroup {
	uid := g.uniqueID(d, j)
	add := func(st item) {
		for _, p := range g.permissions(d, j, st) {
			m := p.(map[string]any)
			l, ok := m["link"].(map[string]any)
			if !ok {
				continue // a direct grant has no group
			}
			grp := SiteGroup{Title: "SharingLinks." + uid + "." + linkKind(l["scope"].(string), l["type"].(string)) + "." + m["id"].(string)}
			for _, gi := range m["grantedToIdentitiesV2"].([]any) {
				su := gi.(map[string]any)["siteUser"].(map[string]any)
				grp.Users = append(grp.Users, SiteUser{LoginName: su["loginName"].(string), Email: su["email"].(string), Title: su["displayName"].(string)})
			}
			out = append(out, grp)
		}
	}
	add(it)
	if g.isAdded(j) {
		return out
	}
	if _, changed := g.items[d][j]; changed && !it.shared && g.baseShared(d, j) {
		// Deleted or unshared: SharePoint may keep the groups.
		add(item{exists: true, shared: true})
	}
	switch {
	case !g.baseShared(d, j) && g.h(10, uint64(d), uint64(j), 0)%97 == 0:
		out = append(out, SiteGroup{Title: "SharingLinks." + uid + ".AnonymousView." + guidOf(g.h(11, uint64(d), uint64(j), 0))})
	case it.shared && g.linkScope(d, j, 0, it.variant) == "anonymous" && g.h(12, uint64(d), uint64(j), 0)%10 == 0:
		out = append(out, SiteGroup{Title: "SharingLinks." + uid + ".AnonymousEdit." + guidOf(g.h(11, uint64(d), uint64(j), 1))})
	}
	return out
}

// SiteGroupTitles lists the titles of site d's groups (see SiteGroups).
func (g *Generated) SiteGroupTitles(d int) []string {
	gs := g.SiteGroups(d)
	out := make([]string, len(gs))
	for i, sg := range gs {
		out[i] = sg.Title
	}
	return out
}

// SiteGroups lists site d's groups: its three standard groups (the
// owners group holding the site's owner) and its sharing-link groups.
func (g *Generated) SiteGroups(d int) []SiteGroup {
	g.mu.RLock()
	defer g.mu.RUnlock()
	name := fmt.Sprintf("s%05d", d)
	owner := SiteUser{LoginName: "i:0#.f|membership|owner-" + name + "@" + strings.TrimSuffix(g.host, ".sharepoint.com") + ".onmicrosoft.com",
		Email: "owner-" + name + "@" + strings.TrimSuffix(g.host, ".sharepoint.com") + ".onmicrosoft.com", Title: "Owner of " + name}
	out := []SiteGroup{{Title: name + " Owners", Users: []SiteUser{owner}}, {Title: name + " Members"}, {Title: name + " Visitors"}}
	for j := g.folders() + 1; j < g.itemEnd(d); j++ {
		out = g.linkGroups(out, d, j, g.item(d, j))
	}
	return out
}

// SiteUser is also an entry of a site's users (SP.User) as
// GET {site}/_api/web/siteusers lists it; Guest marks a B2B guest.

// SiteUsers lists site d's users: the system account, Everyone except
// external users, the owner, every member of its sharing-link groups and,
// on a site with guests among its users (LinkMix), the guest its direct
// grants go to. SharePoint keeps a user on the site after its access is
// removed, so the members of orphaned groups stay too.
func (g *Generated) SiteUsers(d int) []SiteUser {
	out := []SiteUser{
		{LoginName: "SHAREPOINT\\system", Title: "System Account"},
		{LoginName: "c:0-.f|rolemanager|spo-grid-all-users/" + g.tenantID, Title: "Everyone except external users"},
	}
	seen := map[string]bool{}
	for _, sg := range g.SiteGroups(d) {
		for _, u := range sg.Users {
			if !seen[u.LoginName] {
				seen[u.LoginName] = true
				out = append(out, u)
			}
		}
	}
	if g.outsiderSite(d) {
		gi := g.siteGuest(d)
		if l := g.guestLogin(gi); !seen[l] {
			out = append(out, SiteUser{LoginName: l, Email: g.guestMail(gi), Title: g.guestName(gi, 0)})
		}
	}
	return out
}

// linkKeys are the snapshot keys of an item's links.
func (g *Generated) linkKeys(d, j int, it item) []string {
	if !it.exists || !it.shared {
		return nil
	}
	n := g.spec.LinksPerShared
	if g.isAdded(j) {
		n = 1
	}
	out := make([]string, 0, n+1)
	for k := 0; k < n; k++ {
		out = append(out, "link:"+driveID(d)+"/"+itemID(d, j)+"/"+g.permID(d, j, k))
	}
	if g.directGrant(d, j) {
		out = append(out, "link:"+driveID(d)+"/"+itemID(d, j)+"/"+grantID(g.guestLogin(g.siteGuest(d))))
	}
	return out
}

// EachLinkKey calls fn with every link key of the tenant, in key order.
func (g *Generated) EachLinkKey(fn func(key string)) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for d := 0; d < g.spec.Sites; d++ {
		for j := 0; j < g.itemEnd(d); j++ {
			keys := g.linkKeys(d, j, g.item(d, j))
			sort.Strings(keys)
			for _, k := range keys {
				fn(k)
			}
		}
	}
}

func (g *Generated) deltaItem(d, j int, it item, changed bool) map[string]any {
	m := map[string]any{"id": itemID(d, j)}
	pr := map[string]any{"driveId": driveID(d), "driveType": "documentLibrary"}
	if j > 0 {
		pr["id"] = itemID(d, g.parent(j))
	}
	m["parentReference"] = pr
	if !it.exists {
		m["deleted"] = map[string]any{"state": "deleted"}
		return m
	}
	m["name"] = g.nameOf(d, j)
	if j > 0 {
		m["sharepointIds"] = map[string]any{"listItemUniqueId": g.uniqueID(d, j)}
	}
	switch {
	case it.root:
		m["root"] = map[string]any{}
		m["folder"] = map[string]any{"childCount": g.folders()}
	case it.folder:
		m["folder"] = map[string]any{"childCount": (g.spec.ItemsPerDrive - 1 - g.folders()) / g.folders()}
	default:
		m["file"] = map[string]any{"mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
	}
	switch {
	case it.shared && g.isAdded(j):
		m["shared"] = map[string]any{"scope": "anonymous"}
	case it.shared:
		m["shared"] = map[string]any{"scope": "users"}
	case changed && !it.root && !it.folder:
		// Sharing removed: an empty shared facet.
		m["shared"] = map[string]any{}
	}
	if changed {
		m["@microsoft.graph.sharedChanged"] = "True"
	}
	return m
}

// Guests.
func (g *Generated) guestMail(i int) string {
	return fmt.Sprintf("guest%06d@partner%03d.example", i, i%500)
}

func (g *Generated) guestName(i, renamed int) string {
	if renamed > 0 {
		return fmt.Sprintf("Guest %06d (%d)", i, renamed)
	}
	return fmt.Sprintf("Guest %06d", i)
}

func (g *Generated) guestExists(i int) bool {
	if i >= g.spec.Guests+g.added {
		return false
	}
	o, ok := g.guests[i]
	return !ok || !o.deleted
}

func (g *Generated) guestRefs(i int, kind uint64, n int) []any {
	out := []any{}
	for k := 0; k < n; k++ {
		hk := g.h(5, uint64(i), kind, uint64(k))
		if kind == 0 {
			s := int(hk % 50)
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph.user", "id": fmt.Sprintf("5a0e0000-0000-4000-8000-%012d", s), "displayName": fmt.Sprintf("Sponsor %02d", s)})
		} else {
			gr := int(hk % 300)
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph.group", "id": guestGroupID(gr), "displayName": fmt.Sprintf("Group %03d", gr)})
		}
	}
	return out
}

func (g *Generated) sponsors(i int) []any {
	if g.h(4, uint64(i), 1, 0)%10 < 7 {
		return g.guestRefs(i, 0, 1)
	}
	return []any{}
}

// guestGroupID is the id of generated group gr (of 300).
func guestGroupID(gr int) string { return fmt.Sprintf("6b0e0000-0000-4000-8000-%012d", gr) }

func (g *Generated) memberOf(i int) []any {
	n := int(g.h(4, uint64(i), 2, 0) % 3)
	refs := g.guestRefs(i, 1, n)
	for _, jn := range g.joins {
		if jn.guest == i {
			refs = append(refs, map[string]any{"@odata.type": "#microsoft.graph.group", "id": guestGroupID(jn.group), "displayName": fmt.Sprintf("Group %03d", jn.group)})
		}
	}
	// Two draws may name the same group; a user is a member once.
	seen := map[string]bool{}
	out := refs[:0]
	for _, r := range refs {
		id := r.(map[string]any)["id"].(string)
		if !seen[id] {
			seen[id] = true
			out = append(out, r)
		}
	}
	return out
}

// lastSignIn is the guest's last sign-in, zero when never.
func (g *Generated) lastSignIn(i int) time.Time {
	if o, ok := g.guests[i]; ok && !o.signIn.IsZero() {
		return o.signIn
	}
	if i >= g.spec.Guests {
		return time.Time{}
	}
	hs := g.h(4, uint64(i), 3, 0)
	if hs%5 == 0 {
		return time.Time{}
	}
	return genNow.Add(-time.Duration(24+hs%(400*24)) * time.Hour)
}

// guest is the user object of guest i (caller holds mu).
func (g *Generated) guest(i int, withSignIn, withSponsors bool) map[string]any {
	o := g.guests[i]
	hs := g.h(4, uint64(i), 0, 0)
	created := genNow.Add(-time.Duration(30*24+hs%(700*24)) * time.Hour)
	if i >= g.spec.Guests {
		created = genNow.Add(time.Duration(o.epoch) * time.Hour)
	}
	state, changed := "Accepted", created.Add(26*time.Hour)
	if hs%10 == 0 {
		state = "PendingAcceptance"
	}
	if o.flipped {
		state = map[string]string{"Accepted": "PendingAcceptance", "PendingAcceptance": "Accepted"}[state]
		changed = genNow.Add(time.Duration(o.epoch) * time.Hour)
	}
	m := map[string]any{
		"id": g.guestID(i), "displayName": g.guestName(i, o.renamed), "mail": g.guestMail(i),
		"userPrincipalName": fmt.Sprintf("guest%06d_partner%03d.example#EXT#@%s.onmicrosoft.com", i, i%500, strings.TrimSuffix(g.host, ".sharepoint.com")),
		"userType":          "Guest", "externalUserState": state, "externalUserStateChangeDateTime": changed.Format(time.RFC3339),
		"createdDateTime": created.Format(time.RFC3339), "accountEnabled": true,
	}
	if withSignIn {
		if t := g.lastSignIn(i); !t.IsZero() {
			ts := t.Format(time.RFC3339)
			m["signInActivity"] = map[string]any{"lastSignInDateTime": ts, "lastNonInteractiveSignInDateTime": "0001-01-01T00:00:00Z", "lastSuccessfulSignInDateTime": ts}
		} else {
			m["signInActivity"] = nil
		}
	}
	if withSponsors {
		m["sponsors"] = g.sponsors(i)
	}
	return m
}

// Truth lists what a change set changed, as snapshot keys.
type Truth struct {
	Epoch  int      `json:"epoch"`
	Links  []string `json:"links"`
	Guests []string `json:"guests"`
}

// ApplyChanges applies a deterministic change set touching about fraction
// of the shared items and of the guests: links re-scoped, items unshared,
// deleted or newly shared; guests accepting, renamed, signing in, deleted
// or invited. It returns every snapshot key the change set changed.
func (g *Generated) ApplyChanges(fraction float64) Truth {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	e := g.epoch
	tr := Truth{Epoch: e}
	threshold := uint64(fraction * float64(1<<32))
	files := g.spec.ItemsPerDrive - 1 - g.folders()
	shareThreshold := uint64(fraction * float64(g.spec.SharedPerDrive) / float64(max(1, files-g.spec.SharedPerDrive)) * float64(1<<32))
	for d := 0; d < g.spec.Sites; d++ {
		for j := g.folders() + 1; j < g.spec.ItemsPerDrive; j++ {
			it := g.item(d, j)
			if !it.exists {
				continue
			}
			r := g.h(6, uint64(e), uint64(d), uint64(j))
			var o itemOverride
			switch {
			case it.shared && r&0xffffffff < threshold:
				o = itemOverride{epoch: e, shared: true, variant: it.variant + 1}
				switch (r >> 32) % 10 {
				case 6, 7:
					o.shared = false
				case 8, 9:
					o.deleted, o.shared = true, false
				}
			case !it.shared && r&0xffffffff < shareThreshold:
				o = itemOverride{epoch: e, shared: true, variant: it.variant + 1}
			default:
				continue
			}
			before := g.linkKeys(d, j, it)
			if g.items[d] == nil {
				g.items[d] = map[int]itemOverride{}
			}
			g.items[d][j] = o
			after := g.linkKeys(d, j, g.item(d, j))
			// Every link changes (re-scoped, removed or added); a direct
			// grant only when it comes or goes with the item's sharing.
			grant := ""
			if g.directGrant(d, j) {
				grant = "link:" + driveID(d) + "/" + itemID(d, j) + "/" + grantID(g.guestLogin(g.siteGuest(d)))
			}
			for _, k := range append(before, after...) {
				if k != grant || slices.Contains(before, k) != slices.Contains(after, k) {
					tr.Links = append(tr.Links, k)
				}
			}
		}
	}
	for i := 0; i < g.spec.Guests+g.added; i++ {
		if !g.guestExists(i) {
			continue
		}
		r := g.h(7, uint64(e), uint64(i), 0)
		if r&0xffffffff >= threshold {
			continue
		}
		o := g.guests[i]
		o.epoch = e
		switch (r >> 32) % 4 {
		case 0:
			o.flipped = !o.flipped
		case 1:
			o.renamed++
		case 2:
			o.signIn = g.now().UTC().Truncate(time.Second)
		case 3:
			o.deleted = true
		}
		g.guests[i] = o
		tr.Guests = append(tr.Guests, "guest:"+g.guestID(i))
	}
	// As many guests again join a group: only groups delta tells.
	for i := 0; i < g.spec.Guests+g.added; i++ {
		r := g.h(13, uint64(e), uint64(i), 0)
		if !g.guestExists(i) || r&0xffffffff >= threshold {
			continue
		}
		gr := int((r >> 32) % 300)
		member := false
		for _, ref := range g.memberOf(i) {
			member = member || ref.(map[string]any)["id"] == guestGroupID(gr)
		}
		if member {
			continue // already a member: nothing changes
		}
		g.joins = append(g.joins, groupJoin{epoch: e, guest: i, group: gr})
		tr.Guests = append(tr.Guests, "guest:"+g.guestID(i))
	}
	n := int(fraction * float64(g.spec.Guests) / 4)
	for k := 0; k < n; k++ {
		i := g.spec.Guests + g.added
		g.added++
		g.guests[i] = guestOverride{epoch: e}
		tr.Guests = append(tr.Guests, "guest:"+g.guestID(i))
	}
	tr.Links = dedupe(tr.Links)
	tr.Guests = dedupe(tr.Guests)
	return tr
}

// ExpireTokens makes every delta token issued before now invalid for
// one drive in every n (410 Gone, as after the service's retention).
func (g *Generated) ExpireTokens(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	for d := 0; d < g.spec.Sites; d += max(1, n) {
		g.floor[d] = g.epoch
	}
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Count is what the tenant holds right now.
type Count struct {
	Sites, Drives, Items, SharedItems, Links, Guests int
	// OutsiderSites have guests among their users; DirectGrants (counted
	// in Links too) are the invitations on their items (LinkMix).
	OutsiderSites, DirectGrants int
}

// Count walks the tenant (cost: one pass over every item).
func (g *Generated) Count() Count {
	g.mu.RLock()
	defer g.mu.RUnlock()
	c := Count{Sites: g.spec.Sites, Drives: g.spec.Sites}
	for d := 0; d < g.spec.Sites; d++ {
		if g.outsiderSite(d) {
			c.OutsiderSites++
		}
		for j := 0; j < g.itemEnd(d); j++ {
			it := g.item(d, j)
			if !it.exists {
				continue
			}
			c.Items++
			if it.shared {
				c.SharedItems++
				c.Links += len(g.linkKeys(d, j, it))
				if g.directGrant(d, j) {
					c.DirectGrants++
				}
			}
		}
	}
	for i := 0; i < g.spec.Guests+g.added; i++ {
		if g.guestExists(i) {
			c.Guests++
		}
	}
	return c
}

// addGeneratedAnyoneFile is AddAnyoneFile on a generated drive: the file
// shows in the drive's delta as changed (a change set of its
// own), its permissions and its sharing-link group read like every other
// item's, the ground truth (EachLinkKey, Count) includes its link, and the
// drive's subscriptions are notified. It returns the item and permission
// ids.
func (s *Server) addGeneratedAnyoneFile(drive, name string) (string, string, error) {
	g := s.gen
	g.mu.Lock()
	d, ok := g.driveIndex(drive)
	if !ok {
		g.mu.Unlock()
		return "", "", fmt.Errorf("no drive %s in the generated tenant", drive)
	}
	j := g.itemEnd(d)
	g.files[d] = append(g.files[d], name)
	g.epoch++
	if g.items[d] == nil {
		g.items[d] = map[int]itemOverride{}
	}
	g.items[d][j] = itemOverride{epoch: g.epoch, shared: true}
	item, perm := itemID(d, j), g.permID(d, j, 0)
	g.mu.Unlock()
	s.notifyDrive(drive)
	return item, perm, nil
}
