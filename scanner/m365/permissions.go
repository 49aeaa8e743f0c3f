package m365

import "github.com/sharedrift/sharedrift/tenant"

// Grant is one way to satisfy a need: any of the application roles on one
// audience.
type Grant struct {
	Audience Audience
	AnyOf    []string
}

// Need is a permission a section requires (Optional false) or reads more
// with (Optional true), and what is lost without an optional one.
type Need struct {
	Grant
	Optional bool
	Without  string
}

// ReadPermissions lists, per section, the application permissions the
// collector needs. The least privileged role comes first in each AnyOf.
var ReadPermissions = map[tenant.Section][]Need{
	tenant.SectionSharePoint: {
		{Grant: Grant{AudienceGraph, []string{"SharePointTenantSettings.Read.All", "SharePointTenantSettings.ReadWrite.All"}}},
		{Grant: Grant{AudienceSharePoint, []string{"Sites.FullControl.All"}}},
	},
	tenant.SectionSites: {
		{Grant: Grant{AudienceGraph, []string{"Sites.Read.All", "Sites.ReadWrite.All", "Sites.FullControl.All"}}},
		{Grant: Grant{AudienceSharePoint, []string{"Sites.FullControl.All"}}},
		{Grant: Grant{AudienceGraph, []string{"InformationProtectionPolicy.Read.All"}}, Optional: true, Without: "sensitivity label names stay unknown and the section is partial"},
	},
	tenant.SectionLinks: {
		{Grant: Grant{AudienceGraph, []string{"Sites.Read.All", "Sites.ReadWrite.All", "Sites.FullControl.All", "Files.Read.All", "Files.ReadWrite.All"}}},
		{Grant: Grant{AudienceGraph, []string{"Sites.FullControl.All"}}, Optional: true, Without: "drive delta reports every permission change only to an app-only caller with Sites.FullControl.All (Microsoft's scan guidance); incremental scans may miss sharing changes"},
	},
	tenant.SectionGuests: {
		{Grant: Grant{AudienceGraph, []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}}},
		{Grant: Grant{AudienceGraph, []string{"AuditLog.Read.All"}}, Optional: true, Without: "last sign-in stays unknown, so stale-guest rules report unknown"},
		{Grant: Grant{AudienceGraph, []string{"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"}}, Optional: true, Without: "group memberships carry ids without names"},
	},
	tenant.SectionEntra: {
		// The authorization policy and the cross-tenant access policy,
		// default and partners.
		{Grant: Grant{AudienceGraph, []string{"Policy.Read.All"}}},
		{Grant: Grant{AudienceGraph, []string{"Policy.Read.B2BManagementPolicy", "Policy.ReadWrite.B2BManagementPolicy"}}},
	},
	tenant.SectionGroups: {
		{Grant: Grant{AudienceGraph, []string{"Directory.Read.All", "Directory.ReadWrite.All"}}},
	},
	tenant.SectionExchange: {
		{Grant: Grant{AudienceExchange, []string{"Exchange.ManageAsApp"}}},
	},
	// The Skype and Teams Tenant Admin API takes a token without any API
	// permission and authorizes by the Entra role it carries (teamsRoles,
	// checked by Doctor). The subscriptions tell an unlicensed tenant.
	tenant.SectionTeams: {
		{Grant: Grant{AudienceTeams, nil}},
		{Grant: Grant{AudienceGraph, licenseReaders}, Optional: true, Without: notLicensedWithout},
	},
	// Fabric's admin API refuses apps that hold Fabric permissions: the
	// service principal is allowed through a tenant setting instead
	// (Doctor cannot see it, and says so).
	tenant.SectionPowerBI: {
		{Grant: Grant{AudienceFabric, nil}},
		{Grant: Grant{AudienceGraph, licenseReaders}, Optional: true, Without: notLicensedWithout},
	},
}

// licenseReaders may list the tenant's subscriptions (GET /subscribedSkus).
var licenseReaders = []string{"LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All"}

const notLicensedWithout = "a tenant without the service is reported as failed instead of not applicable"

// WritePermissions lists what remediation additionally needs, per section.
var WritePermissions = map[tenant.Section][]Grant{
	tenant.SectionSharePoint: {{AudienceGraph, []string{"SharePointTenantSettings.ReadWrite.All"}}, {AudienceSharePoint, []string{"Sites.FullControl.All"}}},
	tenant.SectionSites:      {{AudienceSharePoint, []string{"Sites.FullControl.All"}}},
	tenant.SectionLinks:      {{AudienceGraph, []string{"Files.ReadWrite.All", "Sites.ReadWrite.All", "Sites.FullControl.All"}}},
	tenant.SectionGuests:     {{AudienceGraph, []string{"User.ReadWrite.All"}}},
	tenant.SectionEntra: {{AudienceGraph, []string{"Policy.ReadWrite.Authorization"}}, {AudienceGraph, []string{"Policy.ReadWrite.B2BManagementPolicy"}},
		{AudienceGraph, []string{"Policy.ReadWrite.CrossTenantAccess"}}},
	tenant.SectionGroups:   {{AudienceGraph, []string{"Directory.ReadWrite.All"}}, {AudienceGraph, []string{"Group.ReadWrite.All"}}},
	tenant.SectionExchange: {{AudienceExchange, []string{"Exchange.ManageAsApp"}}},
}

// Entra directory role template ids that let the Teams admin API read
// (Global Reader, Teams Administrator) Teams settings.
var teamsRoles = map[string]string{
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
	"69091246-20e8-4a56-aa4d-066075b2a7a8": "Teams Administrator",
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
}

// Entra directory role template ids that let the Exchange admin API read
// (Global Reader) or change (Exchange Administrator) sharing settings.
var exchangeRoles = map[string]string{
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
	"29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
}
