package remediate

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/tenant"
)

// Plan is what it takes to fix one finding: API operations in order, each
// with its before and after values.
type Plan struct {
	Tenant      string          `json:"tenant"`
	Fingerprint string          `json:"fingerprint"`
	RuleID      string          `json:"ruleId"`
	Section     tenant.Section  `json:"section"`
	Severity    tenant.Severity `json:"severity"`
	ObjectKey   string          `json:"objectKey"`
	ObjectName  string          `json:"objectName,omitempty"`
	Expected    string          `json:"expected,omitempty"`
	Actual      string          `json:"actual,omitempty"`
	// ScanID and CollectedAt say which scan the plan was made from; apply
	// refuses plans from incomplete sections or scans older than allowed.
	ScanID      int64     `json:"scanId,omitempty"`
	CollectedAt time.Time `json:"collectedAt"`
	Ops         []Op      `json:"ops"`
	// NotBefore holds back deferred operations until a grace period ends.
	NotBefore *time.Time `json:"notBefore,omitempty"`
	// Note says what a reader of the plan must know that its operations do
	// not show (e.g. why a fix deletes instead of changing).
	Note string `json:"note,omitempty"`
	// Blocked says why the plan must never run: applied to the snapshot
	// it was made from, it would make a rule of the baseline worse (see
	// safety.go). Record stores such a plan as blocked, and approve and
	// apply refuse it.
	Blocked string `json:"blocked,omitempty"`
}

// Destructive reports whether any operation of the plan is destructive.
func (p *Plan) Destructive() bool {
	for i := range p.Ops {
		if p.Ops[i].Destructive {
			return true
		}
	}
	return false
}

// planner builds the operations fixing one failed result.
type planner func(c *planCtx, r *tenant.Result) ([]Op, error)

// planners is the explicit list of fixable rules. Rules not listed (e.g.
// guests.sponsor: nobody can be made a sponsor automatically) have no plan.
// Planners read a result's typed expectation (tenant.Result.Expect), the
// object key and the snapshot, never the display text of Expected or
// Actual: rewording a message must not change a fix.
var planners = map[string]planner{
	rules.IDSharePointSharingLevel:           spCapOp("sharingCapability", tenant.ScaleSharing),
	rules.IDSharePointOneDriveSharingLevel:   spCapOp("oneDriveSharingCapability", tenant.ScaleSharing),
	rules.IDSharePointDefaultLinkScope:       spCapOp("defaultLinkScope", tenant.ScaleLinkScope),
	rules.IDSharePointDefaultLinkPermission:  spCapOp("defaultLinkPermission", tenant.ScaleLinkType),
	rules.IDSharePointDomainRestrictionMode:  planSPMode,
	rules.IDSharePointBlockedDomains:         planSPBlocked,
	rules.IDSharePointAllowedDomains:         planSPAllowed,
	rules.IDSharePointAnyoneLinkExpiry:       planSPAnyoneExpiry,
	rules.IDSharePointAnyoneLinkPermission:   planSPAnyonePerm,
	rules.IDSharePointGuestResharing:         planSPResharing,
	rules.IDSharePointGuestAccessExpiry:      planSPGuestExpiry,
	rules.IDSharePointVerificationCodeReauth: planSPReauth,
	rules.IDSitesSharingLevel:                planSite,
	rules.IDSitesLabelSharingLevel:           planSite,
	rules.IDSitesConfidentialSharingLevel:    planSite,
	rules.IDLinksAnyoneLink:                  planLink,
	rules.IDLinksAnyoneLinkEdit:              planLink,
	rules.IDLinksAnyoneLinkExpiry:            planLinkExpiry,
	rules.IDLinksAnyoneOnConfidential:        planLink,
	rules.IDGuestsStale:                      planGuest,
	rules.IDGuestsOrphaned:                   planGuest,
	rules.IDGuestsPending:                    planGuest,
	rules.IDGuestsBlockedDomain:              planGuest,
	rules.IDEntraInviteFrom:                  planInviteFrom,
	rules.IDEntraGuestAccess:                 planGuestAccess,
	rules.IDEntraInvitationDomainMode:        planInviteMode,
	rules.IDEntraInvitationBlockedDomains:    planInviteBlocked,
	rules.IDEntraInvitationAllowedDomains:    planInviteAllowed,
	rules.IDGroupsGuestSettings:              planGroupsSettings,
	rules.IDGroupsGroupGuestAccess:           planGroupGuests,
	rules.IDExchangeAnonymousCalendarSharing: planPolicyEntry(func(*planCtx, *tenant.Result) (*EntryEdit, error) {
		return &EntryEdit{Domain: "Anonymous", Drop: true}, nil
	}),
	rules.IDExchangeCalendarAllDomains:   planPolicyEntry(allDomainsCap),
	rules.IDExchangeCalendarDomainDetail: planPolicyEntry(domainCap),
	rules.IDExchangeContactsAllDomains: planPolicyEntry(func(*planCtx, *tenant.Result) (*EntryEdit, error) {
		return &EntryEdit{Domain: "*", RemoveActions: []string{tenant.ContactsSharing}}, nil
	}),
	rules.IDExchangeOrgRelationshipFreeBusy: planOrgFreeBusy,
	rules.IDExchangeOrgRelationshipAllowed:  planOrgAllowed,
}

// planReads names the sections a planner reads besides its rule's own:
// a plan built while one of them is incomplete would carry a wrong scope
// (a link without its site's label escapes a label-scoped policy), so no
// plan is built then.
var planReads = map[string][]tenant.Section{
	rules.IDLinksAnyoneLink:           {tenant.SectionSites},
	rules.IDLinksAnyoneLinkEdit:       {tenant.SectionSites},
	rules.IDLinksAnyoneLinkExpiry:     {tenant.SectionSites},
	rules.IDLinksAnyoneOnConfidential: {tenant.SectionSites},
}

// Fixable reports whether a rule has an automated fix.
func Fixable(ruleID string) bool {
	_, ok := planners[ruleID]
	return ok
}

// FixableRules lists the rules with an automated fix, sorted.
func FixableRules() []string {
	out := make([]string, 0, len(planners))
	for id := range planners {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

type planCtx struct {
	s *tenant.Snapshot
	b *baselines.Baseline
	// note is set by a planner for the plan it builds (Plan.Note).
	note string
	// wantLinks are the keys of the links results are about; links holds
	// them, read in one pass over the snapshot's links when first needed
	// (a large tenant's links are spooled: one pass per plan would read a
	// million links a thousand times).
	wantLinks map[string]bool
	links     map[string]tenant.Link
	linksErr  error
}

// link returns the snapshot's link with this key, or nil.
func (c *planCtx) link(key string) (*tenant.Link, error) {
	if c.links == nil {
		c.links = map[string]tenant.Link{}
		c.linksErr = c.s.EachLink(func(x *tenant.Link) error {
			if k := x.Key(); c.wantLinks[k] {
				c.links[k] = *x // the spool reuses x
			}
			return nil
		})
	}
	if c.linksErr != nil {
		return nil, c.linksErr
	}
	if l, ok := c.links[key]; ok {
		return &l, nil
	}
	return nil, nil
}

// Build plans a fix for every failed result of a fixable rule whose
// section was collected completely. Results accepted by a baseline
// exception are left alone. Results that cannot be planned (the object is
// missing from the snapshot, the value has no API equivalent) are returned
// as skips with the reason, so nothing is silently dropped. Every plan is
// checked against the baseline's rules on the snapshot with its operations
// applied; one that would make anything worse comes back with Blocked set.
func Build(s *tenant.Snapshot, b *baselines.Baseline, results []tenant.Result) (plans []Plan, skipped map[string]string) {
	skipped = map[string]string{}
	c := &planCtx{s: s, b: b, wantLinks: map[string]bool{}}
	for i := range results {
		if results[i].Section == tenant.SectionLinks {
			c.wantLinks[results[i].ObjectKey] = true
		}
	}
	sf := &safety{s: s, b: b}
	for i := range results {
		r := &results[i]
		if r.Outcome != tenant.Fail || r.Exception != "" {
			continue
		}
		pl, ok := planners[r.RuleID]
		if !ok {
			continue
		}
		fp := r.Fingerprint()
		if sec, ok := incompleteRead(s, r); !ok {
			skipped[fp] = fmt.Sprintf("section %s is not complete", sec)
			continue
		}
		c.note = ""
		ops, err := pl(c, r)
		if err != nil {
			skipped[fp] = err.Error()
			continue
		}
		for j := range ops {
			if ops[j].After == nil {
				ch := ops[j].Change.at(s.CollectedAt)
				after, err := ch.Apply(ops[j].Before)
				if err != nil {
					return nil, map[string]string{fp: err.Error()}
				}
				ops[j].After = after
			}
		}
		p := Plan{Tenant: s.Tenant, Fingerprint: fp, RuleID: r.RuleID, Section: r.Section, Severity: r.Severity,
			ObjectKey: r.ObjectKey, ObjectName: r.ObjectName, Expected: r.Expected, Actual: r.Actual, CollectedAt: s.CollectedAt, Ops: ops, Note: c.note}
		if why := sf.unchecked(&p); why != "" {
			skipped[fp] = why
			continue
		}
		plans = append(plans, p)
	}
	sf.prepare(plans)
	for i := range plans {
		plans[i].Blocked = sf.blocked(&plans[i])
	}
	return plans, skipped
}

// incompleteRead finds a section the plan of r would read that was not
// collected completely.
func incompleteRead(s *tenant.Snapshot, r *tenant.Result) (tenant.Section, bool) {
	for _, sec := range append([]tenant.Section{r.Section}, planReads[r.RuleID]...) {
		if !s.Complete(sec) {
			return sec, false
		}
	}
	return "", true
}

// expectation is r's typed expectation; a result without one (from a
// rule or a codec that does not set it) cannot be planned.
func expectation(r *tenant.Result) (*tenant.Expectation, error) {
	if r.Expect == nil {
		return nil, fmt.Errorf("rule %s: the result carries no expectation to plan from", r.RuleID)
	}
	return r.Expect, nil
}

// ceilingOn is the ceiling of r's expectation on scale sc.
func ceilingOn(r *tenant.Result, sc tenant.Scale) (string, error) {
	x, err := expectation(r)
	if err != nil {
		return "", err
	}
	if x.Scale != sc || x.AtMost == "" {
		return "", fmt.Errorf("rule %s: expectation %+v is not a ceiling on the %s scale", r.RuleID, *x, sc)
	}
	if _, ok := sc.Rank(x.AtMost); !ok {
		return "", fmt.Errorf("rule %s: ceiling %q is not on the %s scale", r.RuleID, x.AtMost, sc)
	}
	return x.AtMost, nil
}

// fieldValue reads a snapshot object's field by its JSON name.
func fieldValue(obj any, field string) json.RawMessage {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw(obj), &m)
	if v, ok := m[field]; ok {
		return v
	}
	return raw(nil)
}

func spOp(c *planCtx, field string, ch Change) (Op, error) {
	api, err := m365.SharePointSettingAPI(field)
	if err != nil {
		return Op{}, err
	}
	before := fieldValue(c.s.SharePoint, field)
	// A setting the scan found unset cannot be written back as unset: the
	// change is then not reversible (rollback reports it instead of
	// writing a value that was never there).
	return Op{Action: ActionSetSharePoint, ObjectKey: c.s.SharePoint.Key(), Field: field, Before: before,
		Change: ch, API: api, Reversible: string(normalize(before)) != "null", Priority: priorityNormal}, nil
}

func spCapOp(field string, scale tenant.Scale) planner {
	return func(c *planCtx, r *tenant.Result) ([]Op, error) {
		capv, err := ceilingOn(r, scale)
		if err != nil {
			return nil, err
		}
		op, err := spOp(c, field, Change{AtMost: &Cap{Scale: string(scale), Value: capv}})
		return []Op{op}, err
	}
}

// modeOps fixes a restriction-mode result. A mode narrower than the floor
// stays (an allow list is never traded for a block list, which would let
// in every domain it does not name): only the entries letting a must-block
// domain in leave it. A mode below the floor is raised to it, and a new
// block list gets the must-block domains, or the switch would unblock
// domains the old mode kept out.
func modeOps(r *tenant.Result, cur tenant.DomainMode, modeOp func(tenant.DomainMode) (Op, error), listOp func(field string, ch Change) (Op, error), allowField, blockField string) ([]Op, error) {
	x, err := expectation(r)
	if err != nil {
		return nil, err
	}
	floor := tenant.DomainMode(x.AtLeast)
	want, ok := floor.Rank()
	if x.Scale != tenant.ScaleDomainMode || !ok {
		return nil, fmt.Errorf("rule %s: expectation %+v is not a floor on the %s scale", r.RuleID, *x, tenant.ScaleDomainMode)
	}
	have, known := cur.Rank()
	switch {
	case !known:
		return nil, fmt.Errorf("rule %s: domain restriction mode %q not recognised", r.RuleID, cur)
	case have >= want:
		if len(x.LetIn) == 0 {
			return nil, fmt.Errorf("rule %s: mode %s already meets %s and lets no must-block domain in", r.RuleID, cur, floor)
		}
		op, err := listOp(allowField, Change{Remove: x.LetIn})
		op.Scope.Domains = x.LetIn
		return []Op{op}, err
	}
	op, err := modeOp(floor)
	if err != nil {
		return nil, err
	}
	ops := []Op{op}
	if floor == tenant.DomainModeBlockList {
		if add := literalDomains(x.KeepOut); len(add) > 0 {
			op, err = listOp(blockField, Change{Add: add})
			ops = append(ops, op)
		}
	}
	return ops, err
}

func spModeOp(c *planCtx) func(tenant.DomainMode) (Op, error) {
	return func(m tenant.DomainMode) (Op, error) {
		op, err := spOp(c, sharePointModeField, Change{Set: raw(m)})
		op.Priority = priorityMode
		return op, err
	}
}

func spListOp(c *planCtx) func(string, Change) (Op, error) {
	return func(f string, ch Change) (Op, error) { return spOp(c, f, ch) }
}

func planSPMode(c *planCtx, r *tenant.Result) ([]Op, error) {
	if c.s.SharePoint == nil {
		return nil, fmt.Errorf("sharepoint settings not collected")
	}
	return modeOps(r, c.s.SharePoint.DomainRestrictionMode, spModeOp(c), spListOp(c), "allowedDomains", "blockedDomains")
}

// literalDomains keeps the list entries that are plain domains.
func literalDomains(l []string) []string {
	var out []string
	for _, d := range l {
		if !strings.ContainsAny(d, "*?[") {
			out = append(out, strings.ToLower(d))
		}
	}
	return out
}

// domainOf is the one domain a per-domain result is about, from its
// expectation.
func domainOf(r *tenant.Result) (string, error) {
	x, err := expectation(r)
	if err != nil {
		return "", err
	}
	d := strings.ToLower(x.Domain)
	if d == "" {
		return "", fmt.Errorf("rule %s: the expectation of %s names no domain", r.RuleID, r.ObjectKey)
	}
	if strings.ContainsAny(d, "*?[") {
		return "", fmt.Errorf("rule %s: domain pattern %q cannot be put on a list", r.RuleID, d)
	}
	return d, nil
}

// blockOps are the operations that make the result's domain blocked by a
// domain list in mode cur. The list keeps its mode when that is at least
// as narrow as the expectation's floor (an allow list loses the entries
// letting the domain in, it is never replaced by a block list); a mode
// below the floor, or none, is raised to the floor (a block list when the
// baseline names none).
func blockOps(r *tenant.Result, cur tenant.DomainMode, modeOp func(tenant.DomainMode) (Op, error), listOp func(field string, ch Change) (Op, error), allowField, blockField string) ([]Op, error) {
	d, err := domainOf(r)
	if err != nil {
		return nil, err
	}
	x := r.Expect
	have, known := cur.Rank()
	if !known {
		return nil, fmt.Errorf("domain restriction mode %q not recognised", cur)
	}
	target := cur
	if floor := tenant.DomainMode(x.AtLeast); floor != "" {
		want, ok := floor.Rank()
		if !ok {
			return nil, fmt.Errorf("rule %s: floor %q is not a domain restriction mode", r.RuleID, floor)
		}
		if want > have {
			target = floor
		}
	}
	if target == tenant.DomainModeNone {
		// Nothing can be blocked without a restriction: use a block list.
		target = tenant.DomainModeBlockList
	}
	var ops []Op
	if target != cur {
		m, err := modeOp(target)
		if err != nil {
			return nil, err
		}
		ops = append(ops, m)
	}
	switch target {
	case tenant.DomainModeBlockList:
		op, err := listOp(blockField, Change{Add: []string{d}})
		ops = append(ops, op)
		if err != nil {
			return nil, err
		}
	case tenant.DomainModeAllowList:
		// The entries that let d in: d itself, or a pattern covering it.
		out := x.LetIn
		if len(out) == 0 {
			out = []string{d}
		}
		op, err := listOp(allowField, Change{Remove: out})
		ops = append(ops, op)
		if err != nil {
			return nil, err
		}
	}
	for i := range ops {
		ops[i].Scope.Domains = []string{d}
	}
	return ops, nil
}

func planSPBlocked(c *planCtx, r *tenant.Result) ([]Op, error) {
	if c.s.SharePoint == nil {
		return nil, fmt.Errorf("sharepoint settings not collected")
	}
	return blockOps(r, c.s.SharePoint.DomainRestrictionMode, spModeOp(c), spListOp(c), "allowedDomains", "blockedDomains")
}

func planSPAllowed(c *planCtx, r *tenant.Result) ([]Op, error) {
	d, err := domainOf(r)
	if err != nil {
		return nil, err
	}
	op, err := spOp(c, "allowedDomains", Change{Remove: []string{d}})
	op.Scope.Domains = []string{d}
	return []Op{op}, err
}

// daysCeiling is the ceiling in days of r's expectation.
func daysCeiling(r *tenant.Result) (int, error) {
	v, err := ceilingOn(r, tenant.ScaleDays)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("rule %s: ceiling %q is not a number of days", r.RuleID, v)
	}
	return n, nil
}

func planSPAnyoneExpiry(c *planCtx, r *tenant.Result) ([]Op, error) {
	max, err := daysCeiling(r)
	if err != nil {
		return nil, err
	}
	op, err := spOp(c, "anyoneLinkExpirationDays", Change{Set: raw(max)})
	return []Op{op}, err
}

func planSPAnyonePerm(c *planCtx, r *tenant.Result) ([]Op, error) {
	capv, err := ceilingOn(r, tenant.ScaleLinkType)
	if err != nil {
		return nil, err
	}
	var ops []Op
	for _, f := range r.Expect.Fields {
		op, err := spOp(c, f, Change{AtMost: &Cap{Scale: scaleLinkType, Value: capv}})
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("rule %s: the expectation names no setting above %s", r.RuleID, capv)
	}
	return ops, nil
}

// switchOff checks that r expects a switch to be off.
func switchOff(r *tenant.Result) error {
	_, err := ceilingOn(r, tenant.ScaleSwitch)
	if err == nil && r.Expect.AtMost != "false" {
		err = fmt.Errorf("rule %s: expectation %q is not \"off\"", r.RuleID, r.Expect.AtMost)
	}
	return err
}

func planSPResharing(c *planCtx, r *tenant.Result) ([]Op, error) {
	if err := switchOff(r); err != nil {
		return nil, err
	}
	op, err := spOp(c, "resharingByGuests", Change{Set: raw(false)})
	return []Op{op}, err
}

// requiredDays fixes a "required, within N days" pair of settings.
func requiredDays(c *planCtx, flag, days string, cur *int, max int) ([]Op, error) {
	op, err := spOp(c, flag, Change{Set: raw(true)})
	if err != nil {
		return nil, err
	}
	ops := []Op{op}
	if cur == nil || *cur > max || *cur < 1 {
		op, err := spOp(c, days, Change{Set: raw(max)})
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func planSPGuestExpiry(c *planCtx, r *tenant.Result) ([]Op, error) {
	max, err := daysCeiling(r)
	if err != nil {
		return nil, err
	}
	return requiredDays(c, "guestExpirationRequired", "guestExpirationDays", c.s.SharePoint.GuestExpirationDays, max)
}

func planSPReauth(c *planCtx, r *tenant.Result) ([]Op, error) {
	max, err := daysCeiling(r)
	if err != nil {
		return nil, err
	}
	return requiredDays(c, "emailAttestationRequired", "emailAttestationReAuthDays", c.s.SharePoint.EmailAttestationDays, max)
}

func siteByKey(s *tenant.Snapshot, key string) *tenant.Site {
	for i := range s.Sites {
		if s.Sites[i].Key() == key {
			return &s.Sites[i]
		}
	}
	return nil
}

func siteScope(st *tenant.Site) Scope {
	sc := Scope{Sites: []string{st.URL}}
	for _, l := range []string{st.SensitivityLabel, st.SensitivityLabelID} {
		if l != "" {
			sc.Labels = append(sc.Labels, l)
		}
	}
	return sc
}

func planSite(c *planCtx, r *tenant.Result) ([]Op, error) {
	st := siteByKey(c.s, r.ObjectKey)
	if st == nil {
		return nil, fmt.Errorf("site %s is not in the snapshot", r.ObjectKey)
	}
	capv, err := ceilingOn(r, tenant.ScaleSharing)
	if err != nil {
		return nil, err
	}
	return []Op{{Action: ActionSetSiteSharing, ObjectKey: st.Key(), Ref: Ref{SiteURL: st.URL}, Field: "sharingCapability",
		Before: raw(st.SharingCapability), Change: Change{AtMost: &Cap{Scale: scaleSharing, Value: capv}},
		API: "CSOM GetSitePropertiesByUrl SetProperty SharingCapability + Update", Reversible: true, Scope: siteScope(st), Priority: priorityNormal}}, nil
}

// linkOf finds a result's link in the snapshot with the scope exclusions
// match against (its site and the site's label).
func linkOf(c *planCtx, r *tenant.Result) (*tenant.Link, Scope, error) {
	l, err := c.link(r.ObjectKey)
	if err != nil {
		return nil, Scope{}, fmt.Errorf("link %s: %w", r.ObjectKey, err)
	}
	if l == nil {
		return nil, Scope{}, fmt.Errorf("link %s is not in the snapshot", r.ObjectKey)
	}
	sc := Scope{}
	if l.SiteURL != "" {
		sc.Sites = []string{l.SiteURL}
	}
	for i := range c.s.Sites {
		if st := &c.s.Sites[i]; (l.SiteID != "" && st.ID == l.SiteID) || (l.SiteURL != "" && strings.EqualFold(st.URL, l.SiteURL)) {
			sc = siteScope(st)
		}
	}
	return l, sc, nil
}

// deleteLinkOp removes a link. Deleting cannot be undone, so it is
// destructive: it runs under auto mode only for rules listed in
// allow_destructive, otherwise after a person's approval.
func deleteLinkOp(l *tenant.Link, sc Scope) Op {
	return Op{Action: ActionDeleteLink, ObjectKey: l.Key(), Ref: Ref{DriveID: l.DriveID, ItemID: l.ItemID, PermissionID: l.PermissionID},
		Field: fieldExists, Before: raw(true), Change: Change{Set: raw(false)}, Destructive: true,
		API: "DELETE /v1.0/drives/{drive-id}/items/{item-id}/permissions/{perm-id}", Scope: sc, Priority: priorityNormal}
}

// planLink removes an Anyone link whose scope or role is the problem:
// Graph changes only the roles of an existing link, never its scope.
func planLink(c *planCtx, r *tenant.Result) ([]Op, error) {
	l, sc, err := linkOf(c, r)
	if err != nil {
		return nil, err
	}
	return []Op{deleteLinkOp(l, sc)}, nil
}

// planLinkExpiry gives an Anyone link an expiry within the baseline's
// limit, counted from the scan, through SharePoint's sharing API; an
// earlier expiry is kept. A link that API cannot address is deleted
// instead, and only after a person approved it.
func planLinkExpiry(c *planCtx, r *tenant.Result) ([]Op, error) {
	a := c.b.SharePoint.AnyoneLinks
	if a == nil || a.MaxExpiryDays == nil || *a.MaxExpiryDays < 1 {
		return nil, fmt.Errorf("rule %s: baseline sets no expiry", r.RuleID)
	}
	l, sc, err := linkOf(c, r)
	if err != nil {
		return nil, err
	}
	api, why := m365.LinkExpiryAPI(l)
	if why != "" {
		op := deleteLinkOp(l, sc)
		op.NeedsApproval = true
		c.note = "No API can set this link's expiry (" + why + "): the fix deletes the link, and only once a person approved it."
		return []Op{op}, nil
	}
	before := raw(nil)
	if l.Expires != nil {
		before = raw(l.Expires.UTC())
	}
	return []Op{{Action: ActionSetLinkExpiry, ObjectKey: l.Key(), Ref: Ref{DriveID: l.DriveID, ItemID: l.ItemID, PermissionID: l.PermissionID},
		Field: fieldExpires, Before: before, Change: Change{WithinDays: a.MaxExpiryDays}, API: api, Reversible: true, Scope: sc, Priority: priorityNormal}}, nil
}

func planGuest(c *planCtx, r *tenant.Result) ([]Op, error) {
	var g *tenant.Guest
	for i := range c.s.Guests {
		if c.s.Guests[i].Key() == r.ObjectKey {
			g = &c.s.Guests[i]
			break
		}
	}
	if g == nil {
		return nil, fmt.Errorf("guest %s is not in the snapshot", r.ObjectKey)
	}
	sc := Scope{Users: compact(g.ID, g.Mail, g.UPN), Domains: compact(g.Domain)}
	enabled := raw(nil)
	if g.AccountEnabled != nil {
		enabled = raw(*g.AccountEnabled)
	}
	ref := Ref{UserID: g.ID}
	return []Op{
		{Action: ActionBlockGuest, ObjectKey: g.Key(), Ref: ref, Field: "accountEnabled", Before: enabled, Change: Change{Set: raw(false)},
			API: "PATCH /v1.0/users/{id} accountEnabled=false", Reversible: true, Scope: sc, Priority: priorityNormal},
		{Action: ActionDeleteGuest, ObjectKey: g.Key(), Ref: ref, Field: fieldExists, Before: raw(true), Change: Change{Set: raw(false)},
			API: "DELETE /v1.0/users/{id}", Destructive: true, Deferred: true, Require: []Cond{{Field: "accountEnabled", Value: raw(false)}},
			Scope: sc, Priority: priorityNormal},
	}, nil
}

func compact(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func authOp(c *planCtx, field string, before string, ch Change) Op {
	return Op{Action: ActionSetAuthorization, ObjectKey: tenant.KeyEntraAuthorization, Field: field, Before: raw(before), Change: ch,
		API: "PATCH /v1.0/policies/authorizationPolicy " + field, Reversible: true, Priority: priorityNormal}
}

func planInviteFrom(c *planCtx, r *tenant.Result) ([]Op, error) {
	capv, err := ceilingOn(r, tenant.ScaleInviteFrom)
	if err != nil {
		return nil, err
	}
	if c.s.Entra == nil {
		return nil, fmt.Errorf("entra settings not collected")
	}
	return []Op{authOp(c, "allowInvitesFrom", string(c.s.Entra.AllowInvitesFrom), Change{AtMost: &Cap{Scale: scaleInviteFrom, Value: capv}})}, nil
}

func planGuestAccess(c *planCtx, r *tenant.Result) ([]Op, error) {
	role, err := ceilingOn(r, tenant.ScaleGuestRole)
	if err != nil {
		return nil, err
	}
	if c.s.Entra == nil {
		return nil, fmt.Errorf("entra settings not collected")
	}
	return []Op{authOp(c, "guestUserRoleId", c.s.Entra.GuestUserRoleID, Change{AtMost: &Cap{Scale: scaleGuestRole, Value: role}})}, nil
}

func invOp(c *planCtx, field string, ch Change) (Op, error) {
	inv := c.s.Entra.Invitations
	if inv == nil {
		return Op{}, fmt.Errorf("invitation domain list not collected")
	}
	var before json.RawMessage
	switch field {
	case invitationsModeField:
		before = raw(inv.Mode)
	case "allowed":
		before = raw(nonNil(inv.Allowed))
	case "blocked":
		before = raw(nonNil(inv.Blocked))
	}
	op := Op{Action: ActionSetInvitations, ObjectKey: tenant.KeyEntraInvitations, Field: field, Before: before, Change: ch,
		API: "PATCH /beta/policies/b2bManagementPolicies/{id} definition", Reversible: true, Priority: priorityNormal}
	if field == invitationsModeField {
		op.Priority = priorityMode
	}
	return op, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func invModeOp(c *planCtx) func(tenant.DomainMode) (Op, error) {
	return func(m tenant.DomainMode) (Op, error) { return invOp(c, invitationsModeField, Change{Set: raw(m)}) }
}

func invListOp(c *planCtx) func(string, Change) (Op, error) {
	return func(f string, ch Change) (Op, error) { return invOp(c, f, ch) }
}

func planInviteMode(c *planCtx, r *tenant.Result) ([]Op, error) {
	if c.s.Entra == nil || c.s.Entra.Invitations == nil {
		return nil, fmt.Errorf("invitation domain list not collected")
	}
	return modeOps(r, c.s.Entra.Invitations.Mode, invModeOp(c), invListOp(c), "allowed", "blocked")
}

func planInviteBlocked(c *planCtx, r *tenant.Result) ([]Op, error) {
	if c.s.Entra == nil || c.s.Entra.Invitations == nil {
		return nil, fmt.Errorf("invitation domain list not collected")
	}
	return blockOps(r, c.s.Entra.Invitations.Mode, invModeOp(c), invListOp(c), "allowed", "blocked")
}

func planInviteAllowed(c *planCtx, r *tenant.Result) ([]Op, error) {
	d, err := domainOf(r)
	if err != nil {
		return nil, err
	}
	if c.s.Entra == nil {
		return nil, fmt.Errorf("entra settings not collected")
	}
	op, err := invOp(c, "allowed", Change{Remove: []string{d}})
	op.Scope.Domains = []string{d}
	return []Op{op}, err
}

func boolRaw(p *bool) json.RawMessage {
	if p == nil {
		return raw(nil)
	}
	return raw(*p)
}

func planGroupsSettings(c *planCtx, r *tenant.Result) ([]Op, error) {
	gs := c.s.Groups
	if gs == nil {
		return nil, fmt.Errorf("groups settings not collected")
	}
	if err := switchOff(r); err != nil {
		return nil, err
	}
	cur := map[string]*bool{"allowToAddGuests": gs.AllowToAddGuests, "allowGuestsToAccessGroups": gs.AllowGuestsToAccessGroups,
		"allowGuestsToBeGroupOwner": gs.AllowGuestsToBeGroupOwner}
	// Only the settings the rule found on against the baseline.
	var ops []Op
	for _, name := range r.Expect.Fields {
		p, known := cur[name]
		if !known {
			return nil, fmt.Errorf("rule %s: setting %q not known", r.RuleID, name)
		}
		ops = append(ops, Op{Action: ActionSetGroupsSetting, ObjectKey: gs.Key(), Field: name, Before: boolRaw(p), Change: Change{Set: raw(false)},
			API: "PATCH /v1.0/groupSettings/{id} values " + settingName(name), Reversible: true, Priority: priorityNormal})
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("rule %s: the expectation names no setting to turn off", r.RuleID)
	}
	return ops, nil
}

// settingName is the directory setting name of a snapshot field.
func settingName(field string) string {
	if field == "" {
		return ""
	}
	return strings.ToUpper(field[:1]) + field[1:]
}

func planGroupGuests(c *planCtx, r *tenant.Result) ([]Op, error) {
	if err := switchOff(r); err != nil {
		return nil, err
	}
	if c.s.Groups == nil {
		return nil, fmt.Errorf("groups settings not collected")
	}
	for i := range c.s.Groups.Groups {
		g := &c.s.Groups.Groups[i]
		if g.Key() != r.ObjectKey {
			continue
		}
		var sc Scope
		for _, l := range g.Labels {
			sc.Labels = append(sc.Labels, compact(l.DisplayName, l.ID)...)
		}
		return []Op{{Action: ActionSetGroupGuests, ObjectKey: g.Key(), Ref: Ref{GroupID: g.ID}, Field: "allowToAddGuests",
			Before: boolRaw(g.AllowToAddGuests), Change: Change{Set: raw(false)},
			API: "PATCH /v1.0/groups/{id}/settings/{id} (or POST) Group.Unified.Guest AllowToAddGuests", Reversible: true, Scope: sc, Priority: priorityNormal}}, nil
	}
	return nil, fmt.Errorf("group %s is not in the snapshot", r.ObjectKey)
}

// PolicyDomains renders a sharing policy's Domains as Exchange writes them.
func PolicyDomains(p *tenant.SharingPolicy) []string {
	out := make([]string, 0, len(p.Domains))
	for _, d := range p.Domains {
		out = append(out, d.Domain+":"+strings.Join(d.Actions, ","))
	}
	return out
}

func allDomainsCap(_ *planCtx, r *tenant.Result) (*EntryEdit, error) {
	a, err := ceilingOn(r, tenant.ScaleCalendar)
	if err != nil {
		return nil, err
	}
	return &EntryEdit{Domain: "*", CalendarCap: a}, nil
}

func domainCap(_ *planCtx, r *tenant.Result) (*EntryEdit, error) {
	a, err := ceilingOn(r, tenant.ScaleCalendar)
	if err != nil {
		return nil, err
	}
	if r.Expect.Domain == "" {
		return nil, fmt.Errorf("rule %s: the expectation of %s names no domain", r.RuleID, r.ObjectKey)
	}
	return &EntryEdit{Domain: r.Expect.Domain, CalendarCap: a}, nil
}

func planPolicyEntry(edit func(*planCtx, *tenant.Result) (*EntryEdit, error)) planner {
	return func(c *planCtx, r *tenant.Result) ([]Op, error) {
		if c.s.Exchange == nil {
			return nil, fmt.Errorf("exchange settings not collected")
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(r.ObjectKey, "sharingpolicy:"), "/domain:")
		for i := range c.s.Exchange.SharingPolicies {
			p := &c.s.Exchange.SharingPolicies[i]
			if p.Name != name {
				continue
			}
			e, err := edit(c, r)
			if err != nil {
				return nil, err
			}
			var sc Scope
			if e.Domain != "*" && e.Domain != "Anonymous" {
				sc.Domains = []string{e.Domain}
			}
			return []Op{{Action: ActionSetSharingPolicy, ObjectKey: p.Key(), Ref: Ref{Name: p.Name}, Field: "domains",
				Before: raw(PolicyDomains(p)), Change: Change{Entry: e}, API: "Exchange Set-SharingPolicy -Domains",
				Reversible: true, Scope: sc, Priority: priorityNormal}}, nil
		}
		return nil, fmt.Errorf("sharing policy %q is not in the snapshot", name)
	}
}

func orgRel(c *planCtx, key string) (*tenant.OrgRelationship, error) {
	if c.s.Exchange == nil {
		return nil, fmt.Errorf("exchange settings not collected")
	}
	for i := range c.s.Exchange.OrganizationRelationships {
		if o := &c.s.Exchange.OrganizationRelationships[i]; o.Key() == key {
			return o, nil
		}
	}
	return nil, fmt.Errorf("organization relationship %s is not in the snapshot", key)
}

func planOrgFreeBusy(c *planCtx, r *tenant.Result) ([]Op, error) {
	o, err := orgRel(c, r.ObjectKey)
	if err != nil {
		return nil, err
	}
	level, err := ceilingOn(r, tenant.ScaleFreeBusy)
	if err != nil {
		return nil, err
	}
	op := Op{Action: ActionSetOrgRelationship, ObjectKey: o.Key(), Ref: Ref{Name: o.Name}, Reversible: true, Scope: Scope{Domains: o.DomainNames}, Priority: priorityNormal}
	if level == tenant.FreeBusyNone {
		op.Field, op.Before, op.Change = "freeBusyAccessEnabled", boolRaw(o.FreeBusyAccessEnabled), Change{Set: raw(false)}
		op.API = "Exchange Set-OrganizationRelationship -FreeBusyAccessEnabled $false"
	} else {
		op.Field, op.Before, op.Change = "freeBusyAccessLevel", raw(o.FreeBusyAccessLevel), Change{AtMost: &Cap{Scale: scaleFreeBusy, Value: level}}
		op.API = "Exchange Set-OrganizationRelationship -FreeBusyAccessLevel"
	}
	return []Op{op}, nil
}

func planOrgAllowed(c *planCtx, r *tenant.Result) ([]Op, error) {
	o, err := orgRel(c, r.ObjectKey)
	if err != nil {
		return nil, err
	}
	sc := Scope{Domains: o.DomainNames}
	ref := Ref{Name: o.Name}
	return []Op{
		{Action: ActionSetOrgRelationship, ObjectKey: o.Key(), Ref: ref, Field: "enabled", Before: boolRaw(o.Enabled), Change: Change{Set: raw(false)},
			API: "Exchange Set-OrganizationRelationship -Enabled $false", Reversible: true, Scope: sc, Priority: priorityNormal},
		{Action: ActionRemoveOrgRelationship, ObjectKey: o.Key(), Ref: ref, Field: fieldExists, Before: raw(true), Change: Change{Set: raw(false)},
			API: "Exchange Remove-OrganizationRelationship", Destructive: true, Deferred: true,
			Require: []Cond{{Field: "enabled", Value: raw(false)}}, Scope: sc, Priority: priorityNormal},
	}, nil
}
