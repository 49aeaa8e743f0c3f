package tenant

import (
	"slices"
	"strings"
	"time"
)

// SchemaV1 is the schema tag of the current snapshot JSON encoding.
const SchemaV1 = "sharedrift.snapshot/v1"

// Section names one of the nine parts of a snapshot.
type Section string

// The nine sections of a snapshot.
const (
	SectionSharePoint Section = "sharepoint"
	SectionSites      Section = "sites"
	SectionLinks      Section = "links"
	SectionGuests     Section = "guests"
	SectionEntra      Section = "entra"
	SectionGroups     Section = "groups"
	SectionExchange   Section = "exchange"
	SectionTeams      Section = "teams"
	SectionPowerBI    Section = "powerbi"
)

// AllSections lists the sections in their canonical order.
var AllSections = []Section{SectionSharePoint, SectionSites, SectionLinks, SectionGuests, SectionEntra, SectionGroups, SectionExchange, SectionTeams, SectionPowerBI}

// Known reports whether s is one of AllSections.
func (s Section) Known() bool { return slices.Contains(AllSections, s) }

// State is how completely a section was collected.
type State string

// Section states. Anything but StateComplete makes rules over the section
// report unknown and stops removals, resolutions and remediation.
const (
	StateComplete State = "complete"
	StatePartial  State = "partial"
	StateFailed   State = "failed"
)

// SectionStatus records how a section's collection went.
type SectionStatus struct {
	State State  `json:"state"`
	Error string `json:"error,omitempty"`
	// Calls, Retries, Throttled and RU are optional API statistics for the
	// section: requests sent (retries included), requests repeated after a
	// transient failure, responses that were 429 or 503 throttling, and
	// SharePoint resource units spent.
	Calls     int   `json:"calls,omitempty"`
	Retries   int   `json:"retries,omitempty"`
	Throttled int   `json:"throttled,omitempty"`
	RU        int64 `json:"ru,omitempty"`
	// Discovery says how the links section found each site's links.
	Discovery *LinkDiscovery `json:"discovery,omitempty"`
	// Scope, when set, says the section holds only the objects whose keys
	// start with one of these prefixes (a links section read for some
	// drives: DriveKeyPrefix), not the whole tenant's: recording it touches
	// the stored objects and findings within the scope alone. Empty means
	// the whole section.
	Scope []string `json:"scope,omitempty"`
}

// Scoped reports whether the section holds only part of the tenant's
// objects (see Scope).
func (st SectionStatus) Scoped() bool { return len(st.Scope) > 0 }

// InScope reports whether an object key lies within the section's scope;
// every key does when the section is not scoped.
func (st SectionStatus) InScope(key string) bool {
	if len(st.Scope) == 0 {
		return true
	}
	for _, p := range st.Scope {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// DriveKeyPrefix is the key prefix of one drive's links (see Link.Key), and
// false when the drive id cannot give an unambiguous prefix: empty, or
// holding the '/' that ends the prefix, so that another drive's keys
// could start with it.
func DriveKeyPrefix(driveID string) (string, bool) {
	if driveID == "" || strings.Contains(driveID, "/") {
		return "", false
	}
	return "link:" + driveID + "/", true
}

// SiteKeyPrefix is the key prefix of one site (see Site.Key), and false
// when the site id cannot give an unambiguous one: only a site collection
// GUID (8-4-4-4-12 hex digits, lower case, as the collector stores it) has
// a fixed length, so that no other site's key starts with it.
func SiteKeyPrefix(siteID string) (string, bool) {
	if len(siteID) != 36 {
		return "", false
	}
	for i, c := range siteID {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		default:
			return "", false
		}
	}
	return "site:" + siteID, true
}

// SetScope records that the snapshot's section sec holds only the objects
// within prefixes (see SectionStatus.Scope). Sources call it while they
// collect; the scanner carries it into the section's status.
func (s *Snapshot) SetScope(sec Section, prefixes []string) {
	if s.Status == nil {
		s.Status = map[Section]SectionStatus{}
	}
	st := s.Status[sec]
	st.Scope = slices.Clone(prefixes)
	slices.Sort(st.Scope)
	s.Status[sec] = st
}

// LinkDiscovery says which method found each site's links: every site not
// listed under ItemSites or counted in DeltaSites used its sharing-link
// groups.
type LinkDiscovery struct {
	// Method is the configured method: "groups" or "items".
	Method string `json:"method"`
	// GroupSites counts sites read through their sharing-link groups.
	GroupSites int `json:"groupSites"`
	// ItemSites are the sites whose shared items' permissions were all
	// read, with why (the method, the groups' or the site users'
	// failure, or site users who may be outside the organization).
	ItemSites []SiteMethod `json:"itemSites,omitempty"`
	// OutsiderSites counts those of ItemSites read item by item because
	// some of their users may be outside the organization: a direct grant
	// to them shows in item permissions only.
	OutsiderSites int `json:"outsiderSites,omitempty"`
	// DeltaSites counts sites read from their stored delta only (their
	// changed items' permissions read one by one).
	DeltaSites int `json:"deltaSites"`
	// RollingFullDrives counts drives read in full because their turn in
	// the rolling full re-read came (none on a first or whole read).
	RollingFullDrives int `json:"rollingFullDrives,omitempty"`
	// VerifiedDrives counts those whose full read was not deep; their
	// Anyone links that the groups confirmed kept their stored detail
	// (KeptAnyoneLinks).
	VerifiedDrives  int `json:"verifiedDrives,omitempty"`
	KeptAnyoneLinks int `json:"keptAnyoneLinks,omitempty"`
	// GrantSites counts sites read through their groups whose users were
	// not read while stored links hold direct grants to people outside;
	// the GrantItems holding those grants had their permissions read.
	GrantSites int `json:"grantSites,omitempty"`
	GrantItems int `json:"grantItems,omitempty"`
}

// SiteMethod is one site read item by item, and why.
type SiteMethod struct {
	Site   string `json:"site"`
	Reason string `json:"reason"`
}

// Snapshot is a tenant's sharing state at one point in time.
type Snapshot struct {
	Schema      string    `json:"schema"`
	Tenant      string    `json:"tenant"`
	TenantID    string    `json:"tenantId,omitempty"`
	CollectedAt time.Time `json:"collectedAt"`
	// Status has one entry per collected section; a missing entry means the
	// section was not collected at all.
	Status map[Section]SectionStatus `json:"status"`

	SharePoint *SharePointSettings `json:"sharepoint,omitempty"`
	Sites      []Site              `json:"sites,omitempty"`
	Links      []Link              `json:"links,omitempty"`
	Guests     []Guest             `json:"guests,omitempty"`
	Entra      *EntraSettings      `json:"entra,omitempty"`
	Groups     *GroupsSettings     `json:"groups,omitempty"`
	Exchange   *ExchangeSettings   `json:"exchange,omitempty"`
	Teams      *TeamsSettings      `json:"teams,omitempty"`
	PowerBI    *PowerBISettings    `json:"powerbi,omitempty"`

	// spool holds the links of a tenant too large for Links; see EachLink.
	spool *LinkSpool
	// omit holds the keys of links EachLink skips (see WithoutLinks).
	omit map[string]bool
}

// Complete reports whether section s was fully collected.
func (s *Snapshot) Complete(sec Section) bool {
	st, ok := s.Status[sec]
	return ok && st.State == StateComplete
}

// SharePointSettings is the tenant-wide SharePoint and OneDrive sharing
// configuration. Pointer fields are nil when the source did not report them.
type SharePointSettings struct {
	SharingCapability         SharingLevel `json:"sharingCapability,omitempty"`
	OneDriveSharingCapability SharingLevel `json:"oneDriveSharingCapability,omitempty"`
	DomainRestrictionMode     DomainMode   `json:"domainRestrictionMode,omitempty"`
	AllowedDomains            []string     `json:"allowedDomains"`
	BlockedDomains            []string     `json:"blockedDomains"`
	DefaultLinkScope          LinkScope    `json:"defaultLinkScope,omitempty"`
	DefaultLinkPermission     LinkType     `json:"defaultLinkPermission,omitempty"`
	// AnyoneLinkExpirationDays is RequireAnonymousLinksExpireInDays; <= 0 means
	// Anyone links need not expire.
	AnyoneLinkExpirationDays *int     `json:"anyoneLinkExpirationDays,omitempty"`
	FileAnyoneLinkType       LinkType `json:"fileAnyoneLinkType,omitempty"`
	FolderAnyoneLinkType     LinkType `json:"folderAnyoneLinkType,omitempty"`
	ResharingByGuests        *bool    `json:"resharingByGuests,omitempty"`
	RequireAccountMatch      *bool    `json:"requireAcceptingAccountMatch,omitempty"`
	GuestExpirationRequired  *bool    `json:"guestExpirationRequired,omitempty"`
	GuestExpirationDays      *int     `json:"guestExpirationDays,omitempty"`
	EmailAttestationRequired *bool    `json:"emailAttestationRequired,omitempty"`
	EmailAttestationDays     *int     `json:"emailAttestationReAuthDays,omitempty"`
}

// Key is the stable identity of the tenant settings object.
func (*SharePointSettings) Key() string { return "sharepoint:tenant" }

// Site is one site collection (including OneDrive personal sites).
type Site struct {
	// ID is the site collection GUID (the middle part of a Graph site id).
	ID                    string       `json:"id"`
	URL                   string       `json:"url"`
	Title                 string       `json:"title,omitempty"`
	Template              string       `json:"template,omitempty"`
	GroupID               string       `json:"groupId,omitempty"`
	Personal              bool         `json:"personal,omitempty"`
	SharingCapability     SharingLevel `json:"sharingCapability,omitempty"`
	DomainRestrictionMode DomainMode   `json:"domainRestrictionMode,omitempty"`
	AllowedDomains        []string     `json:"allowedDomains,omitempty"`
	BlockedDomains        []string     `json:"blockedDomains,omitempty"`
	SensitivityLabelID    string       `json:"sensitivityLabelId,omitempty"`
	SensitivityLabel      string       `json:"sensitivityLabel,omitempty"`
	LockState             string       `json:"lockState,omitempty"`
}

// Key is the site's stable identity.
func (s *Site) Key() string { return "site:" + s.ID }

// Link is one sharing permission on a file or folder: a sharing link, or
// (Direct) a grant to people made by invitation, which has no link.
type Link struct {
	DriveID      string    `json:"driveId"`
	ItemID       string    `json:"itemId"`
	PermissionID string    `json:"permissionId"`
	SiteID       string    `json:"siteId,omitempty"`
	SiteURL      string    `json:"siteUrl,omitempty"`
	Library      string    `json:"library,omitempty"`
	ItemPath     string    `json:"itemPath,omitempty"`
	Folder       bool      `json:"folder,omitempty"`
	Scope        LinkScope `json:"scope,omitempty"`
	Type         LinkType  `json:"type,omitempty"`
	Roles        []string  `json:"roles,omitempty"`
	// Expires is nil when the link never expires.
	Expires          *time.Time `json:"expires,omitempty"`
	HasPassword      *bool      `json:"hasPassword,omitempty"`
	PreventsDownload *bool      `json:"preventsDownload,omitempty"`
	GrantedTo        []string   `json:"grantedTo,omitempty"`
	// RecipientDomains are the e-mail domains of the people the link was
	// given to, sorted, lower case.
	RecipientDomains []string `json:"recipientDomains,omitempty"`
	// ExternalRecipients are the people of GrantedTo outside the tenant:
	// guests, people without an account in the directory, and recipients
	// the collector could not place (never counted as inside).
	ExternalRecipients []string `json:"externalRecipients,omitempty"`
	WebURL             string   `json:"webUrl,omitempty"`
	// Direct marks a grant made by invitation, not through a link: its
	// scope is "users", its type follows its roles, and it has no URL,
	// expiry or password.
	Direct bool `json:"direct,omitempty"`
}

// Key is the link's stable identity.
func (l *Link) Key() string { return "link:" + l.DriveID + "/" + l.ItemID + "/" + l.PermissionID }

// Ref names a directory object (user, group, service principal).
type Ref struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Type        string `json:"type,omitempty"`
}

// Guest is an external (userType Guest) user.
type Guest struct {
	ID             string     `json:"id"`
	UPN            string     `json:"userPrincipalName,omitempty"`
	Mail           string     `json:"mail,omitempty"`
	DisplayName    string     `json:"displayName,omitempty"`
	Domain         string     `json:"domain,omitempty"`
	State          GuestState `json:"state,omitempty"`
	StateChangedAt *time.Time `json:"stateChangedAt,omitempty"`
	CreatedAt      *time.Time `json:"createdAt,omitempty"`
	AccountEnabled *bool      `json:"accountEnabled,omitempty"`
	// SignIn is nil when sign-in activity was not collected (no licence or
	// permission); SignIn.Last is nil when the guest never signed in.
	SignIn *SignIn `json:"signIn,omitempty"`
	// Sponsors and MemberOf are null when not collected and [] when empty.
	Sponsors []Ref `json:"sponsors"`
	MemberOf []Ref `json:"memberOf"`
}

// SignIn is a guest's sign-in activity.
type SignIn struct {
	Last           *time.Time `json:"last,omitempty"`
	LastSuccessful *time.Time `json:"lastSuccessful,omitempty"`
}

// Key is the guest's stable identity.
func (g *Guest) Key() string { return "guest:" + g.ID }

// EntraSettings is the Entra ID B2B configuration.
type EntraSettings struct {
	AllowInvitesFrom InviteFrom `json:"allowInvitesFrom,omitempty"`
	GuestUserRoleID  string     `json:"guestUserRoleId,omitempty"`
	// Invitations is the B2B guest-invitation domain list; nil when not
	// collected, Mode "none" when no list is configured.
	Invitations        *DomainList         `json:"invitations,omitempty"`
	CrossTenantDefault *CrossTenantDefault `json:"crossTenantDefault,omitempty"`
	// CrossTenantPartners are the partner-specific cross-tenant access
	// settings; null when not collected, [] when the tenant has none.
	CrossTenantPartners []CrossTenantPartner `json:"crossTenantPartners"`
	// NotInCloud names the settings the tenant's cloud does not offer
	// (e.g. "invitations" outside the global cloud): they stay nil and
	// rules over them are unknown, saying why.
	NotInCloud []string `json:"notInCloud,omitempty"`
}

// GuestAccess derives the guest directory access level.
func (e *EntraSettings) GuestAccess() GuestAccess { return GuestAccessFromRole(e.GuestUserRoleID) }

// DomainList is a domain allow or block list.
type DomainList struct {
	Mode    DomainMode `json:"mode"`
	Allowed []string   `json:"allowed"`
	Blocked []string   `json:"blocked"`
}

// CrossTenantDefault summarises the default cross-tenant access policy.
// Access values are "allowed", "blocked" or whatever the service returns.
type CrossTenantDefault struct {
	B2BCollaborationInbound  string `json:"b2bCollaborationInbound,omitempty"`
	B2BCollaborationOutbound string `json:"b2bCollaborationOutbound,omitempty"`
	B2BDirectConnectInbound  string `json:"b2bDirectConnectInbound,omitempty"`
	B2BDirectConnectOutbound string `json:"b2bDirectConnectOutbound,omitempty"`
	InboundTrustMFA          *bool  `json:"inboundTrustMfa,omitempty"`
}

// CrossTenantPartner is the cross-tenant access configuration for one
// partner tenant. An empty access value means the partner inherits the
// default for that direction (Graph sends null); InboundTrustMFA is nil
// when the partner inherits the default inbound trust.
type CrossTenantPartner struct {
	TenantID                 string `json:"tenantId"`
	B2BCollaborationInbound  string `json:"b2bCollaborationInbound,omitempty"`
	B2BCollaborationOutbound string `json:"b2bCollaborationOutbound,omitempty"`
	B2BDirectConnectInbound  string `json:"b2bDirectConnectInbound,omitempty"`
	B2BDirectConnectOutbound string `json:"b2bDirectConnectOutbound,omitempty"`
	InboundTrustMFA          *bool  `json:"inboundTrustMfa,omitempty"`
}

// Key is the partner configuration's stable identity: the partner's
// tenant id, so an added or removed partner is an added or removed object.
func (p *CrossTenantPartner) Key() string {
	return KeyCrossTenantPartnerPrefix + strings.ToLower(p.TenantID)
}

// Access values of cross-tenant access settings.
const (
	AccessAllowed = "allowed"
	AccessBlocked = "blocked"
)

// Effective returns the partner's access value for one direction given
// the default's: the partner's own value, or the default's when the
// partner inherits it.
func Effective(partner, def string) string {
	if partner == "" {
		return def
	}
	return partner
}

// GroupsSettings is the Microsoft 365 Groups guest configuration.
type GroupsSettings struct {
	// Configured is false when the tenant has no Group.Unified settings
	// object, in which case Microsoft's template defaults apply.
	Configured                bool    `json:"configured"`
	AllowToAddGuests          *bool   `json:"allowToAddGuests,omitempty"`
	AllowGuestsToAccessGroups *bool   `json:"allowGuestsToAccessGroups,omitempty"`
	AllowGuestsToBeGroupOwner *bool   `json:"allowGuestsToBeGroupOwner,omitempty"`
	Groups                    []Group `json:"groups,omitempty"`
}

// Key is the tenant groups settings' stable identity.
func (*GroupsSettings) Key() string { return "groups:tenant" }

// Group is one Microsoft 365 group with its guest override and labels.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Mail        string `json:"mail,omitempty"`
	Visibility  string `json:"visibility,omitempty"`
	// AllowToAddGuests is the per-group Group.Unified.Guest override; nil
	// when the group has none.
	AllowToAddGuests *bool   `json:"allowToAddGuests,omitempty"`
	Labels           []Label `json:"labels,omitempty"`
}

// Key is the group's stable identity.
func (g *Group) Key() string { return "group:" + g.ID }

// Label is a sensitivity label assignment.
type Label struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
}

// ExchangeSettings holds calendar sharing, organization relationships and
// remote domains.
type ExchangeSettings struct {
	SharingPolicies           []SharingPolicy   `json:"sharingPolicies"`
	OrganizationRelationships []OrgRelationship `json:"organizationRelationships"`
	// RemoteDomains is null when not collected.
	RemoteDomains []RemoteDomain `json:"remoteDomains"`
}

// RemoteDomain is an Exchange remote domain: what mail to the domain may
// carry. DomainName "*" is the Default remote domain, which covers every
// domain without one of its own. Pointer fields are nil when not reported.
type RemoteDomain struct {
	Name       string `json:"name"`
	DomainName string `json:"domainName"`
	// AutoForwardEnabled lets messages auto-forwarded by mail clients
	// (inbox rules, forwarding set in Outlook) leave for the domain.
	AutoForwardEnabled *bool `json:"autoForwardEnabled,omitempty"`
	AutoReplyEnabled   *bool `json:"autoReplyEnabled,omitempty"`
	// IsInternal treats the domain's recipients as internal.
	IsInternal *bool `json:"isInternal,omitempty"`
}

// Key is the remote domain's stable identity: its domain name, so that the
// list drifts by domain whatever the object is called.
func (d *RemoteDomain) Key() string { return "remotedomain:" + strings.ToLower(d.DomainName) }

// SharingPolicy is an Exchange sharing policy.
type SharingPolicy struct {
	Name    string          `json:"name"`
	Enabled *bool           `json:"enabled,omitempty"`
	Default bool            `json:"default,omitempty"`
	Domains []SharingDomain `json:"domains"`
}

// Key is the sharing policy's stable identity.
func (p *SharingPolicy) Key() string { return "sharingpolicy:" + p.Name }

// SharingDomain is one parsed "<domain>:<action>[,<action>]" entry; Domain is
// a domain name, "*" or "Anonymous".
type SharingDomain struct {
	Domain  string   `json:"domain"`
	Actions []string `json:"actions"`
}

// OrgRelationship is an Exchange organization relationship.
type OrgRelationship struct {
	Name                  string   `json:"name"`
	DomainNames           []string `json:"domainNames"`
	Enabled               *bool    `json:"enabled,omitempty"`
	FreeBusyAccessEnabled *bool    `json:"freeBusyAccessEnabled,omitempty"`
	FreeBusyAccessLevel   string   `json:"freeBusyAccessLevel,omitempty"`
	FreeBusyAccessScope   string   `json:"freeBusyAccessScope,omitempty"`
	MailTipsAccessEnabled *bool    `json:"mailTipsAccessEnabled,omitempty"`
	MailTipsAccessLevel   string   `json:"mailTipsAccessLevel,omitempty"`
}

// Key is the organization relationship's stable identity.
func (o *OrgRelationship) Key() string { return "orgrel:" + o.Name }

// Singleton keys for settings objects that have no Key method of their own.
const (
	KeyEntraAuthorization = "entra:authorizationPolicy"
	KeyEntraInvitations   = "entra:b2bInvitations"
	KeyEntraCrossTenant   = "entra:crossTenantDefault"
	// KeyCrossTenantPartnerPrefix starts the key of a partner's cross-tenant
	// access configuration; the partner's tenant id follows.
	KeyCrossTenantPartnerPrefix = "entra:crossTenantPartner:"
)

// TeamsSettings is the tenant's Teams external access, guest access and
// anonymous meeting join. Pointer fields are nil when the service did not
// report them.
type TeamsSettings struct {
	// NotApplicable, when set, says why the tenant has no Teams settings
	// (Teams is not licensed); every other field is then empty and rules
	// over the section are not applicable.
	NotApplicable string `json:"notApplicable,omitempty"`
	// AllowFederatedUsers lets users talk to people in other organizations
	// (external access); AllowedDomains empty then means every domain not
	// in BlockedDomains.
	AllowFederatedUsers *bool    `json:"allowFederatedUsers,omitempty"`
	AllowedDomains      []string `json:"allowedDomains"`
	BlockedDomains      []string `json:"blockedDomains"`
	// AllowTeamsConsumer lets users talk to Teams accounts no organization
	// manages; AllowTeamsConsumerInbound lets those accounts start the
	// conversation.
	AllowTeamsConsumer        *bool `json:"allowTeamsConsumer,omitempty"`
	AllowTeamsConsumerInbound *bool `json:"allowTeamsConsumerInbound,omitempty"`
	// AllowPublicUsers lets users talk to Skype (consumer) users.
	AllowPublicUsers *bool `json:"allowPublicUsers,omitempty"`
	// AllowGuestUser turns guest access to Teams on.
	AllowGuestUser *bool `json:"allowGuestUser,omitempty"`
	// AllowAnonymousUsersToJoinMeeting is the Global meeting policy's
	// setting.
	AllowAnonymousUsersToJoinMeeting *bool `json:"allowAnonymousUsersToJoinMeeting,omitempty"`
}

// Key is the stable identity of the Teams settings object.
func (*TeamsSettings) Key() string { return "teams:tenant" }

// PowerBISettings holds the Power BI (Fabric) tenant settings that open
// content to people outside the organization. A nil setting was not
// reported by the tenant.
type PowerBISettings struct {
	// NotApplicable, when set, says why the tenant has no Power BI tenant
	// settings (Power BI is not licensed); the settings are then nil.
	NotApplicable string `json:"notApplicable,omitempty"`
	// PublishToWeb lets users publish reports to the public web.
	PublishToWeb *PowerBISetting `json:"publishToWeb,omitempty"`
	// GuestAccess lets Entra guest users access Power BI content.
	GuestAccess *PowerBISetting `json:"guestAccess,omitempty"`
	// ExternalSharing lets users invite external users through item
	// sharing and permissions.
	ExternalSharing *PowerBISetting `json:"externalSharing,omitempty"`
}

// Key is the stable identity of the Power BI settings object.
func (*PowerBISettings) Key() string { return "powerbi:tenant" }

// PowerBISetting is one tenant setting: on or off, and when on, whether for
// the whole organization or only for members of some security groups.
type PowerBISetting struct {
	Name    string `json:"name"`
	Enabled *bool  `json:"enabled,omitempty"`
	// SecurityGroups are the Entra object ids of the groups the setting
	// is enabled for; empty means the whole organization.
	SecurityGroups []string `json:"securityGroups"`
}
