package rules

import (
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// The admin-center pages a result about a tenant setting links to, so an
// alert opens where the setting is changed. They are kept here, in one
// place, so that a page Microsoft moves is corrected once.
const (
	// SharePoint admin center > Policies > Sharing, on the tenant's
	// "-admin" host (the same host the CSOM Tenant object is read from).
	spoSharingPath = "/_layouts/15/online/AdminHome.aspx#/sharing"
	// Entra admin center > External Identities > External collaboration
	// settings (who may invite, guest access level, invitation domains).
	entraExternalCollab = "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/AllowlistPolicyBlade"
	// Entra admin center > External Identities > Cross-tenant access settings.
	entraCrossTenant = "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/CompanyRelationshipsMenuBlade/~/CrossTenantAccessSettings"
	// Entra admin center user profile; the object ID is appended.
	entraUser = "https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/"
	// Unconfirmed: Entra admin center group overview deep link, as used
	// widely but not documented by Microsoft; the object ID is appended.
	entraGroup = "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/GroupDetailsMenuBlade/~/Overview/groupId/"
	// Unconfirmed: Microsoft 365 admin center > Settings > Org settings >
	// Services > Microsoft 365 Groups. The page is documented
	// (learn.microsoft.com/microsoft-365/admin/create-groups/manage-guest-access-in-groups)
	// but its deep link is not.
	m365GroupsSettings = "https://admin.microsoft.com/#/Settings/Services/:/Settings/L1/O365Groups"
	// Exchange admin center > Organization > Sharing: Individual sharing
	// (sharing policies) and Organization sharing (relationships).
	exoIndividualSharing   = "https://admin.exchange.microsoft.com/#/individualsharing"
	exoOrganizationSharing = "https://admin.exchange.microsoft.com/#/organizationsharing"
	// Unconfirmed: Exchange admin center > Mail flow > Remote domains; the
	// page is documented, its deep link is not.
	exoRemoteDomains = "https://admin.exchange.microsoft.com/#/remotedomains"
	// Unconfirmed: Teams admin center > Users > External access, Guest
	// access, and Meetings > Meeting settings; the pages are documented,
	// their deep links are not.
	teamsExternalAccess = "https://admin.teams.microsoft.com/company-wide-settings/external-communications"
	teamsGuestAccess    = "https://admin.teams.microsoft.com/company-wide-settings/guest-configuration"
	teamsMeetings       = "https://admin.teams.microsoft.com/meetings/settings"
	// Unconfirmed: Fabric admin portal > Tenant settings (the Power BI
	// admin portal moved there); documented page, undocumented deep link.
	fabricTenantSettings = "https://app.fabric.microsoft.com/admin-portal/tenantSettings"
)

// objectURL is where an admin acts on the object a result is about: the
// link's own web URL, the site's URL, or the admin-center page of a
// setting. It reads only the snapshot, so it stays pure.
func (e *env) objectURL(res *tenant.Result) string {
	key := res.ObjectKey
	if key == e.linkKey && e.linkURL != "" {
		return e.linkURL
	}
	prefix, id, _ := strings.Cut(key, ":")
	switch prefix {
	case "link", "links", "sharepoint":
		// A link without a web URL, or the tenant's link settings.
		return e.spoAdmin()
	case "site":
		if si := e.siteByKey(key); si != nil && si.site.URL != "" {
			return si.site.URL
		}
		return e.spoAdmin()
	case "sites":
		return e.spoAdmin()
	case "guest":
		if isObjectID(id) {
			return entraUser + id
		}
		return entraExternalCollab
	case "guests":
		return entraExternalCollab
	case "entra":
		if key == tenant.KeyEntraCrossTenant || strings.HasPrefix(id, "crossTenantPartner:") {
			return entraCrossTenant
		}
		return entraExternalCollab
	case "groups":
		return m365GroupsSettings
	case "group":
		if isObjectID(id) {
			return entraGroup + id
		}
		return m365GroupsSettings
	case "sharingpolicy", "exchange":
		return exoIndividualSharing
	case "orgrel":
		return exoOrganizationSharing
	case "remotedomain":
		return exoRemoteDomains
	case "teams":
		switch res.RuleID {
		case "teams.guest_access":
			return teamsGuestAccess
		case "teams.anonymous_meeting_join":
			return teamsMeetings
		}
		return teamsExternalAccess
	case "powerbi":
		return fabricTenantSettings
	}
	return ""
}

// siteByKey finds a site by its key.
func (e *env) siteByKey(key string) *siteInfo {
	e.buildSites()
	i := sort.Search(len(e.siteOrder), func(i int) bool { return e.siteOrder[i].key >= key })
	if i < len(e.siteOrder) && e.siteOrder[i].key == key {
		return e.siteOrder[i]
	}
	return nil
}

// spoAdmin is the SharePoint admin center's sharing page. Its host is the
// tenant's SharePoint host with "-admin" added, taken from a site URL
// (SharePoint Online has no vanity hosts), else from the tenant name.
func (e *env) spoAdmin() string {
	if e.spoAdminURL != "" || e.spoAdminDone {
		return e.spoAdminURL
	}
	e.spoAdminDone = true
	host := ""
	for i := range e.s.Sites {
		// The host of https://<name>.sharepoint.com/…, read without
		// net/url: the rules stay free of I/O packages.
		rest, ok := strings.CutPrefix(strings.ToLower(e.s.Sites[i].URL), "https://")
		h, _, _ := strings.Cut(rest, "/")
		if !ok || !strings.HasSuffix(h, ".sharepoint.com") {
			continue
		}
		name := strings.TrimSuffix(h, ".sharepoint.com")
		name = strings.TrimSuffix(name, "-my") // OneDrive host
		if name != "" && !strings.Contains(name, ".") {
			host = name
			break
		}
	}
	if host == "" {
		name := strings.TrimSuffix(strings.ToLower(e.s.Tenant), ".onmicrosoft.com")
		if name == "" || strings.Contains(name, ".") {
			return "" // a custom domain names no SharePoint host
		}
		host = name
	}
	e.spoAdminURL = "https://" + host + "-admin.sharepoint.com" + spoSharingPath
	return e.spoAdminURL
}

// isObjectID reports whether id can be put in a portal URL as it is: an
// Entra object ID (a GUID) has only hex digits and dashes.
func isObjectID(id string) bool {
	if id == "" {
		return false
	}
	for _, c := range id {
		if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
