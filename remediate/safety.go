package remediate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

// A fix never loosens (design invariant 10): before a plan is recorded as
// runnable its operations are applied to a copy of the snapshot and the
// baseline's rules are evaluated on it. A result that gets worse (a pass
// or not-applicable that fails or turns unknown, or a value found wider on
// its scale) blocks the plan, as does an operation that widens the field
// it writes.
//
// Only the rules reading a section the plan changes are evaluated. Rules
// judge each site, link and guest on its own (a link together with its
// site), so a plan that changes only sites, links or guests is checked on
// a snapshot holding just the objects it touches, the sites of its links
// and the links of its sites: a million-link tenant costs a plan to delete
// one link, or to lower one site, nothing like a pass over its links.

// safety checks plans against one snapshot and baseline.
type safety struct {
	s *tenant.Snapshot
	b *baselines.Baseline
	// before caches the results on s of the rules reading a set of
	// sections, by that set.
	before map[string]map[string]*tenant.Result
	// links holds the links plans touch, and siteLinks the links on the
	// sites plans touch (by site key), read in one pass over the
	// snapshot's links (see prepare); nil until then.
	links     map[string]tenant.Link
	siteLinks map[string][]tenant.Link
	// sites and guests index the snapshot's sites (by key, ID and lower-
	// case URL) and the guests plans touch (by key).
	sites  map[string]int
	guests map[string]int
}

// prepare reads the links the plans touch in one pass, so that checking
// a plan per link costs no pass over a large tenant's links each.
func (sf *safety) prepare(plans []Plan) {
	want := map[string]bool{}
	wantSites := map[string]bool{}
	for i := range plans {
		for j := range plans[i].Ops {
			switch sectionOf[plans[i].Ops[j].Action] {
			case tenant.SectionLinks:
				want[plans[i].Ops[j].ObjectKey] = true
			case tenant.SectionSites:
				wantSites[plans[i].Ops[j].ObjectKey] = true
			}
		}
	}
	sf.links, sf.siteLinks = make(map[string]tenant.Link, len(want)), map[string][]tenant.Link{}
	sf.sites, sf.guests = make(map[string]int, 3*len(sf.s.Sites)), map[string]int{}
	for i := range sf.s.Sites {
		st := &sf.s.Sites[i]
		for _, k := range []string{st.Key(), "id:" + st.ID, "url:" + strings.ToLower(st.URL)} {
			if _, dup := sf.sites[k]; !dup {
				sf.sites[k] = i
			}
		}
	}
	for i := range plans {
		for j := range plans[i].Ops {
			if sectionOf[plans[i].Ops[j].Action] == tenant.SectionGuests {
				sf.guests[plans[i].Ops[j].ObjectKey] = -1
			}
		}
	}
	for i := range sf.s.Guests {
		if k := sf.s.Guests[i].Key(); sf.guests[k] == -1 {
			sf.guests[k] = i
		}
	}
	byID, byURL := map[string]string{}, map[string]string{}
	for i := range sf.s.Sites {
		if st := &sf.s.Sites[i]; wantSites[st.Key()] {
			byID[st.ID], byURL[strings.ToLower(st.URL)] = st.Key(), st.Key()
		}
	}
	if len(want) == 0 && len(wantSites) == 0 {
		return
	}
	_ = sf.s.EachLink(func(l *tenant.Link) error {
		if k := l.Key(); want[k] {
			sf.links[k] = *l
		}
		sk, ok := byID[l.SiteID]
		if !ok || l.SiteID == "" {
			sk, ok = byURL[strings.ToLower(l.SiteURL)]
			ok = ok && l.SiteURL != ""
		}
		if ok {
			sf.siteLinks[sk] = append(sf.siteLinks[sk], *l)
		}
		return nil
	})
}

// sectionOf is the section an action changes.
var sectionOf = map[string]tenant.Section{
	ActionSetSharePoint:         tenant.SectionSharePoint,
	ActionSetSiteSharing:        tenant.SectionSites,
	ActionDeleteLink:            tenant.SectionLinks,
	ActionSetLinkExpiry:         tenant.SectionLinks,
	ActionSetAuthorization:      tenant.SectionEntra,
	ActionSetInvitations:        tenant.SectionEntra,
	ActionSetGroupsSetting:      tenant.SectionGroups,
	ActionSetGroupGuests:        tenant.SectionGroups,
	ActionBlockGuest:            tenant.SectionGuests,
	ActionDeleteGuest:           tenant.SectionGuests,
	ActionSetSharingPolicy:      tenant.SectionExchange,
	ActionSetOrgRelationship:    tenant.SectionExchange,
	ActionRemoveOrgRelationship: tenant.SectionExchange,
}

// objectSections hold objects rules judge one by one.
var objectSections = []tenant.Section{tenant.SectionSites, tenant.SectionLinks, tenant.SectionGuests}

// changes lists the sections p's operations change; ok is false when an
// operation has no snapshot equivalent.
func changes(p *Plan) (secs []tenant.Section, ok bool) {
	for i := range p.Ops {
		sec, ok := sectionOf[p.Ops[i].Action]
		if !ok {
			return nil, false
		}
		if !slices.Contains(secs, sec) {
			secs = append(secs, sec)
		}
	}
	return secs, true
}

// unchecked says why p cannot be checked on this snapshot, or "": a rule
// the plan could make worse reads a section that was not collected
// completely, so its verdict before and after would both be unknown and
// prove nothing. Such a plan is not built at all, like one whose own
// section is incomplete.
func (sf *safety) unchecked(p *Plan) string {
	secs, ok := changes(p)
	if !ok {
		return ""
	}
	for _, r := range readers(secs) {
		m := r.Meta()
		for _, sec := range m.ReadSections() {
			if !sf.s.Complete(sec) {
				return fmt.Sprintf("section %s is not complete, and the fix cannot be checked against rule %s, which reads it", sec, m.ID)
			}
		}
	}
	return ""
}

// blocked returns why p must not run, or "".
func (sf *safety) blocked(p *Plan) string {
	ops := slices.Clone(p.Ops)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Priority < ops[j].Priority })
	secs, ok := changes(p)
	if !ok {
		return "an operation of the plan cannot be checked against the baseline"
	}
	if why := widens(ops); why != "" {
		return why
	}
	before := sf.s
	var beforeRes map[string]*tenant.Result
	if onlyObjects(secs) {
		before = sf.touchedObjects(ops)
	}
	after, err := applyOps(before, ops)
	if err != nil {
		return "the plan cannot be checked against the baseline: " + err.Error()
	}
	rs := readers(secs)
	if before == sf.s {
		beforeRes = sf.cached(secs, rs)
	} else {
		beforeRes = evaluate(rs, before, sf.b)
	}
	return worse(beforeRes, evaluate(rs, after, sf.b))
}

func (sf *safety) cached(secs []tenant.Section, rs []rules.Rule) map[string]*tenant.Result {
	names := make([]string, len(secs))
	for i, s := range secs {
		names[i] = string(s)
	}
	sort.Strings(names)
	k := strings.Join(names, ",")
	if res, ok := sf.before[k]; ok {
		return res
	}
	if sf.before == nil {
		sf.before = map[string]map[string]*tenant.Result{}
	}
	res := evaluate(rs, sf.s, sf.b)
	sf.before[k] = res
	return res
}

func onlyObjects(secs []tenant.Section) bool {
	for _, s := range secs {
		if !slices.Contains(objectSections, s) {
			return false
		}
	}
	return true
}

// readers are the built-in rules reading any of secs.
func readers(secs []tenant.Section) []rules.Rule {
	var out []rules.Rule
	for _, r := range rules.Builtin() {
		m := r.Meta()
		for _, s := range m.ReadSections() {
			if slices.Contains(secs, s) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func resultKey(r *tenant.Result) string { return r.RuleID + "\x00" + r.ObjectKey }

func evaluate(rs []rules.Rule, s *tenant.Snapshot, b *baselines.Baseline) map[string]*tenant.Result {
	out := map[string]*tenant.Result{}
	_ = rules.StreamRules(rs, s, b, func(r *tenant.Result) error {
		c := *r
		out[resultKey(&c)] = &c
		return nil
	})
	return out
}

func bad(o tenant.Outcome) bool { return o == tenant.Fail || o == tenant.Unknown }

// worse names the first result (in rule and object order) that after has
// worse than before, or "".
func worse(before, after map[string]*tenant.Result) string {
	first, why := "", ""
	for k, a := range after {
		if first != "" && k > first {
			continue // only the first in order is reported
		}
		b, seen := before[k]
		switch {
		case bad(a.Outcome) && (!seen || !bad(b.Outcome)):
			msg := a.Message
			if msg == "" {
				msg = a.Actual
			}
			first, why = k, fmt.Sprintf("would make rule %s %s for %s: %s", a.RuleID, verb(a.Outcome), resultObject(a), msg)
		case !seen || a.Expect == nil || b.Expect == nil:
		case a.Expect.Scale != "" && a.Expect.Scale == b.Expect.Scale && b.Expect.Found != "" && a.Expect.Scale.Wider(b.Expect.Found, a.Expect.Found):
			first, why = k, fmt.Sprintf("would widen %s for rule %s from %s to %s on the %s scale", resultObject(a), a.RuleID, b.Expect.Found, orNone(a.Expect.Found), a.Expect.Scale)
		}
	}
	return why
}

func verb(o tenant.Outcome) string {
	if o == tenant.Unknown {
		return "unknown"
	}
	return "fail"
}

func resultObject(r *tenant.Result) string {
	if r.ObjectName != "" {
		return r.ObjectName
	}
	return r.ObjectKey
}

func orNone(v string) string {
	if v == "" {
		return "(nothing)"
	}
	return v
}

// fieldScales places the fields operations write on their scales.
var fieldScales = map[string]tenant.Scale{
	"sharingCapability":          tenant.ScaleSharing,
	"oneDriveSharingCapability":  tenant.ScaleSharing,
	sharePointModeField:          tenant.ScaleDomainMode,
	invitationsModeField:         tenant.ScaleDomainMode,
	"defaultLinkScope":           tenant.ScaleLinkScope,
	"defaultLinkPermission":      tenant.ScaleLinkType,
	"fileAnyoneLinkType":         tenant.ScaleLinkType,
	"folderAnyoneLinkType":       tenant.ScaleLinkType,
	"allowInvitesFrom":           tenant.ScaleInviteFrom,
	"guestUserRoleId":            tenant.ScaleGuestRole,
	"freeBusyAccessLevel":        tenant.ScaleFreeBusy,
	"anyoneLinkExpirationDays":   tenant.ScaleDays,
	"guestExpirationDays":        tenant.ScaleDays,
	"emailAttestationReAuthDays": tenant.ScaleDays,
	"resharingByGuests":          tenant.ScaleSwitch,
	"allowToAddGuests":           tenant.ScaleSwitch,
	"allowGuestsToAccessGroups":  tenant.ScaleSwitch,
	"allowGuestsToBeGroupOwner":  tenant.ScaleSwitch,
	"accountEnabled":             tenant.ScaleSwitch,
	"enabled":                    tenant.ScaleSwitch,
	"freeBusyAccessEnabled":      tenant.ScaleSwitch,
}

// allowLists and blockLists are the list fields whose growth, and
// shrinking, widen what may be shared.
var (
	allowLists = []string{"allowedDomains", "allowed"}
	blockLists = []string{"blockedDomains", "blocked"}
)

// widens names an operation that writes a wider value than it finds, or "".
func widens(ops []Op) string {
	for i := range ops {
		op := &ops[i]
		switch {
		case slices.Contains(allowLists, op.Field) && len(op.Change.Add) > 0:
			return fmt.Sprintf("%s %s would add %s to an allow list", op.Action, op.ObjectKey, strings.Join(op.Change.Add, ", "))
		case slices.Contains(blockLists, op.Field) && len(op.Change.Remove) > 0:
			return fmt.Sprintf("%s %s would take %s off a block list", op.Action, op.ObjectKey, strings.Join(op.Change.Remove, ", "))
		}
		sc, ok := fieldScales[op.Field]
		if !ok {
			continue
		}
		after, err := op.Change.Apply(op.Before)
		if err != nil {
			return fmt.Sprintf("%s %s: %v", op.Action, op.ObjectKey, err)
		}
		b, a := scalar(op.Before), scalar(after)
		if b != "" && sc.Wider(b, a) {
			return fmt.Sprintf("%s would widen %s of %s from %s to %s on the %s scale", op.Action, op.Field, op.ObjectKey, b, orNone(a), sc)
		}
	}
	return ""
}

// scalar is a JSON string, number or boolean as text; "" for anything else.
func scalar(v json.RawMessage) string {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return ""
	}
	switch t := x.(type) {
	case string:
		return t
	case float64, bool:
		return strings.TrimSpace(string(v))
	}
	return ""
}

// touchedObjects is the snapshot with only the sites, links and guests
// ops touch, the sites of those links and the links on those sites.
func (sf *safety) touchedObjects(ops []Op) *tenant.Snapshot {
	s := sf.s
	keys := map[string]bool{}
	for i := range ops {
		keys[ops[i].ObjectKey] = true
	}
	if sf.links == nil {
		sf.prepare([]Plan{{Ops: ops}})
	}
	var links []tenant.Link
	seen := map[string]bool{}
	add := func(l tenant.Link) {
		if k := l.Key(); !seen[k] {
			seen[k] = true
			links = append(links, l)
		}
	}
	for k := range keys {
		if l, ok := sf.links[k]; ok {
			add(l)
		}
		for _, l := range sf.siteLinks[k] {
			add(l)
		}
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Key() < links[j].Key() })
	c := s.WithLinks(links)
	var sites []int
	addSite := func(k string) {
		if i, ok := sf.sites[k]; ok && !slices.Contains(sites, i) {
			sites = append(sites, i)
		}
	}
	for k := range keys {
		addSite(k)
	}
	for i := range links {
		if links[i].SiteID != "" {
			addSite("id:" + links[i].SiteID)
		}
		if links[i].SiteURL != "" {
			addSite("url:" + strings.ToLower(links[i].SiteURL))
		}
	}
	slices.Sort(sites)
	c.Sites = nil
	for _, i := range sites {
		c.Sites = append(c.Sites, s.Sites[i])
	}
	var guests []int
	for k := range keys {
		if i, ok := sf.guests[k]; ok && i >= 0 {
			guests = append(guests, i)
		}
	}
	slices.Sort(guests)
	c.Guests = nil
	for _, i := range guests {
		c.Guests = append(c.Guests, s.Guests[i])
	}
	return c
}

// applyOps returns a copy of s with ops applied, in order. Sections the
// operations do not change are shared with s, and so are its links, which
// a deletion only hides.
func applyOps(s *tenant.Snapshot, ops []Op) (*tenant.Snapshot, error) {
	c := *s
	for i := range ops {
		if err := applyOp(&c, &ops[i]); err != nil {
			return nil, fmt.Errorf("%s %s %s: %w", ops[i].Action, ops[i].ObjectKey, ops[i].Field, err)
		}
	}
	return &c, nil
}

func applyOp(c *tenant.Snapshot, op *Op) error {
	switch op.Action {
	case ActionSetSharePoint:
		if c.SharePoint == nil {
			return errNotInSnapshot
		}
		sp := *c.SharePoint
		c.SharePoint = &sp
		return setField(&sp, op)
	case ActionSetSiteSharing:
		c.Sites = slices.Clone(c.Sites)
		for i := range c.Sites {
			if c.Sites[i].Key() == op.ObjectKey {
				return setField(&c.Sites[i], op)
			}
		}
		return errNotInSnapshot
	case ActionDeleteLink:
		*c = *c.WithoutLinks(op.ObjectKey)
		return nil
	case ActionSetLinkExpiry:
		// The expiry the change sets, counted from the scan's moment.
		ch := op.Change.at(c.CollectedAt)
		after, err := ch.Apply(op.Before)
		if err != nil {
			return err
		}
		exp, err := decodeMoment(after)
		if err != nil {
			return err
		}
		var links []tenant.Link
		found := false
		if err := c.EachLink(func(l *tenant.Link) error {
			x := *l // the spool reuses l
			if x.Key() == op.ObjectKey {
				x.Expires, found = exp, true
			}
			links = append(links, x)
			return nil
		}); err != nil {
			return err
		}
		if !found {
			return errNotInSnapshot
		}
		*c = *c.WithLinks(links)
		return nil
	case ActionSetAuthorization:
		if c.Entra == nil {
			return errNotInSnapshot
		}
		e := *c.Entra
		c.Entra = &e
		return setField(&e, op)
	case ActionSetInvitations:
		if c.Entra == nil || c.Entra.Invitations == nil {
			return errNotInSnapshot
		}
		e := *c.Entra
		inv := *e.Invitations
		e.Invitations = &inv
		c.Entra = &e
		return setField(&inv, op)
	case ActionSetGroupsSetting:
		if c.Groups == nil {
			return errNotInSnapshot
		}
		g := *c.Groups
		c.Groups = &g
		return setField(&g, op)
	case ActionSetGroupGuests:
		if c.Groups == nil {
			return errNotInSnapshot
		}
		g := *c.Groups
		c.Groups = &g
		g.Groups = slices.Clone(g.Groups)
		for i := range g.Groups {
			if g.Groups[i].Key() == op.ObjectKey {
				return setField(&g.Groups[i], op)
			}
		}
		return errNotInSnapshot
	case ActionBlockGuest, ActionDeleteGuest:
		c.Guests = slices.Clone(c.Guests)
		for i := range c.Guests {
			if c.Guests[i].Key() != op.ObjectKey {
				continue
			}
			if op.Field == fieldExists {
				c.Guests = slices.Delete(c.Guests, i, i+1)
				return nil
			}
			return setField(&c.Guests[i], op)
		}
		return errNotInSnapshot
	case ActionSetSharingPolicy, ActionSetOrgRelationship, ActionRemoveOrgRelationship:
		if c.Exchange == nil {
			return errNotInSnapshot
		}
		ex := *c.Exchange
		c.Exchange = &ex
		return applyExchange(&ex, op)
	}
	return fmt.Errorf("action %s has no snapshot equivalent", op.Action)
}

var errNotInSnapshot = fmt.Errorf("object not in the snapshot")

func applyExchange(ex *tenant.ExchangeSettings, op *Op) error {
	if op.Action == ActionSetSharingPolicy {
		ex.SharingPolicies = slices.Clone(ex.SharingPolicies)
		for i := range ex.SharingPolicies {
			p := &ex.SharingPolicies[i]
			if p.Key() != op.ObjectKey {
				continue
			}
			after, err := op.Change.Apply(raw(PolicyDomains(p)))
			if err != nil {
				return err
			}
			var entries []string
			if err := json.Unmarshal(after, &entries); err != nil {
				return err
			}
			p.Domains = make([]tenant.SharingDomain, 0, len(entries))
			for _, e := range entries {
				d, acts, _ := strings.Cut(e, ":")
				sd := tenant.SharingDomain{Domain: strings.TrimSpace(d)}
				for _, a := range strings.Split(acts, ",") {
					if a = strings.TrimSpace(a); a != "" {
						sd.Actions = append(sd.Actions, a)
					}
				}
				p.Domains = append(p.Domains, sd)
			}
			return nil
		}
		return errNotInSnapshot
	}
	ex.OrganizationRelationships = slices.Clone(ex.OrganizationRelationships)
	for i := range ex.OrganizationRelationships {
		if ex.OrganizationRelationships[i].Key() != op.ObjectKey {
			continue
		}
		if op.Field == fieldExists {
			ex.OrganizationRelationships = slices.Delete(ex.OrganizationRelationships, i, i+1)
			return nil
		}
		return setField(&ex.OrganizationRelationships[i], op)
	}
	return errNotInSnapshot
}

// setField sets *obj's JSON field op.Field to what op's change writes over
// its current value. The snapshot's JSON names are the fields operations
// name.
func setField[T any](obj *T, op *Op) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw(*obj), &m); err != nil {
		return err
	}
	cur, ok := m[op.Field]
	if !ok {
		cur = json.RawMessage("null")
	}
	after, err := op.Change.Apply(cur)
	if err != nil {
		return err
	}
	m[op.Field] = after
	dec := json.NewDecoder(bytes.NewReader(raw(m)))
	dec.DisallowUnknownFields()
	out := new(T)
	if err := dec.Decode(out); err != nil {
		return err
	}
	// The field must exist on the object: an operation on a field the
	// snapshot does not hold cannot be checked.
	var back map[string]json.RawMessage
	_ = json.Unmarshal(raw(out), &back)
	if v, ok := back[op.Field]; !ok && !bytes.Equal(bytes.TrimSpace(after), []byte("null")) {
		return fmt.Errorf("field %s not in the snapshot", op.Field)
	} else if ok && !equalValues(v, after) {
		return fmt.Errorf("field %s: %s does not fit the snapshot (reads back %s)", op.Field, after, v)
	}
	*obj = *out
	return nil
}

// CheckPlan returns why p, applied to s, would make a rule of b worse, or
// "" when it would not: the check Build runs on every plan it makes.
func CheckPlan(s *tenant.Snapshot, b *baselines.Baseline, p *Plan) string {
	return (&safety{s: s, b: b}).blocked(p)
}
