package baselines

import (
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Baseline is the desired external-sharing state of a tenant. Every
// expectation is optional: a nil pointer (or a nil slice pointer) means the
// baseline is silent and the rules that need it report not_applicable.
type Baseline struct {
	Name        string `koanf:"name"`
	Description string `koanf:"description"`
	// Extends names a shipped baseline or a path (relative to the file that
	// names it); this baseline's keys are deep-merged over it.
	Extends string `koanf:"extends"`

	SharePoint   SharePoint   `koanf:"sharepoint"`
	Sites        Sites        `koanf:"sites"`
	Confidential Confidential `koanf:"confidential"`
	Entra        Entra        `koanf:"entra"`
	Groups       Groups       `koanf:"groups"`
	Exchange     Exchange     `koanf:"exchange"`
	Teams        Teams        `koanf:"teams"`
	PowerBI      PowerBI      `koanf:"powerbi"`
	Guests       Guests       `koanf:"guests"`
	Exceptions   []Exception  `koanf:"exceptions"`

	// Source is the shipped name or file path the baseline was loaded from.
	Source string `koanf:"-"`
	// Chain lists the sources merged into this baseline, most derived first.
	Chain []string `koanf:"-"`

	// raw is the merged configuration map, kept for YAML.
	raw map[string]any
}

// SharePoint holds tenant-wide SharePoint and OneDrive expectations.
type SharePoint struct {
	MaxSharingLevel         *SharingLevel      `koanf:"max_sharing_level"`
	OneDriveMaxSharingLevel *SharingLevel      `koanf:"onedrive_max_sharing_level"`
	DomainRestriction       *DomainRestriction `koanf:"domain_restriction"`
	MaxDefaultLinkScope     *LinkScope         `koanf:"max_default_link_scope"`
	MaxDefaultLinkPerm      *LinkPermission    `koanf:"max_default_link_permission"`
	AnyoneLinks             *AnyoneLinks       `koanf:"anyone_links"`
	// MaxVerificationCodeReauthDays requires verification-code users to
	// reauthenticate within this many days.
	MaxVerificationCodeReauthDays *int `koanf:"max_verification_code_reauth_days"`
	// AllowResharingByGuests false means guests must not reshare items they
	// do not own; true (or nil) leaves it unchecked.
	AllowResharingByGuests *bool `koanf:"allow_resharing_by_guests"`
	// MaxGuestAccessExpiryDays requires guest access to expire within this
	// many days.
	MaxGuestAccessExpiryDays *int `koanf:"max_guest_access_expiry_days"`
	// PeopleLinks is the expectation on links for specific people.
	PeopleLinks *PeopleLinks `koanf:"people_links"`
}

// NeedsLinkRecipients says whether a rule of the baseline judges the
// recipients of links for specific people, which the links' permissions
// or their sharing-link groups' members tell: without such a rule the
// collector reads neither.
func (b *Baseline) NeedsLinkRecipients() bool {
	if b == nil || b.SharePoint.PeopleLinks == nil {
		return false
	}
	pl := b.SharePoint.PeopleLinks
	return pl.AllowExternalOnConfidential != nil && !*pl.AllowExternalOnConfidential ||
		pl.AllowBlockedDomains != nil && !*pl.AllowBlockedDomains
}

// PeopleLinks is the expectation on links for specific people ("users"
// scope): false means the rule holds them to it.
type PeopleLinks struct {
	// AllowExternalOnConfidential false: no such link on confidential
	// content may be given to anyone outside the organization.
	AllowExternalOnConfidential *bool `koanf:"allow_external_on_confidential"`
	// AllowBlockedDomains false: no such link may be given to a domain the
	// SharePoint or Entra domain lists (or the baseline's must_block) block.
	AllowBlockedDomains *bool `koanf:"allow_blocked_domains"`
}

// DomainRestriction is the expectation on a domain allow/block list, used
// for SharePoint sharing and for Entra guest invitations alike.
type DomainRestriction struct {
	// Mode is the required restriction mode (exactly).
	Mode *DomainMode `koanf:"mode"`
	// MustBlock lists domains (globs) that must stay blocked: on the block
	// list in block-list mode, absent from the allow list in allow-list mode.
	MustBlock []string `koanf:"must_block"`
	// Allowed, when set, is the approved set the actual allow list must stay
	// a subset of; an empty list means no domain may be allowed.
	Allowed *[]string `koanf:"allowed"`
}

// AnyoneLinks is the expectation on Anyone (anonymous) links.
type AnyoneLinks struct {
	Allowed       *bool `koanf:"allowed"`
	MaxExpiryDays *int  `koanf:"max_expiry_days"`
	ViewOnly      *bool `koanf:"view_only"`
}

// Sites holds per-site sharing ceilings. A site's ceiling is the first
// matching by_url rule, else max_sharing_level, else the tenant's
// (OneDrive's for personal sites); a matching by_label ceiling applies too.
type Sites struct {
	MaxSharingLevel *SharingLevel `koanf:"max_sharing_level"`
	ByURL           []SiteURLRule `koanf:"by_url"`
	ByLabel         []LabelRule   `koanf:"by_label"`
}

// SiteURLRule caps the sharing level of sites whose URL matches a glob.
type SiteURLRule struct {
	URL             string        `koanf:"url"`
	MaxSharingLevel *SharingLevel `koanf:"max_sharing_level"`
}

// LabelRule caps the sharing level of sites carrying a sensitivity label
// (matched by display name or ID, case-insensitively).
type LabelRule struct {
	Label           string        `koanf:"label"`
	MaxSharingLevel *SharingLevel `koanf:"max_sharing_level"`
}

// Confidential says which content is confidential. Anyone links are never
// acceptable there, and confidential sites are capped at MaxSharingLevel.
type Confidential struct {
	Labels []string `koanf:"labels"`
	// URLPatterns are globs matched against site URLs and library URLs
	// (site URL + "/" + library name).
	URLPatterns     []string      `koanf:"url_patterns"`
	MaxSharingLevel *SharingLevel `koanf:"max_sharing_level"`
}

// Configured reports whether any content is declared confidential.
func (c *Confidential) Configured() bool { return len(c.Labels) > 0 || len(c.URLPatterns) > 0 }

// Entra holds Entra ID B2B expectations.
type Entra struct {
	MaxInviteFrom     *InviteFrom        `koanf:"max_invite_from"`
	MaxGuestAccess    *GuestAccess       `koanf:"max_guest_access"`
	InvitationDomains *DomainRestriction `koanf:"invitation_domains"`
	CrossTenant       *CrossTenant       `koanf:"cross_tenant"`
}

// CrossTenant is the expectation on the cross-tenant access policy.
type CrossTenant struct {
	// AllowDefaultDirectConnect false means the default policy must block
	// B2B direct connect, inbound and outbound, for every tenant not
	// configured as a partner.
	AllowDefaultDirectConnect *bool `koanf:"allow_default_direct_connect"`
	// ApprovedPartners, when set, lists the partner tenant ids whose
	// settings may be wider than the default's; an empty list approves
	// none. A partner that is not wider than the default always passes.
	ApprovedPartners *[]string `koanf:"approved_partners"`
}

// Groups holds Microsoft 365 Groups guest expectations; true means the
// setting may be on, false that it must be off.
type Groups struct {
	AllowOwnersToAddGuests *bool `koanf:"allow_owners_to_add_guests"`
	AllowGuestAccess       *bool `koanf:"allow_guest_access"`
	AllowGuestsAsOwners    *bool `koanf:"allow_guests_as_owners"`
}

// Exchange holds calendar sharing and organization relationship expectations.
type Exchange struct {
	CalendarSharing           *CalendarSharing  `koanf:"calendar_sharing"`
	OrganizationRelationships *OrgRelationships `koanf:"organization_relationships"`
	AutoForwarding            *AutoForwarding   `koanf:"auto_forwarding"`
}

// Teams holds Teams external and guest access expectations; false means
// the setting must be off, true (or nil) leaves it unchecked.
type Teams struct {
	// AllowAllExternalDomains false means external access, when on, must
	// name the domains it allows (MS.TEAMS.2.1v2).
	AllowAllExternalDomains *bool `koanf:"allow_all_external_domains"`
	// AllowUnmanagedInbound: Teams accounts no organization manages may
	// start conversations (MS.TEAMS.2.2v2).
	AllowUnmanagedInbound *bool `koanf:"allow_unmanaged_inbound"`
	// AllowUnmanagedOutbound: users may talk to such accounts
	// (MS.TEAMS.2.3v2).
	AllowUnmanagedOutbound *bool `koanf:"allow_unmanaged_outbound"`
	// AllowSkypeConsumer: users may talk to Skype (consumer) users.
	AllowSkypeConsumer        *bool `koanf:"allow_skype_consumer"`
	AllowGuestAccess          *bool `koanf:"allow_guest_access"`
	AllowAnonymousMeetingJoin *bool `koanf:"allow_anonymous_meeting_join"`
}

// PowerBI holds the ceilings on Power BI tenant settings that open content
// to people outside the organization.
type PowerBI struct {
	MaxPublishToWeb    *PowerBIReach `koanf:"max_publish_to_web"`
	MaxGuestAccess     *PowerBIReach `koanf:"max_guest_access"`
	MaxExternalSharing *PowerBIReach `koanf:"max_external_sharing"`
}

// PowerBIReach is who a Power BI tenant setting is on for, on the scale
// disabled < security_groups < everyone.
type PowerBIReach string

// Power BI reaches.
const (
	ReachDisabled       PowerBIReach = "disabled"
	ReachSecurityGroups PowerBIReach = "security_groups"
	ReachEveryone       PowerBIReach = "everyone"
)

// PowerBIReaches lists the reaches from the narrowest.
var PowerBIReaches = []PowerBIReach{ReachDisabled, ReachSecurityGroups, ReachEveryone}

// Rank is the reach's position on the scale; false when it is not one.
func (r PowerBIReach) Rank() (int, bool) {
	for i, v := range PowerBIReaches {
		if v == r {
			return i, true
		}
	}
	return 0, false
}

// AutoForwarding is the expectation on Exchange remote domains: whether
// messages auto-forwarded by mail clients may leave for external domains.
type AutoForwarding struct {
	// Allowed false means no remote domain, the Default ("*") included,
	// may allow automatic forwarding, except those in AllowedDomains.
	Allowed *bool `koanf:"allowed"`
	// AllowedDomains are domains (globs) forwarding may go to; "*" is
	// refused, since it would allow every domain.
	AllowedDomains []string `koanf:"allowed_domains"`
}

// CalendarSharing is the expectation on Exchange sharing policies.
type CalendarSharing struct {
	AllowAnonymous *bool `koanf:"allow_anonymous"`
	// MaxAllDomainsDetail caps what "*" (all domains) may see; it is also
	// the ceiling for named domains without a Domains entry.
	MaxAllDomainsDetail         *CalendarDetail `koanf:"max_all_domains_detail"`
	Domains                     []DomainDetail  `koanf:"domains"`
	AllowContactsWithAllDomains *bool           `koanf:"allow_contacts_with_all_domains"`
}

// DomainDetail caps calendar detail shared with domains matching a glob.
type DomainDetail struct {
	Domain    string          `koanf:"domain"`
	MaxDetail *CalendarDetail `koanf:"max_detail"`
}

// OrgRelationships is the expectation on Exchange organization relationships.
type OrgRelationships struct {
	// MaxFreeBusy caps free/busy access for every relationship; an allowed
	// entry's own MaxFreeBusy takes precedence.
	MaxFreeBusy *FreeBusy `koanf:"max_free_busy"`
	// Allowed, when set, lists the relationships that may exist; an empty
	// list allows none.
	Allowed *[]AllowedOrgRelationship `koanf:"allowed"`
}

// AllowedOrgRelationship allows relationships whose domains all match Domain
// (a glob), with free/busy access up to MaxFreeBusy when set.
type AllowedOrgRelationship struct {
	Domain      string    `koanf:"domain"`
	MaxFreeBusy *FreeBusy `koanf:"max_free_busy"`
}

// Guests holds guest hygiene expectations.
type Guests struct {
	StaleAfterDays          *int  `koanf:"stale_after_days"`
	PendingMaxDays          *int  `koanf:"pending_max_days"`
	SponsorRequired         *bool `koanf:"sponsor_required"`
	AllowFromBlockedDomains *bool `koanf:"allow_from_blocked_domains"`
	// AllowOrphaned false makes guests with neither a sponsor nor any group
	// membership a finding.
	AllowOrphaned *bool `koanf:"allow_orphaned"`
}

// Exception accepts a specific actual value for objects matching a pattern
// under one rule, until it expires. A result whose actual value differs from
// Accepted still fails.
type Exception struct {
	ID   string `koanf:"id"`
	Rule string `koanf:"rule"`
	// Object is a glob over the object's key or display name; Name is an
	// exact key or display name (no wildcards). One of the two is set.
	Object   string `koanf:"object"`
	Name     string `koanf:"name"`
	Accepted string `koanf:"accepted"`
	Reason   string `koanf:"reason"`
	Owner    string `koanf:"owner"`
	// Expires is a date (YYYY-MM-DD, valid through that day, UTC) or an
	// RFC 3339 time.
	Expires string `koanf:"expires"`
	// ExpiresAt is Expires parsed; the exception lapses at this instant.
	ExpiresAt time.Time `koanf:"-"`
}

// Matches reports whether the exception covers an object of rule ruleID
// with the given key or display name: exactly (Name), or by a
// case-insensitive glob (Object).
func (e *Exception) Matches(ruleID, key, name string) bool {
	if e.Rule != ruleID {
		return false
	}
	if e.Name != "" {
		return e.Name == key || (name != "" && e.Name == name)
	}
	return Glob(e.Object, key) || (name != "" && Glob(e.Object, name))
}

// WithExceptions returns a copy of b with extra exceptions after its own
// (b itself is shared and left as it is).
func (b *Baseline) WithExceptions(extra ...Exception) *Baseline {
	if len(extra) == 0 {
		return b
	}
	c := *b
	c.Exceptions = append(append(make([]Exception, 0, len(b.Exceptions)+len(extra)), b.Exceptions...), extra...)
	return &c
}

// Lapsed reports whether the exception has expired at t.
func (e *Exception) Lapsed(t time.Time) bool { return !t.Before(e.ExpiresAt) }

// SharingLevel is a baseline sharing level on the ordered scale
// disabled < existing_guests < new_and_existing_guests < anyone.
type SharingLevel string

// Sharing levels.
const (
	LevelDisabled             SharingLevel = "disabled"
	LevelExistingGuests       SharingLevel = "existing_guests"
	LevelNewAndExistingGuests SharingLevel = "new_and_existing_guests"
	LevelAnyone               SharingLevel = "anyone"
)

// Tenant maps the level to the snapshot's value ("" when not a level).
func (l SharingLevel) Tenant() tenant.SharingLevel {
	v, _ := tenant.SharingLevels.FromBaseline(string(l))
	return v
}

// Rank is the level's position on the scale, comparable with tenant ranks.
func (l SharingLevel) Rank() (int, bool) { return l.Tenant().Rank() }

// DomainMode is a required domain restriction mode.
type DomainMode string

// Domain restriction modes.
const (
	ModeNone      DomainMode = "none"
	ModeAllowList DomainMode = "allow_list"
	ModeBlockList DomainMode = "block_list"
)

// Tenant maps the mode to the snapshot's value ("" when not a mode).
func (m DomainMode) Tenant() tenant.DomainMode {
	v, _ := tenant.DomainModes.FromBaseline(string(m))
	return v
}

// Rank is comparable with tenant.DomainMode ranks.
func (m DomainMode) Rank() (int, bool) { return m.Tenant().Rank() }

// LinkScope is a default sharing link type on the scale
// specific_people < organization < anyone.
type LinkScope string

// Default link scopes.
const (
	ScopeSpecificPeople LinkScope = "specific_people"
	ScopeOrganization   LinkScope = "organization"
	ScopeAnyone         LinkScope = "anyone"
)

// Tenant maps the scope to the snapshot's value ("" when not a scope).
func (s LinkScope) Tenant() tenant.LinkScope {
	v, _ := tenant.LinkScopes.FromBaseline(string(s))
	return v
}

// Rank is comparable with tenant.LinkScope ranks.
func (s LinkScope) Rank() (int, bool) { return s.Tenant().Rank() }

// LinkPermission is a link permission on the scale view < edit.
type LinkPermission string

// Link permissions.
const (
	PermView LinkPermission = "view"
	PermEdit LinkPermission = "edit"
)

// Tenant maps the permission to the snapshot's value ("" when not one).
func (p LinkPermission) Tenant() tenant.LinkType {
	v, _ := tenant.LinkTypes.FromBaseline(string(p))
	return v
}

// Rank is comparable with tenant.LinkType ranks.
func (p LinkPermission) Rank() (int, bool) { return p.Tenant().Rank() }

// InviteFrom is who may invite guests, on the scale
// none < admins_and_guest_inviters < admins_guest_inviters_and_members < everyone.
type InviteFrom string

// Invitation permission levels.
const (
	InviteNone                   InviteFrom = "none"
	InviteAdminsAndGuestInviters InviteFrom = "admins_and_guest_inviters"
	InviteAdminsInvitersMembers  InviteFrom = "admins_guest_inviters_and_members"
	InviteEveryone               InviteFrom = "everyone"
)

// Tenant maps the level to the snapshot's value ("" when not a level).
func (v InviteFrom) Tenant() tenant.InviteFrom {
	t, _ := tenant.InviteFroms.FromBaseline(string(v))
	return t
}

// Rank is comparable with tenant.InviteFrom ranks.
func (v InviteFrom) Rank() (int, bool) { return v.Tenant().Rank() }

// GuestAccess is a guest directory access level: restricted < limited < member.
type GuestAccess string

// Guest directory access levels.
const (
	AccessRestricted GuestAccess = "restricted"
	AccessLimited    GuestAccess = "limited"
	AccessMember     GuestAccess = "member"
)

// Tenant maps the level to the snapshot's value ("" when not a level).
func (g GuestAccess) Tenant() tenant.GuestAccess {
	t, _ := tenant.GuestAccesses.FromBaseline(string(g))
	return t
}

// Rank is comparable with tenant.GuestAccess ranks.
func (g GuestAccess) Rank() (int, bool) { return g.Tenant().Rank() }

// CalendarDetail is calendar detail shared with other domains:
// none < free_busy_simple < free_busy_detail < reviewer.
type CalendarDetail string

// Calendar detail levels.
const (
	DetailNone     CalendarDetail = "none"
	DetailSimple   CalendarDetail = "free_busy_simple"
	DetailDetail   CalendarDetail = "free_busy_detail"
	DetailReviewer CalendarDetail = "reviewer"
)

// Tenant maps the level to the Exchange action ("none" has none: the
// entry is left out).
func (c CalendarDetail) Tenant() tenant.CalendarAction {
	t, _ := tenant.CalendarActions.FromBaseline(string(c))
	return t
}

// Rank is comparable with tenant.CalendarDetailRank.
func (c CalendarDetail) Rank() (int, bool) { return tenant.CalendarActions.Rank(c.Tenant()) }

// FreeBusy is an organization relationship free/busy level:
// none < availability_only < limited_details.
type FreeBusy string

// Free/busy levels.
const (
	FreeBusyNone             FreeBusy = "none"
	FreeBusyAvailabilityOnly FreeBusy = "availability_only"
	FreeBusyLimitedDetails   FreeBusy = "limited_details"
)

// Tenant maps the level to Exchange's FreeBusyAccessLevel.
func (f FreeBusy) Tenant() tenant.FreeBusyLevel {
	t, _ := tenant.FreeBusyLevels.FromBaseline(string(f))
	return t
}

// Rank is comparable with tenant.FreeBusyRank.
func (f FreeBusy) Rank() (int, bool) { return tenant.FreeBusyLevels.Rank(f.Tenant()) }
