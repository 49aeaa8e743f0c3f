package report

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

// LinkRow is one Anyone link as the inventories print it.
type LinkRow struct {
	Key        string     `json:"key"`
	SiteURL    string     `json:"siteUrl"`
	SiteTitle  string     `json:"siteTitle,omitempty"`
	Label      string     `json:"label,omitempty"`
	Library    string     `json:"library,omitempty"`
	ItemPath   string     `json:"itemPath,omitempty"`
	Folder     bool       `json:"folder"`
	Permission string     `json:"permission"`
	Expires    *time.Time `json:"expires,omitempty"`
	// Expiry is a bucket: no_expiry, expired, 7d, 30d, 90d or later.
	Expiry           string `json:"expiry"`
	Password         *bool  `json:"password,omitempty"`
	PreventsDownload *bool  `json:"preventsDownload,omitempty"`
	WebURL           string `json:"webUrl,omitempty"`
	risk             int
}

// Expiry buckets for Anyone links, in display order.
var expiryBuckets = []string{"no_expiry", "expired", "7d", "30d", "90d", "later"}

var expiryLabels = map[string]string{
	"no_expiry": "No expiry",
	"expired":   "Expired",
	"7d":        "Within 7 days",
	"30d":       "Within 30 days",
	"90d":       "Within 90 days",
	"later":     "Later than 90 days",
}

func expiryBucket(exp *time.Time, now time.Time) string {
	if exp == nil {
		return "no_expiry"
	}
	d := exp.Sub(now)
	switch {
	case d <= 0:
		return "expired"
	case d <= 7*24*time.Hour:
		return "7d"
	case d <= 30*24*time.Hour:
		return "30d"
	case d <= 90*24*time.Hour:
		return "90d"
	}
	return "later"
}

// LinkTally counts Anyone links in one group.
type LinkTally struct {
	Name     string `json:"name"`
	Label    string `json:"label,omitempty"`
	Links    int    `json:"links"`
	Edit     int    `json:"edit"`
	NoExpiry int    `json:"noExpiry"`
}

type linkInventory struct {
	Total        int            // links of any scope
	ByScope      map[string]int // all links by scope
	Anyone       int
	Edit         int
	NoExpiry     int
	Expired      int
	Password     int
	BySite       []LinkTally // sorted by links desc, capped
	MoreSites    int
	ByLabel      []LinkTally
	ByExpiry     []LinkTally // in expiryBuckets order
	ByPermission []LinkTally
	Rows         []LinkRow // riskiest first, capped
	More         int
}

type siteIndex struct {
	byID  map[string]*tenant.Site
	byURL map[string]*tenant.Site
}

func newSiteIndex(s *tenant.Snapshot) siteIndex {
	idx := siteIndex{byID: map[string]*tenant.Site{}, byURL: map[string]*tenant.Site{}}
	if s == nil {
		return idx
	}
	for i := range s.Sites {
		site := &s.Sites[i]
		idx.byID[site.ID] = site
		idx.byURL[strings.TrimSuffix(strings.ToLower(site.URL), "/")] = site
	}
	return idx
}

func (x siteIndex) lookup(id, url string) *tenant.Site {
	if s, ok := x.byID[id]; ok && id != "" {
		return s
	}
	return x.byURL[strings.TrimSuffix(strings.ToLower(url), "/")]
}

// linkRow converts an Anyone link; ok is false for links of other scopes.
func (x siteIndex) linkRow(l *tenant.Link, now time.Time) (LinkRow, bool) {
	if l.Scope != tenant.LinkScopeAnonymous {
		return LinkRow{}, false
	}
	r := LinkRow{
		Key: l.Key(), SiteURL: l.SiteURL, Library: l.Library, ItemPath: l.ItemPath, Folder: l.Folder,
		Permission: string(l.Type), Expires: l.Expires, Expiry: expiryBucket(l.Expires, now),
		Password: l.HasPassword, PreventsDownload: l.PreventsDownload, WebURL: l.WebURL,
	}
	if r.Permission == "" {
		r.Permission = "unknown"
	}
	if s := x.lookup(l.SiteID, l.SiteURL); s != nil {
		r.SiteTitle, r.Label = s.Title, s.SensitivityLabel
		if r.SiteURL == "" {
			r.SiteURL = s.URL
		}
	}
	if l.Type == tenant.LinkTypeEdit {
		r.risk += 4
	}
	if r.Expiry == "no_expiry" {
		r.risk += 2
	}
	if r.Label != "" {
		r.risk++
	}
	return r, true
}

// lessLinkRow orders rows riskiest first, then by site, path and key.
func lessLinkRow(a, b *LinkRow) bool {
	if a.risk != b.risk {
		return a.risk > b.risk
	}
	if a.SiteURL != b.SiteURL {
		return a.SiteURL < b.SiteURL
	}
	if a.ItemPath != b.ItemPath {
		return a.ItemPath < b.ItemPath
	}
	return a.Key < b.Key
}

// buildLinkInventory summarises the links in one pass. urls, when not
// empty, maps the keys of links the report names in a row to their webUrl,
// filled in this same pass; wanted holds those keys split into their parts,
// so that matching a link builds no string.
func buildLinkInventory(in *Input, opt Options, now time.Time, urls map[string]string) (*linkInventory, error) {
	type linkID struct{ drive, item, perm string }
	wanted := map[linkID]string{}
	for k := range urls {
		// A link key is "link:" + driveId + "/" + itemId + "/" + permissionId.
		if rest, ok := strings.CutPrefix(k, "link:"); ok {
			if parts := strings.SplitN(rest, "/", 3); len(parts) == 3 {
				wanted[linkID{parts[0], parts[1], parts[2]}] = k
			}
		}
	}
	inv := &linkInventory{ByScope: map[string]int{}}
	idx := newSiteIndex(in.Snapshot)
	sites := map[string]*LinkTally{}
	labels := map[string]*LinkTally{}
	perms := map[string]*LinkTally{}
	buckets := map[string]*LinkTally{}
	tally := func(m map[string]*LinkTally, name string, r *LinkRow) *LinkTally {
		t := m[name]
		if t == nil {
			t = &LinkTally{Name: name}
			m[name] = t
		}
		t.Links++
		if r.Permission == string(tenant.LinkTypeEdit) {
			t.Edit++
		}
		if r.Expiry == "no_expiry" {
			t.NoExpiry++
		}
		return t
	}
	top := newTopN(opt.MaxRows, lessLinkRow)
	for l, err := range in.links() {
		if err != nil {
			return nil, fmt.Errorf("read links: %w", err)
		}
		inv.Total++
		if len(wanted) > 0 {
			if k, ok := wanted[linkID{l.DriveID, l.ItemID, l.PermissionID}]; ok && urls[k] == "" {
				urls[k] = l.WebURL
			}
		}
		scope := string(l.Scope)
		if scope == "" {
			scope = "unknown"
		}
		inv.ByScope[scope]++
		r, ok := idx.linkRow(l, now)
		if !ok {
			continue
		}
		inv.Anyone++
		switch r.Expiry {
		case "no_expiry":
			inv.NoExpiry++
		case "expired":
			inv.Expired++
		}
		if r.Permission == string(tenant.LinkTypeEdit) {
			inv.Edit++
		}
		if r.Password != nil && *r.Password {
			inv.Password++
		}
		site := r.SiteURL
		if site == "" {
			site = "(unknown site)"
		}
		tally(sites, site, &r).Label = r.Label
		label := r.Label
		if label == "" {
			label = "(no label)"
		}
		tally(labels, label, &r)
		tally(perms, r.Permission, &r)
		tally(buckets, r.Expiry, &r)
		top.push(r)
	}
	inv.Rows = top.sorted()
	inv.More = inv.Anyone - len(inv.Rows)
	inv.BySite = sortedTallies(sites)
	if len(inv.BySite) > opt.MaxRows {
		inv.MoreSites = len(inv.BySite) - opt.MaxRows
		inv.BySite = inv.BySite[:opt.MaxRows]
	}
	inv.ByLabel = sortedTallies(labels)
	inv.ByPermission = sortedTallies(perms)
	for _, b := range expiryBuckets {
		if t := buckets[b]; t != nil {
			inv.ByExpiry = append(inv.ByExpiry, *t)
		}
	}
	return inv, nil
}

func sortedTallies(m map[string]*LinkTally) []LinkTally {
	out := make([]LinkTally, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b LinkTally) int {
		if c := cmp.Compare(b.Links, a.Links); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// GuestRow is one guest as the inventories print it.
type GuestRow struct {
	ID          string     `json:"id"`
	DisplayName string     `json:"displayName,omitempty"`
	UPN         string     `json:"userPrincipalName,omitempty"`
	Mail        string     `json:"mail,omitempty"`
	Domain      string     `json:"domain"`
	State       string     `json:"state"`
	Created     *time.Time `json:"createdAt,omitempty"`
	LastSignIn  *time.Time `json:"lastSignIn,omitempty"`
	// SignInKnown is false when sign-in activity was not collected.
	SignInKnown bool `json:"signInKnown"`
	// Sponsors and Groups are -1 when not collected.
	Sponsors int      `json:"sponsors"`
	Groups   int      `json:"groups"`
	Enabled  *bool    `json:"accountEnabled,omitempty"`
	Flags    []string `json:"flags"`
	prio     int
}

// Guest flags, in display order.
const (
	FlagBlockedDomain = "blocked_domain"
	FlagOrphaned      = "orphaned"
	FlagStale         = "stale"
	FlagNeverSignedIn = "never_signed_in"
	FlagPending       = "pending"
	FlagDisabled      = "disabled"
)

// GuestTally counts guests of one domain.
type GuestTally struct {
	Domain   string `json:"domain"`
	Guests   int    `json:"guests"`
	Pending  int    `json:"pending"`
	Stale    int    `json:"stale"`
	Orphaned int    `json:"orphaned"`
	Blocked  bool   `json:"blocked"`
}

type guestInventory struct {
	Total         int
	Flags         map[string]int
	SignInUnknown int
	ByDomain      []GuestTally // sorted by guests desc, capped
	MoreDomains   int
	Rows          []GuestRow // most concerning first, capped
	More          int
}

// domainPolicy answers whether a guest's domain is blocked by the SharePoint
// or the Entra invitation domain list.
type domainPolicy struct {
	lists []domainList
	// mustBlock are baseline globs for domains that must be blocked.
	mustBlock []string
}

type domainList struct {
	mode    tenant.DomainMode
	allowed []string
	blocked []string
}

func newDomainPolicy(s *tenant.Snapshot, mustBlock []string) domainPolicy {
	p := domainPolicy{mustBlock: mustBlock}
	if s == nil {
		return p
	}
	if sp := s.SharePoint; sp != nil {
		p.lists = append(p.lists, domainList{mode: sp.DomainRestrictionMode, allowed: sp.AllowedDomains, blocked: sp.BlockedDomains})
	}
	if s.Entra != nil && s.Entra.Invitations != nil {
		inv := s.Entra.Invitations
		p.lists = append(p.lists, domainList{mode: inv.Mode, allowed: inv.Allowed, blocked: inv.Blocked})
	}
	return p
}

func domainIn(d string, list []string) bool {
	for _, x := range list {
		x = strings.ToLower(strings.TrimPrefix(x, "*."))
		if d == x || strings.HasSuffix(d, "."+x) {
			return true
		}
	}
	return false
}

func (p domainPolicy) blocked(domain string) bool {
	d := strings.ToLower(domain)
	if d == "" {
		return false
	}
	for _, g := range p.mustBlock {
		if baselines.Glob(strings.ToLower(g), d) || domainIn(d, []string{g}) {
			return true
		}
	}
	for _, l := range p.lists {
		switch l.mode {
		case tenant.DomainModeBlockList:
			if domainIn(d, l.blocked) {
				return true
			}
		case tenant.DomainModeAllowList:
			if len(l.allowed) > 0 && !domainIn(d, l.allowed) {
				return true
			}
		}
	}
	return false
}

func guestDomain(g *tenant.Guest) string {
	if g.Domain != "" {
		return strings.ToLower(g.Domain)
	}
	addr := g.Mail
	if addr == "" {
		// Guest UPNs look like alice_example.com#EXT#@tenant.onmicrosoft.com.
		if i := strings.Index(g.UPN, "#EXT#"); i > 0 {
			local := g.UPN[:i]
			if j := strings.LastIndex(local, "_"); j >= 0 {
				return strings.ToLower(local[j+1:])
			}
		}
		return ""
	}
	if i := strings.LastIndex(addr, "@"); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

func guestRow(g *tenant.Guest, pol domainPolicy, staleAfter time.Duration, now time.Time) GuestRow {
	r := GuestRow{
		ID: g.ID, DisplayName: g.DisplayName, UPN: g.UPN, Mail: g.Mail, Domain: guestDomain(g),
		State: string(g.State), Created: g.CreatedAt, Enabled: g.AccountEnabled,
		Sponsors: -1, Groups: -1, Flags: []string{},
	}
	if r.State == "" {
		r.State = "unknown"
	}
	if g.Sponsors != nil {
		r.Sponsors = len(g.Sponsors)
	}
	if g.MemberOf != nil {
		r.Groups = len(g.MemberOf)
	}
	flag := func(f string, prio int) {
		r.Flags = append(r.Flags, f)
		r.prio += prio
	}
	if pol.blocked(r.Domain) {
		flag(FlagBlockedDomain, 16)
	}
	if r.Sponsors == 0 && r.Groups == 0 {
		flag(FlagOrphaned, 8)
	}
	if g.SignIn != nil {
		r.SignInKnown = true
		r.LastSignIn = g.SignIn.Last
		ref := g.SignIn.Last
		if ref == nil {
			ref = g.CreatedAt
		}
		// A guest that never signed in is stale once its account is older
		// than the threshold; with no creation date it is stale outright.
		if ref == nil || now.Sub(*ref) > staleAfter {
			flag(FlagStale, 4)
		}
		if g.SignIn.Last == nil {
			flag(FlagNeverSignedIn, 1)
		}
	}
	if g.State == tenant.GuestPending {
		flag(FlagPending, 2)
	}
	if g.AccountEnabled != nil && !*g.AccountEnabled {
		flag(FlagDisabled, 0)
	}
	return r
}

func lessGuestRow(a, b *GuestRow) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	if a.Domain != b.Domain {
		return a.Domain < b.Domain
	}
	if a.UPN != b.UPN {
		return a.UPN < b.UPN
	}
	return a.ID < b.ID
}

func buildGuestInventory(in *Input, opt Options, now time.Time) (*guestInventory, error) {
	inv := &guestInventory{Flags: map[string]int{}}
	pol := newDomainPolicy(in.Snapshot, opt.BlockedDomains)
	stale := time.Duration(opt.StaleDays) * 24 * time.Hour
	domains := map[string]*GuestTally{}
	top := newTopN(opt.MaxRows, lessGuestRow)
	for g, err := range in.guests() {
		if err != nil {
			return nil, fmt.Errorf("read guests: %w", err)
		}
		r := guestRow(g, pol, stale, now)
		inv.Total++
		if !r.SignInKnown {
			inv.SignInUnknown++
		}
		d := r.Domain
		if d == "" {
			d = "(unknown)"
		}
		t := domains[d]
		if t == nil {
			t = &GuestTally{Domain: d}
			domains[d] = t
		}
		t.Guests++
		for _, f := range r.Flags {
			inv.Flags[f]++
			switch f {
			case FlagPending:
				t.Pending++
			case FlagStale:
				t.Stale++
			case FlagOrphaned:
				t.Orphaned++
			case FlagBlockedDomain:
				t.Blocked = true
			}
		}
		top.push(r)
	}
	inv.Rows = top.sorted()
	inv.More = inv.Total - len(inv.Rows)
	for _, t := range domains {
		inv.ByDomain = append(inv.ByDomain, *t)
	}
	slices.SortFunc(inv.ByDomain, func(a, b GuestTally) int {
		if c := cmp.Compare(b.Guests, a.Guests); c != 0 {
			return c
		}
		return cmp.Compare(a.Domain, b.Domain)
	})
	if len(inv.ByDomain) > opt.MaxRows {
		inv.MoreDomains = len(inv.ByDomain) - opt.MaxRows
		inv.ByDomain = inv.ByDomain[:opt.MaxRows]
	}
	return inv, nil
}

// CalendarRow is one domain's calendar exposure through a sharing policy or
// an organization relationship.
type CalendarRow struct {
	Kind    string `json:"kind"` // sharing_policy or organization_relationship
	Name    string `json:"name"`
	Domain  string `json:"domain"`
	Level   string `json:"level"`
	Enabled *bool  `json:"enabled,omitempty"`
	Default bool   `json:"default,omitempty"`
	Scope   string `json:"scope,omitempty"`
	Actions string `json:"actions,omitempty"`
	// Exposure is none, low, medium or high.
	Exposure string `json:"exposure"`
	rank     int
}

// Calendar exposure levels, lowest first.
var exposureNames = []string{"none", "low", "medium", "high"}

func calendarRows(s *tenant.Snapshot) []CalendarRow {
	if s == nil || s.Exchange == nil {
		return nil
	}
	var rows []CalendarRow
	for _, p := range s.Exchange.SharingPolicies {
		for _, d := range p.Domains {
			best, level := 0, "none"
			for _, a := range d.Actions {
				if r, ok := tenant.CalendarDetailRank(a); ok && r > best {
					best, level = r, a
				}
			}
			rank := best
			if d.Domain == "*" || strings.EqualFold(d.Domain, "anonymous") {
				rank++ // everyone outside the tenant, not one partner
			}
			if p.Enabled != nil && !*p.Enabled {
				rank = 0
			}
			rows = append(rows, CalendarRow{
				Kind: "sharing_policy", Name: p.Name, Domain: d.Domain, Level: level, Enabled: p.Enabled,
				Default: p.Default, Actions: strings.Join(d.Actions, ","), rank: min(rank, 3),
			})
		}
	}
	for _, o := range s.Exchange.OrganizationRelationships {
		level := o.FreeBusyAccessLevel
		if o.FreeBusyAccessEnabled != nil && !*o.FreeBusyAccessEnabled {
			level = tenant.FreeBusyNone
		}
		if level == "" {
			level = "unknown"
		}
		rank, _ := tenant.FreeBusyRank(level)
		if o.Enabled != nil && !*o.Enabled {
			rank = 0
		}
		for _, d := range o.DomainNames {
			rows = append(rows, CalendarRow{
				Kind: "organization_relationship", Name: o.Name, Domain: d, Level: level,
				Enabled: o.Enabled, Scope: o.FreeBusyAccessScope, rank: rank,
			})
		}
	}
	for i := range rows {
		rows[i].Exposure = exposureNames[rows[i].rank]
	}
	slices.SortStableFunc(rows, func(a, b CalendarRow) int {
		if c := cmp.Compare(b.rank, a.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return rows
}

// topN keeps the n best items seen, by less (less(a, b) means a ranks before b).
type topN[T any] struct {
	n    int
	less func(a, b *T) bool
	h    topHeap[T]
}

func newTopN[T any](n int, less func(a, b *T) bool) *topN[T] {
	return &topN[T]{n: n, less: less, h: topHeap[T]{less: less}}
}

func (t *topN[T]) push(v T) {
	if t.h.Len() < t.n {
		heap.Push(&t.h, v)
		return
	}
	// The heap's root is the worst kept item; replace it if v ranks before it.
	if t.n > 0 && t.less(&v, &t.h.items[0]) {
		t.h.items[0] = v
		heap.Fix(&t.h, 0)
	}
}

func (t *topN[T]) sorted() []T {
	out := slices.Clone(t.h.items)
	slices.SortFunc(out, func(a, b T) int {
		if t.less(&a, &b) {
			return -1
		}
		if t.less(&b, &a) {
			return 1
		}
		return 0
	})
	return out
}

// topHeap is a heap whose root is the item ranking last.
type topHeap[T any] struct {
	items []T
	less  func(a, b *T) bool
}

func (h topHeap[T]) Len() int           { return len(h.items) }
func (h topHeap[T]) Less(i, j int) bool { return h.less(&h.items[j], &h.items[i]) }
func (h topHeap[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *topHeap[T]) Push(x any)        { h.items = append(h.items, x.(T)) }
func (h *topHeap[T]) Pop() any {
	n := len(h.items)
	x := h.items[n-1]
	h.items = h.items[:n-1]
	return x
}
