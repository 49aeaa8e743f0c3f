package tenant

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

// Rank orders sharing levels: disabled(0) < existing guests(1) < new and
// existing guests(2) < anyone(3). ok is false for empty or unknown values.
func (l SharingLevel) Rank() (rank int, ok bool) {
	switch l {
	case SharingDisabled:
		return 0, true
	case SharingExistingGuests:
		return 1, true
	case SharingNewAndExistingGuests:
		return 2, true
	case SharingAnyone:
		return 3, true
	}
	return 0, false
}

// DomainMode is a domain restriction mode (SharePoint or Entra invitations).
type DomainMode string

// Domain restriction modes.
const (
	DomainModeNone      DomainMode = "none"
	DomainModeAllowList DomainMode = "allowList"
	DomainModeBlockList DomainMode = "blockList"
)

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

// Rank orders link scopes by exposure: users(0) < organization(1) < anonymous(2).
func (s LinkScope) Rank() (rank int, ok bool) {
	switch s {
	case LinkScopeUsers, LinkScopeExisting:
		return 0, true
	case LinkScopeOrganization:
		return 1, true
	case LinkScopeAnonymous:
		return 2, true
	}
	return 0, false
}

// LinkType is what a link grants (Graph sharingLink.type) or a default/
// Anyone-link permission setting. Unknown link kinds are kept verbatim.
type LinkType string

// Link types.
const (
	LinkTypeNone  LinkType = "none"
	LinkTypeView  LinkType = "view"
	LinkTypeEdit  LinkType = "edit"
	LinkTypeEmbed LinkType = "embed"
)

// Rank orders link permissions: none(0) < view/embed(1) < edit(2).
func (t LinkType) Rank() (rank int, ok bool) {
	switch t {
	case LinkTypeNone:
		return 0, true
	case LinkTypeView, LinkTypeEmbed:
		return 1, true
	case LinkTypeEdit:
		return 2, true
	}
	return 0, false
}

// InviteFrom is Entra's authorizationPolicy.allowInvitesFrom.
type InviteFrom string

// Who may invite guests, from most to least restrictive.
const (
	InviteNone                   InviteFrom = "none"
	InviteAdminsAndGuestInviters InviteFrom = "adminsAndGuestInviters"
	InviteAdminsInvitersMembers  InviteFrom = "adminsGuestInvitersAndAllMembers"
	InviteEveryone               InviteFrom = "everyone"
)

// Rank orders InviteFrom values: none(0) … everyone(3).
func (v InviteFrom) Rank() (rank int, ok bool) {
	switch v {
	case InviteNone:
		return 0, true
	case InviteAdminsAndGuestInviters:
		return 1, true
	case InviteAdminsInvitersMembers:
		return 2, true
	case InviteEveryone:
		return 3, true
	}
	return 0, false
}

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

// GuestAccessFromRole maps a guestUserRoleId to its level; unknown IDs give "".
func GuestAccessFromRole(roleID string) GuestAccess {
	switch roleID {
	case GuestRoleRestricted:
		return GuestAccessRestricted
	case GuestRoleLimited:
		return GuestAccessLimited
	case GuestRoleMember:
		return GuestAccessMember
	}
	return ""
}

// Rank orders guest access levels: restricted(0) < limited(1) < member(2).
func (g GuestAccess) Rank() (rank int, ok bool) {
	switch g {
	case GuestAccessRestricted:
		return 0, true
	case GuestAccessLimited:
		return 1, true
	case GuestAccessMember:
		return 2, true
	}
	return 0, false
}

// GuestState is user.externalUserState.
type GuestState string

// Guest invitation states.
const (
	GuestPending  GuestState = "PendingAcceptance"
	GuestAccepted GuestState = "Accepted"
)

// Calendar sharing actions in an Exchange sharing policy's Domains entries.
const (
	CalendarFreeBusySimple   = "CalendarSharingFreeBusySimple"
	CalendarFreeBusyDetail   = "CalendarSharingFreeBusyDetail"
	CalendarFreeBusyReviewer = "CalendarSharingFreeBusyReviewer"
	ContactsSharing          = "ContactsSharing"
)

// CalendarDetailRank orders calendar actions: simple(1) < detail(2) <
// reviewer(3); other values (contacts, unknown) give ok=false.
func CalendarDetailRank(action string) (rank int, ok bool) {
	switch action {
	case CalendarFreeBusySimple:
		return 1, true
	case CalendarFreeBusyDetail:
		return 2, true
	case CalendarFreeBusyReviewer:
		return 3, true
	}
	return 0, false
}

// Organization relationship free/busy levels (FreeBusyAccessLevel).
const (
	FreeBusyNone             = "None"
	FreeBusyAvailabilityOnly = "AvailabilityOnly"
	FreeBusyLimitedDetails   = "LimitedDetails"
)

// FreeBusyRank orders free/busy levels: None(0) < AvailabilityOnly(1) <
// LimitedDetails(2).
func FreeBusyRank(level string) (rank int, ok bool) {
	switch level {
	case FreeBusyNone:
		return 0, true
	case FreeBusyAvailabilityOnly:
		return 1, true
	case FreeBusyLimitedDetails:
		return 2, true
	}
	return 0, false
}
