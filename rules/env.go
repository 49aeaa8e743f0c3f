package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

// Tenant-level keys for results about a whole collection rather than one
// object (nothing to judge, section incomplete, baseline silent).
const (
	keySites    = "sites:tenant"
	keyLinks    = "links:tenant"
	keyGuests   = "guests:tenant"
	keyExchange = "exchange:tenant"
)

// env is what one evaluation shares between rules: the inputs plus lookups
// built lazily, at most once, so that per-object rules stay O(n).
type env struct {
	s   *tenant.Snapshot
	b   *baselines.Baseline
	now time.Time

	sitesBuilt bool
	sitesByID  map[string]*siteInfo
	sitesByURL map[string]*siteInfo
	siteOrder  []*siteInfo // sorted by key

	guestsBuilt bool
	guestOrder  []int32 // guest indexes sorted by key
	guestKeys   []string

	strs  map[memoKey]string
	texts map[string]string

	// linkKey and linkURL are the link being judged: links may be
	// spooled, so its web URL is noted while it is at hand.
	linkKey, linkURL string
	// linkSiteID and linkSiteURL place the link being judged, for its
	// site's sensitivity label.
	linkSiteID, linkSiteURL string
	groupLabels             map[string]string // group key -> its labels, built on first use
	spoAdminURL             string
	spoAdminDone            bool
}

// memoKey identifies a formatted string by its format and one number.
type memoKey struct {
	format string
	n      int64
}

// memo formats format with n once per evaluation. Per-object messages and
// values repeat a lot (the same day, the same count of days), and caching
// them keeps large tenants from allocating a string per result.
func (e *env) memo(format string, n int64, f func() string) string {
	k := memoKey{format, n}
	if v, ok := e.strs[k]; ok {
		return v
	}
	if e.strs == nil {
		e.strs = map[memoKey]string{}
	}
	v := f()
	e.strs[k] = v
	return v
}

// memoText interns a message built from service values, which repeat
// across a tenant's objects.
func (e *env) memoText(s string) string {
	if v, ok := e.texts[s]; ok {
		return v
	}
	if e.texts == nil {
		e.texts = map[string]string{}
	}
	e.texts[s] = s
	return s
}

// dated returns prefix + the UTC date of t, memoised per day.
func (e *env) dated(prefix string, t time.Time) string {
	day := t.UTC().Unix() / 86400
	return e.memo(prefix, day, func() string { return prefix + date(t) })
}

// count returns format with n substituted, memoised per n.
func (e *env) count(format string, n int) string {
	return e.memo(format, int64(n), func() string { return fmt.Sprintf(format, n) })
}

type siteInfo struct {
	site         *tenant.Site
	key          string
	confidential bool
	why          string
	linkMsg      string
	// libs caches library-URL pattern verdicts (a message, or "" when not
	// confidential), by library name.
	libs map[string]string
}

func newEnv(s *tenant.Snapshot, b *baselines.Baseline) *env {
	if b == nil {
		b = &baselines.Baseline{}
	}
	return &env{s: s, b: b, now: s.CollectedAt}
}

// incomplete returns an explanation when any of the sections is not
// complete, or "" when all are.
func (e *env) incomplete(secs ...tenant.Section) string {
	for _, sec := range secs {
		if e.s.Complete(sec) {
			continue
		}
		st, ok := e.s.Status[sec]
		if !ok {
			return fmt.Sprintf("section %s was not collected", sec)
		}
		if st.Error != "" {
			return fmt.Sprintf("section %s is %s: %s", sec, st.State, st.Error)
		}
		return fmt.Sprintf("section %s is %s", sec, st.State)
	}
	return ""
}

func (e *env) buildSites() {
	if e.sitesBuilt {
		return
	}
	e.sitesBuilt = true
	conf := &e.b.Confidential
	e.sitesByID = make(map[string]*siteInfo, len(e.s.Sites))
	e.sitesByURL = make(map[string]*siteInfo, len(e.s.Sites))
	infos := make([]siteInfo, len(e.s.Sites))
	e.siteOrder = make([]*siteInfo, len(e.s.Sites))
	for i := range e.s.Sites {
		st := &e.s.Sites[i]
		si := &infos[i]
		si.site, si.key = st, st.Key()
		if l := labelMatch(conf.Labels, st); l != "" {
			si.confidential, si.why = true, "label "+l
		} else if p := firstGlob(conf.URLPatterns, st.URL); p != "" {
			si.confidential, si.why = true, "URL matches "+p
		}
		e.sitesByID[st.ID] = si
		e.sitesByURL[normURL(st.URL)] = si
		e.siteOrder[i] = si
	}
	slices.SortFunc(e.siteOrder, func(a, b *siteInfo) int { return strings.Compare(a.key, b.key) })
}

// siteOf finds a link's site by ID, else by URL.
func (e *env) siteOf(l *tenant.Link) *siteInfo {
	e.buildSites()
	if l.SiteID != "" {
		if si, ok := e.sitesByID[l.SiteID]; ok {
			return si
		}
	}
	if l.SiteURL != "" {
		return e.sitesByURL[normURL(l.SiteURL)]
	}
	return nil
}

// linkSiteUnread returns why a link's site is not known to this
// evaluation, or "" when it is: the sites section was read for some sites
// only (a scan of the drives change notifications named), and the link's
// site is not one of them, or the link names no site id to tell. Its
// label and sharing were then not read, which is not "not confidential".
func (e *env) linkSiteUnread(l *tenant.Link) string {
	st := e.s.Status[tenant.SectionSites]
	if !st.Scoped() {
		return ""
	}
	if l.SiteID != "" && st.InScope((&tenant.Site{ID: l.SiteID}).Key()) {
		return ""
	}
	return "the link's site was not read by this scan (sites read for the changed drives only)"
}

// linkConfidential returns why a link sits on confidential content, as a
// result message, or "" when it does not. Messages are built once per site
// and library.
func (e *env) linkConfidential(l *tenant.Link) string {
	const prefix = "Anyone link on confidential content ("
	si := e.siteOf(l)
	if si != nil && si.confidential {
		if si.linkMsg == "" {
			si.linkMsg = prefix + si.why + ")"
		}
		return si.linkMsg
	}
	pats := e.b.Confidential.URLPatterns
	if len(pats) == 0 {
		return ""
	}
	if si == nil {
		// The site is not in the snapshot: only URL patterns can tell.
		if p := firstGlob(pats, l.SiteURL); p != "" {
			return prefix + "URL matches " + p + ")"
		}
		if l.Library != "" {
			if p := firstGlob(pats, strings.TrimSuffix(l.SiteURL, "/")+"/"+l.Library); p != "" {
				return prefix + "library URL matches " + p + ")"
			}
		}
		return ""
	}
	if l.Library == "" {
		return ""
	}
	if msg, ok := si.libs[l.Library]; ok {
		return msg
	}
	msg := ""
	if p := firstGlob(pats, strings.TrimSuffix(si.site.URL, "/")+"/"+l.Library); p != "" {
		msg = prefix + "library URL matches " + p + ")"
	}
	if si.libs == nil {
		si.libs = map[string]string{}
	}
	si.libs[l.Library] = msg
	return msg
}

func (e *env) buildGuests() {
	if e.guestsBuilt {
		return
	}
	e.guestsBuilt = true
	n := len(e.s.Guests)
	e.guestKeys = make([]string, n)
	e.guestOrder = make([]int32, n)
	for i := range e.s.Guests {
		e.guestKeys[i] = e.s.Guests[i].Key()
		e.guestOrder[i] = int32(i)
	}
	slices.SortFunc(e.guestOrder, func(a, b int32) int { return strings.Compare(e.guestKeys[a], e.guestKeys[b]) })
}

func normURL(u string) string { return strings.ToLower(strings.TrimSuffix(u, "/")) }

func firstGlob(patterns []string, s string) string {
	for _, p := range patterns {
		if baselines.Glob(p, s) {
			return p
		}
	}
	return ""
}

// labelMatch returns the configured label a site carries (by display name
// or ID), or "".
func labelMatch(labels []string, st *tenant.Site) string {
	if st.SensitivityLabel == "" && st.SensitivityLabelID == "" {
		return ""
	}
	for _, l := range labels {
		if (st.SensitivityLabel != "" && strings.EqualFold(l, st.SensitivityLabel)) ||
			(st.SensitivityLabelID != "" && strings.EqualFold(l, st.SensitivityLabelID)) {
			return l
		}
	}
	return ""
}

// groupLabelMatch is labelMatch for a group's labels.
func groupLabelMatch(labels []string, g *tenant.Group) string {
	for _, gl := range g.Labels {
		for _, l := range labels {
			if strings.EqualFold(l, gl.DisplayName) || strings.EqualFold(l, gl.ID) {
				return l
			}
		}
	}
	return ""
}

// Display names: results speak the baseline's vocabulary so that expected
// and actual read alike; unknown service values are shown verbatim.

func levelName(l tenant.SharingLevel) string     { return tenant.SharingLevels.BaselineName(l) }
func modeName(m tenant.DomainMode) string        { return tenant.DomainModes.BaselineName(m) }
func scopeName(s tenant.LinkScope) string        { return tenant.LinkScopes.BaselineName(s) }
func inviteName(v tenant.InviteFrom) string      { return tenant.InviteFroms.BaselineName(v) }
func accessName(g tenant.GuestAccess) string     { return tenant.GuestAccesses.BaselineName(g) }
func permName(t tenant.LinkType) string          { return tenant.LinkTypes.BaselineName(t) }
func freeBusyName(l tenant.FreeBusyLevel) string { return tenant.FreeBusyLevels.BaselineName(l) }

// calendarName names the highest calendar action of an entry (by rank).
func calendarName(rank int) string {
	for _, t := range tenant.CalendarActions.Terms {
		if t.Rank == rank && t.Baseline != "" {
			return t.Baseline
		}
	}
	return fmt.Sprint(rank)
}

func atMost[T ~string](v T) string { return "at most " + string(v) }

// expecting returns res carrying x as its machine-readable expectation.
func expecting(res tenant.Result, x tenant.Expectation) tenant.Result {
	res.Expect = &x
	return res
}

// ceiling is the expectation "at most max on sc", having found found.
func ceiling[T, U ~string](sc tenant.Scale, max T, found U) tenant.Expectation {
	return tenant.Expectation{Scale: sc, AtMost: string(max), Found: string(found)}
}

func date(t time.Time) string { return t.UTC().Format("2006-01-02") }

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }
