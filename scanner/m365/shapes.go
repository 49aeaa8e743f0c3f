package m365

// This file is the one place for response shapes and value mappings that
// Microsoft does not document, or documents inconsistently. Each entry says
// what is assumed; a recording from a real tenant that disagrees should be
// fixed here (and in the fixture tenants), nowhere else. Host names are the
// exception: they stay in cloud.go's table, which marks the unconfirmed
// ones (DoD's SharePoint suffix and Exchange host).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// unwrapSharePointSettings accepts GET /admin/sharepoint/settings both bare
// (as the PATCH sample shows) and wrapped in "value" (as the GET sample
// shows). Unconfirmed which one the service sends. A "value" that is not
// an object is an error, never a bare object without settings.
func unwrapSharePointSettings(endpoint string, body []byte) ([]byte, error) {
	var r reader
	r.item(endpoint, spSettingsWrapper, body, 0)
	if err := r.err(); err != nil {
		return nil, shapeError(err)
	}
	if v := r.raw(spSettingsValue.fieldRef); v != nil {
		return v, nil
	}
	return body, nil
}

var (
	spSettingsWrapper = newSchema("")
	spSettingsValue   = spSettingsWrapper.object("value", nil) // read raw, as the settings item
)

// CSOM integer enums: the integers live in the model's vocabulary
// (tenant.SharingLevels and the others); these names say which table each
// CSOM property uses. Values outside a table are carried as their decimal
// text so they stay visible as unrecognised.
var (
	csomSharingCapability = tenant.SharingLevels
	csomDomainMode        = tenant.DomainModes
	// DefaultSharingLinkType: 0 None, 1 Direct (specific people),
	// 2 Internal (organization), 3 AnonymousAccess (anyone).
	csomDefaultLinkScope = tenant.LinkScopes
	// DefaultLinkPermission and File/FolderAnonymousLinkType: 0 None, 1 View, 2 Edit.
	csomLinkPermission = tenant.LinkTypes
)

func csomEnum[T ~string](vo *tenant.Vocab[T], v *int64) T {
	if v == nil {
		return ""
	}
	return vo.FromCode(*v)
}

// csomDomainList splits a CSOM domain list. pnpjs documents it as a
// space-separated string; commas and semicolons are accepted too.
// Unconfirmed for very long lists.
func csomDomainList(s *string) []string {
	if s == nil {
		return nil
	}
	f := strings.FieldsFunc(*s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\n' })
	out := make([]string, 0, len(f))
	for _, d := range f {
		out = append(out, strings.ToLower(d))
	}
	return out
}

// csomGUID reads a CSOM Guid, serialized as "/Guid(…)/"; the empty GUID
// means none.
func csomGUID(s *string) string {
	if s == nil {
		return ""
	}
	v := strings.TrimSpace(*s)
	v = strings.TrimPrefix(v, "/Guid(")
	v = strings.TrimSuffix(v, ")/")
	if v == "00000000-0000-0000-0000-000000000000" {
		return ""
	}
	return strings.ToLower(v)
}

// The NextStartIndexFromSharePoint of a GetSitePropertiesFromSharePoint
// answer is assumed to stay a valid start index in a later request, from
// another scan hours later: the window of SourceOptions.SitePropertiesPages
// keeps it between scans. Unconfirmed: Microsoft documents neither its form
// nor its lifetime. The collector keeps it opaque (it only compares two
// for equality), and when the service refuses it the window starts over
// from the first page (propertiesWindow).

// csomSitesIncludeDetail asks GetSitePropertiesFromSharePoint for detail;
// whether sharing capability needs it is unconfirmed, so ask.
const csomSitesIncludeDetail = true

// b2bDefinition is the decoded definition[0] of a b2bManagementPolicy. The
// key names come from tools that read the legacy policy; Microsoft
// documents only {'B2BManagementPolicy':{'Version':1}}.
type b2bDefinition struct {
	Policy *struct {
		Invitations *struct {
			AllowedDomains *[]string `json:"AllowedDomains"`
			BlockedDomains *[]string `json:"BlockedDomains"`
		} `json:"InvitationsAllowedAndBlockedDomainsPolicy"`
	} `json:"B2BManagementPolicy"`
}

// decodeB2BDefinition parses a definition string. Microsoft's sample uses
// single quotes, which is not JSON; such strings are retried with the quotes
// swapped.
func decodeB2BDefinition(s string) (*b2bDefinition, error) {
	var d b2bDefinition
	err := json.Unmarshal([]byte(s), &d)
	if err != nil && strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		err = json.Unmarshal([]byte(strings.ReplaceAll(s, "'", `"`)), &d)
	}
	if err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	return &d, nil
}

// invitationsFromDefinition maps the definition to a domain list:
// AllowedDomains present means allow-list mode, BlockedDomains present means
// block-list mode, neither means no restriction. Unconfirmed semantics.
func invitationsFromDefinition(d *b2bDefinition) *tenant.DomainList {
	l := &tenant.DomainList{Mode: tenant.DomainModeNone, Allowed: []string{}, Blocked: []string{}}
	if d == nil || d.Policy == nil || d.Policy.Invitations == nil {
		return l
	}
	inv := d.Policy.Invitations
	if inv.AllowedDomains != nil {
		l.Mode = tenant.DomainModeAllowList
		l.Allowed = lowerAll(*inv.AllowedDomains)
	}
	if inv.BlockedDomains != nil {
		if l.Mode == tenant.DomainModeNone {
			l.Mode = tenant.DomainModeBlockList
		}
		l.Blocked = lowerAll(*inv.BlockedDomains)
	}
	return l
}

// looseBool reads a boolean that may arrive as true/false or as a string
// ("True"): the Exchange admin API's serialization is undocumented, and
// the documented b2bManagementPolicy sample sends isOrganizationDefault as
// "true". Any other string is an error.
func (r *reader) looseBool(f looseBoolField) *bool {
	v := r.raw(f.fieldRef)
	if v == nil {
		return nil
	}
	if v[0] != '"' {
		b := v[0] == 't'
		return &b
	}
	s, _ := decodeString(v)
	b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		r.fail(r.name(f.fieldRef), -1, `boolean or "True"/"False"`, quoteShort(v))
		return nil
	}
	return &b
}

// enumName reads an Exchange enum: its name, or its number mapped through
// names (the Exchange admin API's enum serialization is unconfirmed: names
// such as "LimitedDetails" are assumed, integers accepted); a number names
// does not know is carried as its decimal text, so it stays visible as
// unknown.
func (r *reader) enumName(f enumField, names func(int64) string) string {
	v := r.raw(f.fieldRef)
	switch {
	case v == nil:
		return ""
	case v[0] == '"':
		s, ok := decodeString(v)
		if !ok {
			r.fail(r.name(f.fieldRef), -1, "string or number", "an invalid string")
		}
		return s
	}
	n, ok := parseInt(v)
	if !ok {
		r.fail(r.name(f.fieldRef), -1, "an integer", string(v))
		return ""
	}
	if names != nil {
		return names(n)
	}
	return strconv.FormatInt(n, 10)
}

// stringList reads a multi-valued Exchange property: an array of strings
// or a single string; empty strings are dropped.
func (r *reader) stringList(f stringListField) []string {
	v := r.raw(f.fieldRef)
	if v == nil {
		return nil
	}
	var out []string
	if v[0] == '"' {
		out = []string{r.str(strField(f))}
	} else {
		out = r.stringArray(r.name(f.fieldRef), v)
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// namedStr reads an identity-valued Exchange property (a group in
// FreeBusyAccessScope): a string, or an object with a Name or
// DistinguishedName, as identities sometimes arrive. An object with
// neither is an error.
func (r *reader) namedStr(f namedField) string {
	v := r.raw(f.fieldRef)
	switch {
	case v == nil:
		return ""
	case v[0] == '"':
		return r.str(strField(f))
	}
	var sub reader
	sub.object(r, r.name(f.fieldRef), -1, exchangeIdentitySchema, v)
	if s := sub.str(exchangeIdentityName); s != "" {
		return s
	}
	if s := sub.str(exchangeIdentityDN); s != "" {
		return s
	}
	r.fail(r.name(f.fieldRef), -1, "string or object with Name or DistinguishedName", "object without them")
	return ""
}

var (
	exchangeIdentitySchema = newSchema("")
	exchangeIdentityName   = exchangeIdentitySchema.str("Name")
	exchangeIdentityDN     = exchangeIdentitySchema.str("DistinguishedName")
)

// groupSettingsNotConfigured: an empty /groupSettings collection means the
// tenant never created Group.Unified and Microsoft's defaults apply.

func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, strings.ToLower(strings.TrimSpace(s)))
	}
	return out
}

// Setting the expiry of an existing Anyone link. Microsoft documents that
// Graph's permission update changes only roles
// (https://learn.microsoft.com/graph/api/permission-update). SharePoint's
// REST method ShareLink of a list item takes SP.Sharing.ShareLinkSettings
// whose shareId names an existing tokenized sharing link to retrieve and
// update, and whose expiration sets its expiry ([MS-CSOMSPT], SharePoint's
// $metadata). The collector writes expiries through it and reads them back
// through Graph. Unconfirmed, to be corrected here:
//   - the Graph permission id of a SharePoint sharing link is the link's
//     shareId (real recordings show GUID ids; shareId is an Edm.Guid);
//     a link whose id is not a GUID is not addressed at all;
//   - ShareLink with createLink true and a shareId updates that link in
//     place (same id, same URL) instead of adding a link;
//   - an empty expiration removes the expiry (rollback of a link that
//     never expired depends on it);
//   - linkKind 4 is AnonymousView and 5 AnonymousEdit (SharingLinkKind:
//     Uninitialized, Direct, OrganizationView, OrganizationEdit,
//     AnonymousView, AnonymousEdit, Flexible);
//   - a token for the SharePoint admin host is accepted on the tenant's
//     site hosts ({tenant}.sharepoint.com and {tenant}-my.sharepoint.com).
const (
	shareLinkKindAnonymousView = 4
	shareLinkKindAnonymousEdit = 5
)

// linkShareID is the SharePoint shareId of a link permission, if its id
// can be one.
func linkShareID(permissionID string) (string, bool) {
	if !guidRE.MatchString(permissionID) {
		return "", false
	}
	return strings.ToLower(permissionID), true
}

// shareLinkKind is the SharingLinkKind of an Anyone link of type t.
func shareLinkKind(t tenant.LinkType) (int, bool) {
	switch t {
	case tenant.LinkTypeView:
		return shareLinkKindAnonymousView, true
	case tenant.LinkTypeEdit:
		return shareLinkKindAnonymousEdit, true
	}
	return 0, false
}

// shareLinkExpiration renders an expiry as ShareLinkSettings.expiration
// (ISO 8601, UTC); "" removes the expiry.
func shareLinkExpiration(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// dedupeLinks keeps one link per permission id of a drive. SharePoint
// lists a folder's sharing link again on every item below it that has
// permissions of its own, and never says where it comes from (no
// inheritedFrom, per Microsoft's permission resource and every recording).
// Unconfirmed: that the copies carry the folder's permission id (a link is
// one sharing-link group, whatever item lists it); the recordings hold no
// folder and child pair. The link is kept on the item highest in the tree:
// an ancestor's path, else the shorter path, else the smaller item id.
func dedupeLinks(links []tenant.Link) []tenant.Link {
	best := make(map[string]int, len(links))
	for i := range links {
		k := permKey(&links[i])
		if j, ok := best[k]; !ok || higherLink(&links[i], &links[j]) {
			best[k] = i
		}
	}
	if len(best) == len(links) {
		return links
	}
	out := links[:0:0]
	for i := range links {
		if best[permKey(&links[i])] == i {
			out = append(out, links[i])
		}
	}
	return out
}

// permKey names one permission of a drive: a link by its id, which the
// copies a folder passes down share; a direct grant by its id and item,
// since a grant's id names its grantee and the same person may be granted
// several items (the recorded invitations' ids are the base64 of the
// grantee's claims login).
func permKey(l *tenant.Link) string {
	if l.Direct {
		return l.DriveID + "\x00" + l.PermissionID + "\x00" + l.ItemID
	}
	return l.DriveID + "\x00" + l.PermissionID
}

// higherLink reports whether a sits higher in the drive's tree than b.
func higherLink(a, b *tenant.Link) bool {
	switch {
	case strings.HasPrefix(b.ItemPath, strings.TrimRight(a.ItemPath, "/")+"/"):
		return true
	case strings.HasPrefix(a.ItemPath, strings.TrimRight(b.ItemPath, "/")+"/"):
		return false
	case len(a.ItemPath) != len(b.ItemPath):
		return len(a.ItemPath) < len(b.ItemPath)
	}
	return a.ItemID < b.ItemID
}

// Teams settings are read from the Skype and Teams Tenant Admin API, the
// service the Teams PowerShell module calls for *-Cs cmdlets. Microsoft
// documents its token audience (48ac35b8-9aa8-4d74-927d-1f4a14a0b239,
// "Skype and Teams Tenant Admin API") and that application tokens are
// authorized by the Entra role they carry, with no API permission
// (https://learn.microsoft.com/microsoftteams/teams-powershell-application-authentication),
// and that app-only access exists in the commercial cloud only.
// Unconfirmed, to be corrected here:
//   - the host, api.interfaces.records.teams.microsoft.com, and the paths
//     /Skype.Policy/configurations/{name}/configuration/Global, with the
//     names below for Get-CsTenantFederationConfiguration,
//     Get-CsTeamsClientConfiguration and Get-CsTeamsMeetingPolicy (as
//     public tools that call the service use them);
//   - that each answers the Global configuration as one JSON object (a
//     one-element array is accepted too) carrying the cmdlets' property
//     names, with JSON booleans;
//   - that AllowedDomains and BlockedDomains are arrays of {"Domain": …};
//     any other form (such as an object for "all known domains") is a
//     field error, never "no domains";
//   - what the service answers for a tenant without Teams: a failed read
//     is taken as "not licensed" only when the tenant's subscriptions
//     (GET /v1.0/subscribedSkus) hold no service plan whose name starts
//     with one of teamsServicePlanPrefixes.
const (
	teamsAdminHost        = "https://api.interfaces.records.teams.microsoft.com"
	teamsAudience         = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239"
	teamsFederationConfig = "TenantFederationSettings"
	teamsClientConfig     = "TeamsClientConfiguration"
	teamsMeetingConfig    = "TeamsMeetingPolicy"

	epTeamsFederation = "GET /Skype.Policy/configurations/TenantFederationSettings/configuration/Global"
	epTeamsClient     = "GET /Skype.Policy/configurations/TeamsClientConfiguration/configuration/Global"
	epTeamsMeeting    = "GET /Skype.Policy/configurations/TeamsMeetingPolicy/configuration/Global"
)

var teamsServicePlanPrefixes = []string{"TEAMS"}

// teamsConfigPath is the path of a Global configuration.
func teamsConfigPath(name string) string {
	return "/Skype.Policy/configurations/" + name + "/configuration/Global"
}

// teamsConfigObject returns the configuration object of an answer: the
// body itself, or the one element of an array.
func teamsConfigObject(ep string, body []byte) ([]byte, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '[' {
		var probe json.RawMessage
		if err := decodeJSON(ep, b, &probe); err != nil {
			return nil, err
		}
		return b, nil
	}
	var arr []json.RawMessage
	if err := decodeJSON(ep, b, &arr); err != nil {
		return nil, err
	}
	if len(arr) != 1 {
		return nil, fmt.Errorf("%s: expected one Global configuration, got an array of %d", ep, len(arr))
	}
	return arr[0], nil
}

// Power BI tenant settings come from the Fabric REST API's documented
// List Tenant Settings. The setting names are those CISA's ScubaGear reads
// for MS.POWERBI.1.1, 2.1 and 3.1. Unconfirmed, to be corrected here:
//   - the page's array: Microsoft's English reference shows "value", an
//     older localized copy "tenantSettings"; either is read, neither is an
//     error;
//   - what the service answers for a tenant without Power BI: as for
//     Teams, a failed read is "not licensed" only when no subscription
//     holds a service plan starting with one of powerBIServicePlanPrefixes
//     (BI_AZURE_P0/P1/P2/P3 are Power BI free, Pro, Premium and Premium
//     per user).
const (
	fabricLegacyArray     = "tenantSettings"
	fabricPublishToWeb    = "PublishToWeb"
	fabricGuestAccess     = "AllowGuestUserToAccessSharedContent"
	fabricExternalSharing = "ExternalSharingV2"
)

var powerBIServicePlanPrefixes = []string{"BI_AZURE_", "PBI_"}

// Sharing-link groups (SourceOptions.Discovery "groups"). SharePoint keeps
// a site group per sharing link titled
// SharingLinks.<itemUniqueId>.<kind>.<shareId> (the recorded answer in
// reference/recorded/sp-rest-sitegroups shows one); GET
// {site}/_api/web/sitegroups lists a site collection's groups
// (https://learn.microsoft.com/previous-versions/office/sharepoint-visio/jj246603(v=office.15)).
// Unconfirmed, to be corrected in sitegroups.go:
//   - the shareId of the title is the Graph permission id of the link
//     (the same assumption as for ShareLink above);
//   - the item id of the title is the list item's UniqueId, which Graph
//     reports as a drive item's sharepointIds.listItemUniqueId, and drive
//     delta returns sharepointIds when it is $select-ed;
//   - the kinds are the SharingLinkKind names above; a link's group is
//     removed with the link or its item at most some time later (an
//     orphan's item is then gone or unshared, or, for an Anyone group,
//     its permission is gone: none of them is taken for a link), and a
//     group exists for every link (an item shared without any group is
//     read item by item);
//   - the collection may page with odata.nextLink (followed if sent);
//   - its cost in resource units is not published (the fake charges a
//     parameter, 2 by default; docs/scale.md reports 2, 5 and 10);
//   - with $expand=Users (and Users/LoginName, Users/Email, Users/Title in
//     $select) each group carries its members in "Users", in the same one
//     request (Group.Users is documented, e.g. the SP.Group users property
//     in https://learn.microsoft.com/previous-versions/office/developer/sharepoint-rest-reference/dn531432(v=office.15));
//     a Flexible (specific people) group's members are the people its
//     link was given to, the same people its Graph permission names; the
//     login names are of the forms recipients.go knows;
//   - an expanded member list is complete unless the group carries
//     "Users@odata.nextLink" (whether and where SharePoint caps an
//     expansion is not documented): a next link, or a missing "Users",
//     makes the site be read item by item; an empty Flexible group makes
//     its item's permissions be read.
//
// Site users (siteusers.go). GET {site}/_api/web/siteusers lists a
// site's users (SP.User; its SharePoint Online properties Email,
// IsShareByEmailGuestUser, IsEmailAuthenticationGuestUser and
// UserPrincipalName, with Id, LoginName, PrincipalType and Title of
// SP.Principal, as SharePoint's published REST metadata lists them, e.g.
// https://github.com/koltyakov/sp-metadata docs/SP/EntityTypes/User.md).
// Unconfirmed, to be corrected in siteusers.go:
//   - a person given an item by invitation (a direct grant) or by a link
//     for specific people becomes a user of the site, and stays one after
//     the access is removed: a site none of whose users may be outside
//     the organization holds no direct grant to an outsider;
//   - a direct grant leaves no sharing-link group (only links do), so a
//     site whose users include someone who may be outside is read item by
//     item; the same holds when the users cannot be read or recognised;
//   - the collection may page with odata.nextLink (followed if sent);
//   - PrincipalType is SP.Utilities.PrincipalType (1 user, 2 distribution
//     list, 4 security group, 8 SharePoint group); Everyone and Everyone
//     except external users are listed as security groups;
//   - its cost in resource units is not published (the fake charges the
//     same parameter as for site groups).
// No $filter is sent: SharePoint would have to filter on login name forms
// (recipients.go), which it does not document for this collection.

// Rolling full re-read (rolling.go, app/state.go). Unconfirmed, to be
// corrected in rolling.go: a change to an existing Anyone link's settings
// (expiry, password, download block) marks its item sharedChanged in the
// drive's delta, like any other permission change; the non-deep re-read
// keeps those settings from the store when the groups confirm the link,
// and every DeepEvery-th turn reads them again regardless. Also assumed
// there: a removed link's shareId is never given to a new link, so an
// orphaned group found once (links/orphans) stays orphaned; and a direct
// grant (a new site user) also marks its item sharedChanged, so that a
// turn that is not deep need not read the site's users.

// Guest memberships between full reads (guestsrc.go). Users delta does not
// report a membership change; GET /groups/delta?$select=members reports
// each group whose members changed, with members@delta naming the members
// added or removed (https://learn.microsoft.com/graph/api/group-delta).
// The guests whose ids appear there, and the members of a deleted group,
// have their memberOf read again. Unconfirmed, to be corrected there:
//   - groups delta accepts $deltatoken=latest (documented for users);
//   - a member removed shows in members@delta (with @removed) under its
//     group, as the documentation describes.
// Memberships of directory roles and administrative units (memberOf lists
// them too) are not in groups delta: they are refreshed by the daily full
// read (GuestRefresh), as before.

// Assumption is one unconfirmed fact about Microsoft's answers the
// collector relies on, with how a probe of a real tenant tells whether it
// holds. Every "Unconfirmed" above has an entry here.
type Assumption struct {
	ID    string
	Text  string
	Check func(answers map[string]*ProbeAnswer) Verdict
}

// Assumptions lists every unconfirmed assumption, checked by Probe.
var Assumptions = []Assumption{
	{ID: "settings-bare", Text: "GET /admin/sharepoint/settings answers the settings object itself, not wrapped in \"value\"",
		Check: func(an map[string]*ProbeAnswer) Verdict {
			a := an[epSharePointSettings]
			if _, ok := rawField(a, "sharingCapability"); ok {
				return seen(true, "sharingCapability at the top level")
			}
			if v, ok := rawField(a, "value"); ok {
				return seen(false, "settings wrapped in value ("+jsonKind(decodeAny(v))+")")
			}
			return notSeen("%s", answerNote(a, epSharePointSettings))
		}},
	{ID: "csom-domain-list-spaces", Text: "CSOM SharingAllowedDomainList and SharingBlockedDomainList separate domains with spaces",
		Check: func(an map[string]*ProbeAnswer) Verdict {
			a := an[epCSOMTenant]
			for _, k := range []string{"SharingAllowedDomainList", "SharingBlockedDomainList"} {
				v, ok := rawField(a, k)
				if !ok {
					continue
				}
				var s string
				if json.Unmarshal(v, &s) != nil {
					return seen(false, k+" is "+jsonKind(decodeAny(v))+", not a string")
				}
				switch {
				case strings.ContainsAny(s, ",;"):
					return seen(false, k+" separates domains with commas or semicolons")
				case strings.Contains(strings.TrimSpace(s), " "):
					return seen(true, k+" holds several domains separated by spaces")
				}
			}
			return notSeen("no CSOM domain list with two or more domains (%s)", answerNote(a, epCSOMTenant))
		}},
	{ID: "csom-next-start-index", Text: "NextStartIndexFromSharePoint is an opaque string (or null on the last page)",
		Check: func(an map[string]*ProbeAnswer) Verdict {
			a := an[epCSOMSites]
			if a == nil || len(a.body) == 0 {
				return notSeen("%s", answerNote(a, epCSOMSites))
			}
			v, ok := rawField(a, "NextStartIndexFromSharePoint")
			if !ok {
				if t := a.Properties["NextStartIndexFromSharePoint"]; t == "null" {
					return notSeen("null: one page only")
				}
				return seen(false, "no NextStartIndexFromSharePoint property")
			}
			return seen(jsonKind(decodeAny(v)) == "string", "NextStartIndexFromSharePoint is "+jsonKind(decodeAny(v)))
		}},
	{ID: "b2b-definition-keys", Text: "a b2bManagementPolicy definition is JSON holding B2BManagementPolicy.InvitationsAllowedAndBlockedDomainsPolicy",
		Check: func(an map[string]*ProbeAnswer) Verdict {
			a := an[epB2BPolicies]
			v, ok := rawField(a, "definition")
			if !ok {
				return notSeen("%s", answerNote(a, epB2BPolicies))
			}
			var defs []string
			if json.Unmarshal(v, &defs) != nil || len(defs) == 0 {
				return seen(false, "definition is "+jsonKind(decodeAny(v))+", not an array of strings")
			}
			d, err := decodeB2BDefinition(defs[0])
			switch {
			case err != nil:
				return seen(false, "definition[0] is not JSON: "+err.Error())
			case d.Policy == nil:
				return seen(false, "definition[0] has no B2BManagementPolicy")
			case d.Policy.Invitations == nil:
				return notSeen("no invitation domain policy configured")
			}
			return seen(true, "B2BManagementPolicy.InvitationsAllowedAndBlockedDomainsPolicy present")
		}},
	{ID: "link-permission-fields", Text: "every sharing link permission carries hasPassword and link.preventsDownload, and never inheritedFrom",
		Check: func(an map[string]*ProbeAnswer) Verdict {
			a := an[epPermissions]
			if a == nil || len(a.body) == 0 {
				return notSeen("%s", answerNote(a, epPermissions))
			}
			if _, ok := a.Properties["link"]; !ok {
				return notSeen("the first permission read is not a link")
			}
			if _, ok := a.Properties["inheritedFrom"]; ok {
				return seen(false, "inheritedFrom present")
			}
			_, hp := a.Properties["hasPassword"]
			return seen(hp, fmt.Sprintf("properties %v", a.SortedProperties()))
		}},
	{ID: "teams-config-object", Text: "a Teams Global configuration (" + teamsFederationConfig + ") answers one object with AllowFederatedUsers and AllowedDomains as an array",
		Check: func(an map[string]*ProbeAnswer) Verdict {
			a := an[epTeamsFederation]
			if a == nil || len(a.body) == 0 {
				return notSeen("%s", answerNote(a, epTeamsFederation))
			}
			if _, ok := rawField(a, "AllowFederatedUsers"); !ok {
				return seen(false, fmt.Sprintf("properties %v", a.SortedProperties()))
			}
			v, ok := rawField(a, "AllowedDomains")
			if !ok {
				return notSeen("no AllowedDomains property")
			}
			k := jsonKind(decodeAny(v))
			return seen(k == "array", "AllowedDomains is "+k)
		}},
	{ID: "fabric-settings-value", Text: "GET /v1/admin/tenantsettings holds its settings in \"value\"",
		Check: func(an map[string]*ProbeAnswer) Verdict {
			a := an[epFabricTenantSettings]
			if _, ok := rawField(a, "value"); ok {
				return seen(true, "value present")
			}
			if _, ok := rawField(a, fabricLegacyArray); ok {
				return seen(false, "settings in "+fabricLegacyArray)
			}
			return notSeen("%s", answerNote(a, epFabricTenantSettings))
		}},
}

func decodeAny(b []byte) any {
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}
