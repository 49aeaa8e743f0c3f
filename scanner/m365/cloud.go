package m365

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Cloud holds the service roots of one Microsoft cloud. Every host name the
// collector uses lives in this table.
type Cloud struct {
	Name string
	// Authority is the Entra ID login host.
	Authority string
	// Graph is the Microsoft Graph root; it is also the token audience.
	Graph string
	// SharePointSuffix completes "https://{tenant}-admin.{suffix}".
	SharePointSuffix string
	// Exchange is the Exchange Online root; it is also the token audience.
	Exchange string
	// Teams is the Skype and Teams Tenant Admin API root and Fabric the
	// Fabric REST API root; "" where the collector has no confirmed host
	// (their sections then fail naming the cloud). Token audiences are in
	// teamsAudience and fabricAudience.
	Teams, Fabric string
	// Unsupported names the endpoints (as in errors: "GET /beta/...")
	// Microsoft does not offer in this cloud. Their data is reported as
	// not supported there, and the rest of the section is complete.
	Unsupported []string
}

// globalOnly lists what Microsoft documents as available in the global
// service only: beta b2bManagementPolicies ("National cloud deployments":
// global service only; https://learn.microsoft.com/graph/api/b2bmanagementpolicy-get?view=graph-rest-beta).
var globalOnly = []string{epB2BPolicies}

var clouds = map[string]Cloud{
	"global": {
		Name:             "global",
		Authority:        "https://login.microsoftonline.com/",
		Graph:            "https://graph.microsoft.com",
		SharePointSuffix: "sharepoint.com",
		Exchange:         "https://outlook.office365.com",
		Teams:            teamsAdminHost,
		Fabric:           "https://api.fabric.microsoft.com",
	},
	// US Government GCC High (L4).
	"usgov": {
		Name:             "usgov",
		Authority:        "https://login.microsoftonline.us/",
		Graph:            "https://graph.microsoft.us",
		SharePointSuffix: "sharepoint.us",
		Exchange:         "https://outlook.office365.us",
		Unsupported:      globalOnly,
	},
	// US Government DoD (L5). Graph and login hosts are Microsoft's
	// ("Microsoft Graph national cloud deployments",
	// https://learn.microsoft.com/graph/deployments). Unconfirmed from
	// Microsoft's pages: the SharePoint suffix (sharepoint-mil.us, what
	// DoD tenants' sites use) and the Exchange admin API host
	// (outlook-dod.office365.us, Exchange Online PowerShell's DoD endpoint).
	"dod": {
		Name:             "dod",
		Authority:        "https://login.microsoftonline.us/",
		Graph:            "https://dod-graph.microsoft.us",
		SharePointSuffix: "sharepoint-mil.us",
		Exchange:         "https://outlook-dod.office365.us",
		Unsupported:      globalOnly,
	},
	"china": {
		Name:             "china",
		Authority:        "https://login.chinacloudapi.cn/",
		Graph:            "https://microsoftgraph.chinacloudapi.cn",
		SharePointSuffix: "sharepoint.cn",
		Exchange:         "https://partner.outlook.cn",
		Unsupported:      globalOnly,
	},
}

// CloudNames lists the known cloud names.
func CloudNames() []string {
	names := make([]string, 0, len(clouds))
	for n := range clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// cloudAliases are other names the daemon configuration accepts.
var cloudAliases = map[string]string{"usgovhigh": "usgov"}

// LookupCloud returns the cloud called name; "" means global.
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		name = "global"
	}
	if a, ok := cloudAliases[strings.ToLower(name)]; ok {
		name = a
	}
	c, ok := clouds[strings.ToLower(name)]
	if !ok {
		return Cloud{}, fmt.Errorf("unknown cloud %q, expected one of %v", name, CloudNames())
	}
	return c, nil
}

// AzCore returns the azidentity cloud configuration.
func (c Cloud) AzCore() cloud.Configuration {
	return cloud.Configuration{ActiveDirectoryAuthorityHost: c.Authority}
}

// Endpoints returns where a tenant's services live in this cloud.
// spTenant is the SharePoint tenant name (the "contoso" of
// contoso.sharepoint.com).
func (c Cloud) Endpoints(spTenant string) Endpoints {
	admin := "https://" + spTenant + "-admin." + c.SharePointSuffix
	return Endpoints{
		Cloud: c.Name,
		Graph: c.Graph, GraphAudience: c.Graph,
		SharePointAdmin: admin, SharePointAudience: admin,
		SharePoint: "https://" + spTenant + "." + c.SharePointSuffix, OneDrive: "https://" + spTenant + "-my." + c.SharePointSuffix,
		Exchange: c.Exchange, ExchangeAudience: c.Exchange,
		Teams: c.Teams, TeamsAudience: teamsAudience,
		Fabric: c.Fabric, FabricAudience: fabricAudience,
	}
}

// Endpoints are the base URLs the client calls and the token audience of
// each service. Tests point the URLs at a fake tenant and keep the audiences.
type Endpoints struct {
	// Cloud names the cloud ("" is global): what it lacks is not asked.
	Cloud                               string
	Graph, GraphAudience                string
	SharePointAdmin, SharePointAudience string
	// SharePoint and OneDrive are where requests to the tenant's sites
	// ({tenant}.sharepoint.com) and personal sites ({tenant}-my…) go; a
	// site URL of any other host is refused (see siteBase).
	SharePoint, OneDrive       string
	Exchange, ExchangeAudience string
	// Teams and Fabric are "" in a cloud without them.
	Teams, TeamsAudience   string
	Fabric, FabricAudience string
}

// Supported reports whether the endpoint ep ("GET /beta/...") exists in
// the endpoints' cloud.
func (e Endpoints) Supported(ep string) bool {
	if e.Cloud == "" {
		return true
	}
	c, ok := clouds[e.Cloud]
	return !ok || !slices.Contains(c.Unsupported, ep)
}

// NotSupportedError says that ep does not exist in the cloud.
func (e Endpoints) NotSupportedError(ep string) error {
	return fmt.Errorf("%s: %w in the %s cloud", ep, ErrNotInCloud, e.Cloud)
}

// ErrNotInCloud marks an endpoint Microsoft does not offer in a cloud.
var ErrNotInCloud = errors.New("not supported")

// Audience names one of the services a token is issued for.
type Audience string

// The audiences.
const (
	AudienceGraph      Audience = "graph"
	AudienceSharePoint Audience = "sharepoint"
	AudienceExchange   Audience = "exchange"
	AudienceTeams      Audience = "teams"
	AudienceFabric     Audience = "fabric"
)

// Audiences lists the audiences in a fixed order.
var Audiences = []Audience{AudienceGraph, AudienceSharePoint, AudienceExchange, AudienceTeams, AudienceFabric}

// The Fabric REST API's token audience, from Microsoft's Fabric REST API
// documentation (https://learn.microsoft.com/rest/api/fabric/articles/get-started/fabric-api-quickstart).
const fabricAudience = "https://api.fabric.microsoft.com"

// Scope returns the OAuth scope (resource/.default) for audience a.
func (e Endpoints) Scope(a Audience) string {
	switch a {
	case AudienceSharePoint:
		return e.SharePointAudience + "/.default"
	case AudienceExchange:
		return e.ExchangeAudience + "/.default"
	case AudienceTeams:
		return e.TeamsAudience + "/.default"
	case AudienceFabric:
		return e.FabricAudience + "/.default"
	}
	return e.GraphAudience + "/.default"
}
