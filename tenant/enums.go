package tenant

import (
	"strconv"
	"strings"
)

// This file is the one vocabulary of the enumerations sharedrift reads,
// judges and writes. Each has one table: the snapshot's spelling (Graph's
// where Graph has one), the other spellings services send for it, the
// integer CSOM or Exchange may send instead, the baseline's name for it and
// its place on the ordered scale. Baselines, rules, remediation and the
// collector all go through these tables; no package keeps its own mapping.
//
// A value no table knows is kept verbatim: it is never mapped to a nearby
// known value, and Rank answers ok=false for it so that rules can fail
// closed on it.

// Term is one value of an enumeration as every party spells it.
type Term[T ~string] struct {
	// Value is the snapshot's spelling.
	Value T
	// Also lists other service spellings of the same value (matched
	// case-insensitively): Graph beta names, Exchange names, role IDs.
	Also []string
	// Code is the integer CSOM (or Exchange) sends for it; -1 when none.
	Code int64
	// Baseline is the baseline YAML name; "" when a baseline cannot name it.
	Baseline string
	// Rank is its place on the scale, lowest (least exposure) first; -1
	// when it has no place (its meaning depends on other settings).
	Rank int
}

// Vocab is the table of one enumeration, in scale order.
type Vocab[T ~string] struct {
	Name  string
	Terms []Term[T]
}

// Term returns the table entry of v (its snapshot spelling).
func (vo *Vocab[T]) Term(v T) (Term[T], bool) {
	for _, t := range vo.Terms {
		if t.Value == v {
			return t, true
		}
	}
	return Term[T]{}, false
}

// Known reports whether v is a value the table knows.
func (vo *Vocab[T]) Known(v T) bool { _, ok := vo.Term(v); return ok }

// Rank places v on the scale; ok is false for empty, unknown or unranked
// values.
func (vo *Vocab[T]) Rank(v T) (int, bool) {
	t, ok := vo.Term(v)
	if !ok || t.Rank < 0 {
		return 0, false
	}
	return t.Rank, true
}

// Parse reads a service spelling (the snapshot's or one of Also); anything
// else is kept verbatim.
func (vo *Vocab[T]) Parse(s string) T {
	for _, t := range vo.Terms {
		if string(t.Value) == s {
			return t.Value
		}
		for _, a := range t.Also {
			if strings.EqualFold(a, s) {
				return t.Value
			}
		}
	}
	return T(s)
}

// FromCode maps a CSOM or Exchange integer; unknown integers are kept as
// their decimal text so they stay visible (and unrecognised).
func (vo *Vocab[T]) FromCode(n int64) T {
	for _, t := range vo.Terms {
		if t.Code >= 0 && t.Code == n {
			return t.Value
		}
	}
	return T(strconv.FormatInt(n, 10))
}

// Code is the integer of v for CSOM or Exchange writes.
func (vo *Vocab[T]) Code(v T) (int64, bool) {
	t, ok := vo.Term(v)
	if !ok || t.Code < 0 {
		return 0, false
	}
	return t.Code, true
}

// FromBaseline maps a baseline name to the snapshot's value.
func (vo *Vocab[T]) FromBaseline(name string) (T, bool) {
	for _, t := range vo.Terms {
		if t.Baseline != "" && t.Baseline == name {
			return t.Value, true
		}
	}
	var zero T
	return zero, false
}

// BaselineName names v in the baseline's vocabulary, or returns it
// verbatim when a baseline has no name for it.
func (vo *Vocab[T]) BaselineName(v T) string {
	if t, ok := vo.Term(v); ok && t.Baseline != "" {
		return t.Baseline
	}
	return string(v)
}

// BaselineNames lists the names a baseline may use, in scale order.
func (vo *Vocab[T]) BaselineNames() []string {
	var out []string
	for _, t := range vo.Terms {
		if t.Baseline != "" {
			out = append(out, t.Baseline)
		}
	}
	return out
}

// SharingLevel is a SharePoint/OneDrive sharing capability, using Graph's
// sharingCapability names. Unknown values are kept verbatim.
type SharingLevel string

// Sharing levels, from most to least restrictive.
const (
	SharingDisabled             SharingLevel = "disabled"
	SharingExistingGuests       SharingLevel = "existingExternalUserSharingOnly"
	SharingNewAndExistingGuests SharingLevel = "externalUserSharingOnly"
	SharingAnyone               SharingLevel = "externalUserAndGuestSharing"
)

// SharingLevels is the vocabulary of Graph sharingCapabilities; CSOM SharingCapabilities
// (0 Disabled, 1 ExternalUserSharingOnly, 2 ExternalUserAndGuestSharing,
// 3 ExistingExternalUserSharingOnly, per PnP Core's enum definitions).
var SharingLevels = &Vocab[SharingLevel]{Name: "sharing level", Terms: []Term[SharingLevel]{
	{Value: SharingDisabled, Code: 0, Baseline: "disabled", Rank: 0},
	{Value: SharingExistingGuests, Code: 3, Baseline: "existing_guests", Rank: 1},
	{Value: SharingNewAndExistingGuests, Code: 1, Baseline: "new_and_existing_guests", Rank: 2},
	{Value: SharingAnyone, Code: 2, Baseline: "anyone", Rank: 3},
}}

// Rank orders sharing levels: disabled(0) < existing guests(1) < new and
// existing guests(2) < anyone(3). ok is false for empty or unknown values.
func (l SharingLevel) Rank() (rank int, ok bool) { return SharingLevels.Rank(l) }

// DomainMode is a domain restriction mode (SharePoint or Entra invitations).
type DomainMode string

// Domain restriction modes.
const (
	DomainModeNone      DomainMode = "none"
	DomainModeAllowList DomainMode = "allowList"
	DomainModeBlockList DomainMode = "blockList"
)

// DomainModes is the vocabulary of Graph sharingDomainRestrictionMode; CSOM
// SharingDomainRestrictionModes (0 None, 1 AllowList, 2 BlockList). The
// scale is how narrow the restriction is: none < block list < allow list.
var DomainModes = &Vocab[DomainMode]{Name: "domain restriction mode", Terms: []Term[DomainMode]{
	{Value: DomainModeNone, Code: 0, Baseline: "none", Rank: 0},
	{Value: DomainModeBlockList, Code: 2, Baseline: "block_list", Rank: 1},
	{Value: DomainModeAllowList, Code: 1, Baseline: "allow_list", Rank: 2},
}}

// Rank orders domain modes by restriction: none(0) < blockList(1) < allowList(2).
func (m DomainMode) Rank() (rank int, ok bool) { return DomainModes.Rank(m) }

// LinkScope is who a sharing link works for (Graph sharingLink.scope). It is
// also used for a tenant's default link type.
type LinkScope string

// Link scopes. LinkScopeNone appears only as a default link type.
const (
	LinkScopeNone         LinkScope = "none"
	LinkScopeUsers        LinkScope = "users"
	LinkScopeOrganization LinkScope = "organization"
	LinkScopeAnonymous    LinkScope = "anonymous"
	LinkScopeExisting     LinkScope = "existingAccess"
)

// LinkScopes is the vocabulary of Graph sharingLink.scope (beta sharingScope also spells
// anonymous "anyone" and users "specificPeople"); CSOM SharingLinkType for
// DefaultSharingLinkType (0 None, 1 Direct, 2 Internal, 3 AnonymousAccess).
// A default of None leaves the choice to another setting, so it has no
// place on the scale.
var LinkScopes = &Vocab[LinkScope]{Name: "link scope", Terms: []Term[LinkScope]{
	{Value: LinkScopeNone, Code: 0, Rank: -1},
	{Value: LinkScopeUsers, Also: []string{"specificPeople"}, Code: 1, Baseline: "specific_people", Rank: 0},
	{Value: LinkScopeExisting, Code: -1, Rank: 0},
	{Value: LinkScopeOrganization, Code: 2, Baseline: "organization", Rank: 1},
	{Value: LinkScopeAnonymous, Also: []string{"anyone"}, Code: 3, Baseline: "anyone", Rank: 2},
}}

// Rank orders link scopes by exposure: users(0) < organization(1) < anonymous(2).
func (s LinkScope) Rank() (rank int, ok bool) { return LinkScopes.Rank(s) }

// LinkType is what a link grants (Graph sharingLink.type) or a default/
// Anyone-link permission setting. Unknown link kinds are kept verbatim.
type LinkType string

// Link types. Graph documents view, edit and embed; SharePoint also returns
// the newer kinds (review, blocksDownload, createOnly, addressBar,
// adminDefault).
const (
	LinkTypeNone           LinkType = "none"
	LinkTypeBlocksDownload LinkType = "blocksDownload"
	LinkTypeView           LinkType = "view"
	LinkTypeEmbed          LinkType = "embed"
	LinkTypeReview         LinkType = "review"
	LinkTypeCreateOnly     LinkType = "createOnly"
	LinkTypeEdit           LinkType = "edit"
	LinkTypeAddressBar     LinkType = "addressBar"
	LinkTypeAdminDefault   LinkType = "adminDefault"
)

// LinkTypes is the vocabulary of Graph sharingLink.type; CSOM AnonymousAccessLinkType and
// SharingPermissionType for the tenant settings (0 None, 1 View, 2 Edit).
// The scale is what a holder may do to the content: view without download
// < view < comment (review) and upload without viewing (createOnly, a file
// request) < edit. addressBar and adminDefault links grant whatever the
// tenant's default was when they were made, so they have no place.
var LinkTypes = &Vocab[LinkType]{Name: "link type", Terms: []Term[LinkType]{
	{Value: LinkTypeNone, Code: 0, Rank: 0},
	{Value: LinkTypeBlocksDownload, Code: -1, Rank: 1},
	{Value: LinkTypeView, Code: 1, Baseline: "view", Rank: 2},
	{Value: LinkTypeEmbed, Code: -1, Rank: 2},
	{Value: LinkTypeReview, Code: -1, Rank: 3},
	{Value: LinkTypeCreateOnly, Code: -1, Rank: 3},
	{Value: LinkTypeEdit, Code: 2, Baseline: "edit", Rank: 4},
	{Value: LinkTypeAddressBar, Code: -1, Rank: -1},
	{Value: LinkTypeAdminDefault, Code: -1, Rank: -1},
}}

// Rank orders link permissions: none(0) < blocksDownload(1) < view,
// embed(2) < review, createOnly(3) < edit(4).
func (t LinkType) Rank() (rank int, ok bool) { return LinkTypes.Rank(t) }

// ViewOnly reports whether a link of type t lets its holder at most view:
// the answer for the Anyone links that a view-only requirement accepts.
// Unknown, unranked and empty types are not view-only.
func (t LinkType) ViewOnly() bool {
	r, ok := t.Rank()
	return ok && r > 0 && r <= 2
}

// LinkRole is a permission's role (Graph permission.roles).
type LinkRole string

// Permission roles. Graph documents read, write and owner; SharePoint
// links also carry restrictedView (view without download) and submitOnly
// (a file request).
const (
	RoleRestrictedView LinkRole = "restrictedView"
	RoleRead           LinkRole = "read"
	RoleSubmitOnly     LinkRole = "submitOnly"
	RoleWrite          LinkRole = "write"
	RoleOwner          LinkRole = "owner"
)

// LinkRoles orders roles like LinkTypes: restrictedView < read < submitOnly
// < write < owner.
var LinkRoles = &Vocab[LinkRole]{Name: "permission role", Terms: []Term[LinkRole]{
	{Value: RoleRestrictedView, Code: -1, Rank: 1},
	{Value: RoleRead, Code: -1, Rank: 2},
	{Value: RoleSubmitOnly, Code: -1, Rank: 3},
	{Value: RoleWrite, Also: []string{"sp.member"}, Code: -1, Rank: 4},
	{Value: RoleOwner, Also: []string{"sp.owner"}, Code: -1, Rank: 5},
}}

// Rank places a role on the LinkRoles scale.
func (r LinkRole) Rank() (rank int, ok bool) { return LinkRoles.Rank(r) }

// InviteFrom is Entra's authorizationPolicy.allowInvitesFrom.
type InviteFrom string

// Who may invite guests, from most to least restrictive.
const (
	InviteNone                   InviteFrom = "none"
	InviteAdminsAndGuestInviters InviteFrom = "adminsAndGuestInviters"
	InviteAdminsInvitersMembers  InviteFrom = "adminsGuestInvitersAndAllMembers"
	InviteEveryone               InviteFrom = "everyone"
)

// InviteFroms is the vocabulary of Graph allowInvitedFrom values (authorizationPolicy).
var InviteFroms = &Vocab[InviteFrom]{Name: "allowInvitesFrom", Terms: []Term[InviteFrom]{
	{Value: InviteNone, Code: -1, Baseline: "none", Rank: 0},
	{Value: InviteAdminsAndGuestInviters, Code: -1, Baseline: "admins_and_guest_inviters", Rank: 1},
	{Value: InviteAdminsInvitersMembers, Code: -1, Baseline: "admins_guest_inviters_and_members", Rank: 2},
	{Value: InviteEveryone, Code: -1, Baseline: "everyone", Rank: 3},
}}

// Rank orders InviteFrom values: none(0) … everyone(3).
func (v InviteFrom) Rank() (rank int, ok bool) { return InviteFroms.Rank(v) }

// Guest role template IDs from authorizationPolicy.guestUserRoleId.
const (
	GuestRoleMember     = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
	GuestRoleLimited    = "10dae51f-b6af-4016-8d66-8c2a99b929b3"
	GuestRoleRestricted = "2af84b1e-32c8-42b7-82bc-daa82404023b"
)

// GuestAccess is the guest directory access level derived from guestUserRoleId.
type GuestAccess string

// Guest directory access levels, from most to least restrictive.
const (
	GuestAccessRestricted GuestAccess = "restricted"
	GuestAccessLimited    GuestAccess = "limited"
	GuestAccessMember     GuestAccess = "member"
)

// GuestAccesses is the vocabulary of the level of each guestUserRoleId (Also holds the role
// template ID the service sends).
var GuestAccesses = &Vocab[GuestAccess]{Name: "guest access", Terms: []Term[GuestAccess]{
	{Value: GuestAccessRestricted, Also: []string{GuestRoleRestricted}, Code: -1, Baseline: "restricted", Rank: 0},
	{Value: GuestAccessLimited, Also: []string{GuestRoleLimited}, Code: -1, Baseline: "limited", Rank: 1},
	{Value: GuestAccessMember, Also: []string{GuestRoleMember}, Code: -1, Baseline: "member", Rank: 2},
}}

// GuestAccessFromRole maps a guestUserRoleId to its level; unknown IDs give "".
func GuestAccessFromRole(roleID string) GuestAccess {
	if roleID == "" {
		return ""
	}
	if a := GuestAccesses.Parse(roleID); GuestAccesses.Known(a) && string(a) != roleID {
		return a
	}
	return ""
}

// GuestRoleID is the guestUserRoleId of an access level, or "".
func GuestRoleID(g GuestAccess) string {
	if t, ok := GuestAccesses.Term(g); ok && len(t.Also) > 0 {
		return t.Also[0]
	}
	return ""
}

// Rank orders guest access levels: restricted(0) < limited(1) < member(2).
func (g GuestAccess) Rank() (rank int, ok bool) { return GuestAccesses.Rank(g) }

// GuestState is user.externalUserState.
type GuestState string

// Guest invitation states.
const (
	GuestPending  GuestState = "PendingAcceptance"
	GuestAccepted GuestState = "Accepted"
)

// CalendarAction is an action of an Exchange sharing policy's Domains
// entry ("*:CalendarSharingFreeBusyDetail").
type CalendarAction string

// Calendar sharing actions in an Exchange sharing policy's Domains entries.
const (
	CalendarFreeBusySimple   = "CalendarSharingFreeBusySimple"
	CalendarFreeBusyDetail   = "CalendarSharingFreeBusyDetail"
	CalendarFreeBusyReviewer = "CalendarSharingFreeBusyReviewer"
	ContactsSharing          = "ContactsSharing"
	// CalendarNone is the baseline's "share no calendar detail"; Exchange
	// has no action for it (the entry is left out).
	CalendarNone = "none"
)

// CalendarActions is the vocabulary of Set-SharingPolicy -Domains actions, on the calendar
// detail scale; ContactsSharing is not about calendars and has no place.
var CalendarActions = &Vocab[CalendarAction]{Name: "calendar sharing action", Terms: []Term[CalendarAction]{
	{Value: CalendarNone, Code: -1, Baseline: "none", Rank: 0},
	{Value: CalendarFreeBusySimple, Code: -1, Baseline: "free_busy_simple", Rank: 1},
	{Value: CalendarFreeBusyDetail, Code: -1, Baseline: "free_busy_detail", Rank: 2},
	{Value: CalendarFreeBusyReviewer, Code: -1, Baseline: "reviewer", Rank: 3},
	{Value: ContactsSharing, Code: -1, Rank: -1},
}}

// CalendarDetailRank orders calendar actions: simple(1) < detail(2) <
// reviewer(3); other values (contacts, unknown) give ok=false.
func CalendarDetailRank(action string) (rank int, ok bool) {
	if action == CalendarNone {
		return 0, false
	}
	return CalendarActions.Rank(CalendarAction(action))
}

// FreeBusyLevel is an organization relationship's FreeBusyAccessLevel.
type FreeBusyLevel string

// Organization relationship free/busy levels (FreeBusyAccessLevel).
const (
	FreeBusyNone             = "None"
	FreeBusyAvailabilityOnly = "AvailabilityOnly"
	FreeBusyLimitedDetails   = "LimitedDetails"
)

// FreeBusyLevels is the vocabulary of Exchange FreeBusyAccessLevel, by name or by its integer
// (0 None, 1 AvailabilityOnly, 2 LimitedDetails; the integer form is an
// assumption about the admin API's serialization).
var FreeBusyLevels = &Vocab[FreeBusyLevel]{Name: "free/busy level", Terms: []Term[FreeBusyLevel]{
	{Value: FreeBusyNone, Code: 0, Baseline: "none", Rank: 0},
	{Value: FreeBusyAvailabilityOnly, Code: 1, Baseline: "availability_only", Rank: 1},
	{Value: FreeBusyLimitedDetails, Code: 2, Baseline: "limited_details", Rank: 2},
}}

// Rank places l on the free/busy scale.
func (l FreeBusyLevel) Rank() (rank int, ok bool) { return FreeBusyLevels.Rank(l) }

// FreeBusyRank orders free/busy levels: None(0) < AvailabilityOnly(1) <
// LimitedDetails(2).
func FreeBusyRank(level string) (rank int, ok bool) {
	return FreeBusyLevels.Rank(FreeBusyLevel(level))
}
