package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	docSharing     = "https://learn.microsoft.com/en-us/sharepoint/turn-external-sharing-on-or-off"
	docDomains     = "https://learn.microsoft.com/en-us/sharepoint/restricted-domains-sharing"
	docDefaultLink = "https://learn.microsoft.com/en-us/sharepoint/change-default-sharing-link"
	docAnyone      = "https://learn.microsoft.com/en-us/microsoft-365/solutions/best-practices-anonymous-sharing"
	docGuestExpiry = "https://learn.microsoft.com/en-us/sharepoint/turn-external-sharing-on-or-off#change-the-organization-level-external-sharing-setting"
	docSPOTenant   = "https://learn.microsoft.com/en-us/powershell/module/sharepoint-online/set-spotenant"
)

// spSettings runs the common preamble of a tenant-settings rule: section
// complete and settings present, else one unknown result.
func spSettings(r *builtin, e *env, emit func(tenant.Result), expected string) *tenant.SharePointSettings {
	key := (*tenant.SharePointSettings)(nil).Key()
	if why := e.incomplete(tenant.SectionSharePoint); why != "" {
		emit(r.result(tenant.Unknown, key, "SharePoint tenant settings", expected, "", why))
		return nil
	}
	if e.s.SharePoint == nil {
		emit(r.result(tenant.Unknown, key, "SharePoint tenant settings", expected, "", "SharePoint settings missing from the snapshot"))
		return nil
	}
	return e.s.SharePoint
}

func notApplicable(r *builtin, key, name, msg string) tenant.Result {
	return r.result(tenant.NotApplicable, key, name, "", "", msg)
}

const silent = "the baseline sets no expectation for this rule"

// spSilent is the result of a tenant-settings rule the baseline says
// nothing about.
func spSilent(r *builtin) tenant.Result {
	return notApplicable(r, "sharepoint:tenant", "SharePoint tenant settings", silent)
}

// spSharingSettings is spSettings for a setting that only matters while
// external sharing is on: it also answers unknown when the tenant sharing
// level is missing, and not applicable when sharing is off or, with
// anyoneOnly, when Anyone links are not enabled.
func spSharingSettings(r *builtin, e *env, emit func(tenant.Result), name, expected string, anyoneOnly bool) *tenant.SharePointSettings {
	sp := spSettings(r, e, emit, expected)
	switch {
	case sp == nil:
		return nil
	case sp.SharingCapability == "":
		emit(r.result(tenant.Unknown, sp.Key(), name, expected, "", "tenant sharing level missing"))
		return nil
	case !tenant.SharingLevels.Known(sp.SharingCapability):
		// Whether the setting applies depends on a value we cannot place.
		emit(r.result(tenant.Unknown, sp.Key(), name, expected, string(sp.SharingCapability), "tenant sharing level not recognised"))
		return nil
	case anyoneOnly && sp.SharingCapability != tenant.SharingAnyone:
		emit(notApplicable(r, sp.Key(), name, "Anyone links are not enabled for the tenant"))
		return nil
	case sharingOff(sp):
		emit(notApplicable(r, sp.Key(), name, "external sharing is disabled"))
		return nil
	}
	return sp
}

// levelRule compares a sharing level with an "at most" ceiling.
func levelRule(r *builtin, emit func(tenant.Result), key, name string, max *baselines.SharingLevel, actual tenant.SharingLevel) {
	expected := atMost(*max)
	x := ceiling(tenant.ScaleSharing, max.Tenant(), actual)
	emit = expectingAll(emit, x)
	rank, ok := actual.Rank()
	if !ok {
		emit(r.result(tenant.Unknown, key, name, expected, string(actual), "sharing level missing or not recognised"))
		return
	}
	limit, _ := max.Rank()
	if rank > limit {
		emit(r.result(tenant.Fail, key, name, expected, levelName(actual), fmt.Sprintf("sharing level %s exceeds %s", levelName(actual), *max)))
		return
	}
	emit(r.result(tenant.Pass, key, name, expected, levelName(actual), ""))
}

func evalTenantSharing(r *builtin, e *env, emit func(tenant.Result)) {
	max := e.b.SharePoint.MaxSharingLevel
	if max == nil {
		emit(spSilent(r))
		return
	}
	if sp := spSettings(r, e, emit, atMost(*max)); sp != nil {
		levelRule(r, emit, sp.Key(), "SharePoint tenant sharing", max, sp.SharingCapability)
	}
}

func evalOneDriveSharing(r *builtin, e *env, emit func(tenant.Result)) {
	max := e.b.SharePoint.OneDriveMaxSharingLevel
	if max == nil {
		emit(spSilent(r))
		return
	}
	if sp := spSettings(r, e, emit, atMost(*max)); sp != nil {
		levelRule(r, emit, sp.Key(), "OneDrive sharing", max, sp.OneDriveSharingCapability)
	}
}

// sharingOff reports whether tenant external sharing is disabled, in which
// case SCuBA treats domain, expiry and reauthentication settings as not
// applicable.
func sharingOff(sp *tenant.SharePointSettings) bool {
	return sp.SharingCapability == tenant.SharingDisabled
}

func evalSPDomainMode(r *builtin, e *env, emit func(tenant.Result)) {
	dr := e.b.SharePoint.DomainRestriction
	if dr == nil || dr.Mode == nil {
		emit(spSilent(r))
		return
	}
	sp := spSharingSettings(r, e, emit, "SharePoint domain restriction", string(*dr.Mode), false)
	if sp == nil {
		return
	}
	modeRule(r, emit, sp.Key(), "SharePoint domain restriction", dr, sp.DomainRestrictionMode, sp.AllowedDomains)
}

// modeRule judges a domain restriction mode on its scale (none < block
// list < allow list): a narrower mode than the baseline's meets it, so an
// allow list meets a block-list requirement as long as it keeps every
// must-block domain out; otherwise the result names the entries that let
// one in.
func modeRule(r *builtin, emit func(tenant.Result), key, name string, dr *baselines.DomainRestriction, got tenant.DomainMode, allowed []string) {
	want := *dr.Mode
	x := tenant.Expectation{Scale: tenant.ScaleDomainMode, AtLeast: string(want.Tenant()), Found: string(got), KeepOut: dr.MustBlock}
	emit = expectingAll(emit, x)
	rank, ok := got.Rank()
	floor, _ := want.Rank()
	switch {
	case got == "":
		emit(r.result(tenant.Unknown, key, name, string(want), "", "domain restriction mode missing"))
	case !ok:
		emit(r.result(tenant.Fail, key, name, string(want), string(got), "domain restriction mode not recognised: "+string(got)))
	case rank < floor:
		emit(r.result(tenant.Fail, key, name, string(want), modeName(got), fmt.Sprintf("domain restriction mode is %s, the baseline requires %s", modeName(got), want)))
	case got == tenant.DomainModeAllowList && rank > floor:
		// Narrower than required: judged by what it still lets in.
		var letIn []string
		for _, a := range allowed {
			if matchesAny(dr.MustBlock, a) {
				letIn = append(letIn, a)
			}
		}
		if len(letIn) > 0 {
			x.LetIn = letIn
			emit(expecting(r.result(tenant.Fail, key, name, string(want), modeName(got)+" letting in "+strings.Join(letIn, ", "),
				fmt.Sprintf("the allow list is narrower than a %s but lets in %s, which must stay blocked", want, strings.Join(letIn, ", "))), x))
			return
		}
		emit(r.result(tenant.Pass, key, name, string(want), modeName(got), "the allow list keeps every must-block domain out"))
	default:
		emit(r.result(tenant.Pass, key, name, string(want), modeName(got), ""))
	}
}

// expectingAll wraps emit so that results without an expectation carry x.
// The results share one copy: expectations are never written after they
// are made.
func expectingAll(emit func(tenant.Result), x tenant.Expectation) func(tenant.Result) {
	px := &x
	return func(res tenant.Result) {
		if res.Expect == nil {
			res.Expect = px
		}
		emit(res)
	}
}

// expectations hands out one shared expectation per value found, for rules
// that judge many objects against one requirement (a million links hold a
// handful of link types and expiry day counts).
type expectations struct {
	base tenant.Expectation
	by   map[string]*tenant.Expectation
}

func (x *expectations) found(v string) *tenant.Expectation {
	if p, ok := x.by[v]; ok {
		return p
	}
	if x.by == nil {
		x.by = map[string]*tenant.Expectation{}
	}
	c := x.base
	c.Found = v
	x.by[v] = &c
	return &c
}

// expectingFound wraps emit so that results without an expectation carry
// x's with Found set to v.
func expectingFound(emit func(tenant.Result), x *expectations, v string) func(tenant.Result) {
	return func(res tenant.Result) {
		if res.Expect == nil {
			res.Expect = x.found(v)
		}
		emit(res)
	}
}

// blockedRule checks that every must-block domain is effectively blocked by
// a list in the given mode, one result per domain.
func blockedRule(r *builtin, emit func(tenant.Result), key string, dr *baselines.DomainRestriction, mode tenant.DomainMode, allowed, blocked []string) {
	var floor string
	if dr.Mode != nil {
		floor = string(dr.Mode.Tenant())
	}
	outer := emit
	for _, d := range dr.MustBlock {
		emit := expectingAll(outer, tenant.Expectation{Scale: tenant.ScaleDomainMode, AtLeast: floor, Found: string(mode), Domain: d, KeepOut: []string{d}})
		dkey := key + "/blockedDomain:" + strings.ToLower(d)
		var isBlocked bool
		var actual string
		switch mode {
		case tenant.DomainModeBlockList:
			isBlocked = matchesAny(blocked, d)
			actual = "not on the block list"
		case tenant.DomainModeAllowList:
			isBlocked = !matchesAny(allowed, d)
			actual = "on the allow list"
			if isBlocked {
				break
			}
			x := tenant.Expectation{Scale: tenant.ScaleDomainMode, AtLeast: floor, Found: string(mode), Domain: d, KeepOut: []string{d}}
			for _, a := range allowed {
				if baselines.Glob(a, d) || baselines.Glob(d, a) {
					x.LetIn = append(x.LetIn, a)
				}
			}
			emit = expectingAll(outer, x)
		case tenant.DomainModeNone:
			actual = "not blocked (no domain restriction)"
		default:
			emit(r.result(tenant.Unknown, dkey, d, "blocked", string(mode), "domain restriction mode missing or not recognised"))
			continue
		}
		if isBlocked {
			emit(r.result(tenant.Pass, dkey, d, "blocked", "blocked", ""))
			continue
		}
		emit(r.result(tenant.Fail, dkey, d, "blocked", actual, fmt.Sprintf("domain %s must stay blocked but is %s", d, actual)))
	}
}

// matchesAny reports whether domain d is covered by a list entry; entries
// may be globs, and a literal entry also covers itself case-insensitively.
func matchesAny(list []string, d string) bool {
	for _, x := range list {
		if baselines.Glob(x, d) || baselines.Glob(d, x) {
			return true
		}
	}
	return false
}

// allowedRule checks that every actually allowed domain is in the approved
// set, one result per domain.
func allowedRule(r *builtin, emit func(tenant.Result), key string, approved, actual []string) {
	if len(actual) == 0 {
		emit(r.result(tenant.Pass, key, "allow list", "subset of approved domains", "empty", ""))
		return
	}
	exp := "approved domain"
	outer := emit
	for _, d := range actual {
		emit := expectingAll(outer, tenant.Expectation{OneOf: approved, Domain: d})
		dkey := key + "/allowedDomain:" + strings.ToLower(d)
		if baselines.AnyGlob(approved, d) {
			emit(r.result(tenant.Pass, dkey, d, exp, "allowed", ""))
			continue
		}
		emit(r.result(tenant.Fail, dkey, d, exp, "allowed", fmt.Sprintf("domain %s is on the allow list but not approved by the baseline", d)))
	}
}

func evalSPBlocked(r *builtin, e *env, emit func(tenant.Result)) {
	dr := e.b.SharePoint.DomainRestriction
	if dr == nil || len(dr.MustBlock) == 0 {
		emit(spSilent(r))
		return
	}
	if sp := spSettings(r, e, emit, "blocked"); sp != nil {
		blockedRule(r, emit, sp.Key(), dr, sp.DomainRestrictionMode, sp.AllowedDomains, sp.BlockedDomains)
	}
}

func evalSPAllowed(r *builtin, e *env, emit func(tenant.Result)) {
	dr := e.b.SharePoint.DomainRestriction
	if dr == nil || dr.Allowed == nil {
		emit(spSilent(r))
		return
	}
	if sp := spSettings(r, e, emit, "subset of approved domains"); sp != nil {
		allowedRule(r, emit, sp.Key(), *dr.Allowed, sp.AllowedDomains)
	}
}

func evalDefaultScope(r *builtin, e *env, emit func(tenant.Result)) {
	max := e.b.SharePoint.MaxDefaultLinkScope
	if max == nil {
		emit(spSilent(r))
		return
	}
	sp := spSettings(r, e, emit, atMost(*max))
	if sp == nil {
		return
	}
	name := "Default sharing link type"
	emit = expectingAll(emit, ceiling(tenant.ScaleLinkScope, max.Tenant(), sp.DefaultLinkScope))
	rank, ok := sp.DefaultLinkScope.Rank()
	if !ok {
		emit(r.result(tenant.Unknown, sp.Key(), name, atMost(*max), string(sp.DefaultLinkScope), "default link type missing or not recognised"))
		return
	}
	limit, _ := max.Rank()
	if rank > limit {
		emit(r.result(tenant.Fail, sp.Key(), name, atMost(*max), scopeName(sp.DefaultLinkScope), fmt.Sprintf("new links default to %s, broader than %s", scopeName(sp.DefaultLinkScope), *max)))
		return
	}
	emit(r.result(tenant.Pass, sp.Key(), name, atMost(*max), scopeName(sp.DefaultLinkScope), ""))
}

func evalDefaultPerm(r *builtin, e *env, emit func(tenant.Result)) {
	max := e.b.SharePoint.MaxDefaultLinkPerm
	if max == nil {
		emit(spSilent(r))
		return
	}
	sp := spSettings(r, e, emit, atMost(*max))
	if sp == nil {
		return
	}
	permRule(r, emit, sp.Key(), "Default sharing link permission", *max, sp.DefaultLinkPermission)
}

func permRule(r *builtin, emit func(tenant.Result), key, name string, max baselines.LinkPermission, actual tenant.LinkType) {
	emit = expectingAll(emit, ceiling(tenant.ScaleLinkType, max.Tenant(), actual))
	rank, ok := actual.Rank()
	if !ok {
		emit(r.result(tenant.Unknown, key, name, atMost(max), string(actual), "link permission missing or not recognised"))
		return
	}
	limit, _ := max.Rank()
	if rank > limit {
		emit(r.result(tenant.Fail, key, name, atMost(max), string(actual), fmt.Sprintf("%s is %s, broader than %s", strings.ToLower(name), actual, max)))
		return
	}
	emit(r.result(tenant.Pass, key, name, atMost(max), string(actual), ""))
}

func evalTenantAnyoneExpiry(r *builtin, e *env, emit func(tenant.Result)) {
	a := e.b.SharePoint.AnyoneLinks
	if a == nil || a.MaxExpiryDays == nil {
		emit(spSilent(r))
		return
	}
	const name = "Anyone link expiration"
	expected := fmt.Sprintf("expire within %d days", *a.MaxExpiryDays)
	sp := spSharingSettings(r, e, emit, name, expected, true)
	if sp == nil {
		return
	}
	if sp.AnyoneLinkExpirationDays == nil {
		emit(r.result(tenant.Unknown, sp.Key(), name, expected, "", "Anyone link expiration setting missing"))
		return
	}
	d := *sp.AnyoneLinkExpirationDays
	emit = expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleDays, AtMost: strconv.Itoa(*a.MaxExpiryDays), Found: strconv.Itoa(max(d, 0))})
	if d <= 0 {
		emit(r.result(tenant.Fail, sp.Key(), name, expected, "no expiration required", "Anyone links are not required to expire"))
		return
	}
	actual := fmt.Sprintf("%d days", d)
	if d > *a.MaxExpiryDays {
		emit(r.result(tenant.Fail, sp.Key(), name, expected, actual, fmt.Sprintf("Anyone links may live %d days, more than %d", d, *a.MaxExpiryDays)))
		return
	}
	emit(r.result(tenant.Pass, sp.Key(), name, expected, actual, ""))
}

func evalTenantAnyonePerm(r *builtin, e *env, emit func(tenant.Result)) {
	a := e.b.SharePoint.AnyoneLinks
	if a == nil || a.ViewOnly == nil || !*a.ViewOnly {
		emit(spSilent(r))
		return
	}
	const name, expected = "Anyone link permissions", "view for files and folders"
	sp := spSharingSettings(r, e, emit, name, expected, true)
	if sp == nil {
		return
	}
	actual := fmt.Sprintf("files %s, folders %s", permName(sp.FileAnyoneLinkType), permName(sp.FolderAnyoneLinkType))
	if sp.FileAnyoneLinkType == "" || sp.FolderAnyoneLinkType == "" {
		emit(r.result(tenant.Unknown, sp.Key(), name, expected, actual, "Anyone link permission missing"))
		return
	}
	// View-only names what it accepts: a setting that is not one of the
	// view-at-most values, recognised or not, fails.
	var broad, fields []string
	if !settingViewOnly(sp.FileAnyoneLinkType) {
		broad, fields = append(broad, "files"), append(fields, "fileAnyoneLinkType")
	}
	if !settingViewOnly(sp.FolderAnyoneLinkType) {
		broad, fields = append(broad, "folders"), append(fields, "folderAnyoneLinkType")
	}
	emit = expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleLinkType, AtMost: string(tenant.LinkTypeView),
		Found: string(widerLinkType(sp.FileAnyoneLinkType, sp.FolderAnyoneLinkType)), Fields: fields})
	if len(broad) > 0 {
		emit(r.result(tenant.Fail, sp.Key(), name, expected, actual, "Anyone links for "+strings.Join(broad, " and ")+" are not limited to view"))
		return
	}
	emit(r.result(tenant.Pass, sp.Key(), name, expected, actual, ""))
}

// widerLinkType is the wider of two link types; an unranked one counts as
// wider than any ranked one.
func widerLinkType(a, b tenant.LinkType) tenant.LinkType {
	if tenant.ScaleLinkType.Wider(string(a), string(b)) {
		return b
	}
	return a
}

// settingViewOnly reports whether an Anyone-link permission setting allows
// at most view links (None means no Anyone link of that kind).
func settingViewOnly(t tenant.LinkType) bool { return t == tenant.LinkTypeNone || t.ViewOnly() }

// daysSetting is a tenant setting that is either not required or required
// within a number of days; verification code reauthentication and guest
// access expiry are judged alike.
type daysSetting struct {
	name string
	// format renders expected and actual from a number of days.
	format string
	// minDays is the fewest days that pass; fewer fail like too many.
	minDays int
	get     func(sp *tenant.SharePointSettings) (required *bool, days *int)
	// what names the setting in "missing" messages.
	what string
	// offActual and offMsg describe the setting when it is not required.
	offActual, offMsg string
	// overMsg formats a failure from the actual and the maximum days.
	overMsg string
}

func (d *daysSetting) eval(r *builtin, e *env, emit func(tenant.Result), max *int) {
	if max == nil {
		emit(spSilent(r))
		return
	}
	expected := fmt.Sprintf(d.format, *max)
	sp := spSharingSettings(r, e, emit, d.name, expected, false)
	if sp == nil {
		return
	}
	required, days := d.get(sp)
	x := tenant.Expectation{Scale: tenant.ScaleDays, AtMost: strconv.Itoa(*max)}
	switch {
	case required != nil && !*required:
		x.Found = "0" // never
	case days != nil:
		x.Found = strconv.Itoa(*days)
	}
	emit = expectingAll(emit, x)
	switch {
	case required == nil:
		emit(r.result(tenant.Unknown, sp.Key(), d.name, expected, "", d.what+" setting missing"))
	case !*required:
		emit(r.result(tenant.Fail, sp.Key(), d.name, expected, d.offActual, d.offMsg))
	case days == nil:
		emit(r.result(tenant.Unknown, sp.Key(), d.name, expected, "required", d.what+" days missing"))
	case *days > *max || *days < d.minDays:
		emit(r.result(tenant.Fail, sp.Key(), d.name, expected, fmt.Sprintf(d.format, *days), fmt.Sprintf(d.overMsg, *days, *max)))
	default:
		emit(r.result(tenant.Pass, sp.Key(), d.name, expected, fmt.Sprintf(d.format, *days), ""))
	}
}

var reauthSetting = daysSetting{
	name:    "Verification code reauthentication",
	format:  "required within %d days",
	minDays: 1,
	get: func(sp *tenant.SharePointSettings) (*bool, *int) {
		return sp.EmailAttestationRequired, sp.EmailAttestationDays
	},
	what:      "reauthentication",
	offActual: "not required",
	offMsg:    "people who use a verification code are never asked to reauthenticate",
	overMsg:   "reauthentication every %d days exceeds %d",
}

func evalReauth(r *builtin, e *env, emit func(tenant.Result)) {
	reauthSetting.eval(r, e, emit, e.b.SharePoint.MaxVerificationCodeReauthDays)
}

var guestExpirySetting = daysSetting{
	name:   "Guest access expiration",
	format: "expire within %d days",
	get: func(sp *tenant.SharePointSettings) (*bool, *int) {
		return sp.GuestExpirationRequired, sp.GuestExpirationDays
	},
	what:      "guest expiration",
	offActual: "never expires",
	offMsg:    "guest access to sites and OneDrive never expires",
	overMsg:   "guest access lasts %d days, more than %d",
}

func evalGuestExpiry(r *builtin, e *env, emit func(tenant.Result)) {
	guestExpirySetting.eval(r, e, emit, e.b.SharePoint.MaxGuestAccessExpiryDays)
}

func evalResharing(r *builtin, e *env, emit func(tenant.Result)) {
	allow := e.b.SharePoint.AllowResharingByGuests
	if allow == nil || *allow {
		emit(spSilent(r))
		return
	}
	sp := spSettings(r, e, emit, "disabled")
	if sp == nil {
		return
	}
	name := "Resharing by guests"
	x := tenant.Expectation{Scale: tenant.ScaleSwitch, AtMost: "false"}
	if sp.ResharingByGuests != nil {
		x.Found = strconv.FormatBool(*sp.ResharingByGuests)
	}
	emit = expectingAll(emit, x)
	switch {
	case sp.ResharingByGuests == nil:
		emit(r.result(tenant.Unknown, sp.Key(), name, "disabled", "", "resharing setting missing"))
	case *sp.ResharingByGuests:
		emit(r.result(tenant.Fail, sp.Key(), name, "disabled", "enabled", "guests can share items they do not own"))
	default:
		emit(r.result(tenant.Pass, sp.Key(), name, "disabled", "disabled", ""))
	}
}
