package m365

import (
	"fmt"
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
}

var clouds = map[string]Cloud{
	"global": {
		Name:             "global",
		Authority:        "https://login.microsoftonline.com/",
		Graph:            "https://graph.microsoft.com",
		SharePointSuffix: "sharepoint.com",
		Exchange:         "https://outlook.office365.com",
	},
	"usgov": {
		Name:             "usgov",
		Authority:        "https://login.microsoftonline.us/",
		Graph:            "https://graph.microsoft.us",
		SharePointSuffix: "sharepoint.us",
		Exchange:         "https://outlook.office365.us",
	},
	"china": {
		Name:             "china",
		Authority:        "https://login.chinacloudapi.cn/",
		Graph:            "https://microsoftgraph.chinacloudapi.cn",
		SharePointSuffix: "sharepoint.cn",
		Exchange:         "https://partner.outlook.cn",
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

// LookupCloud returns the cloud called name; "" means global.
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		name = "global"
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
		Graph: c.Graph, GraphAudience: c.Graph,
		SharePointAdmin: admin, SharePointAudience: admin,
		SharePoint: "https://" + spTenant + "." + c.SharePointSuffix, OneDrive: "https://" + spTenant + "-my." + c.SharePointSuffix,
		Exchange: c.Exchange, ExchangeAudience: c.Exchange,
	}
}

// Endpoints are the base URLs the client calls and the token audience of
// each service. Tests point the URLs at a fake tenant and keep the audiences.
type Endpoints struct {
	Graph, GraphAudience                string
	SharePointAdmin, SharePointAudience string
	// SharePoint and OneDrive are where requests to the tenant's sites
	// ({tenant}.sharepoint.com) and personal sites ({tenant}-my…) go; a
	// site URL of any other host is refused (see siteBase).
	SharePoint, OneDrive       string
	Exchange, ExchangeAudience string
}

// Audience names one of the three services a token is issued for.
type Audience string

// The three audiences.
const (
	AudienceGraph      Audience = "graph"
	AudienceSharePoint Audience = "sharepoint"
	AudienceExchange   Audience = "exchange"
)

// Audiences lists the audiences in a fixed order.
var Audiences = []Audience{AudienceGraph, AudienceSharePoint, AudienceExchange}

// Scope returns the OAuth scope (resource/.default) for audience a.
func (e Endpoints) Scope(a Audience) string {
	switch a {
	case AudienceSharePoint:
		return e.SharePointAudience + "/.default"
	case AudienceExchange:
		return e.ExchangeAudience + "/.default"
	}
	return e.GraphAudience + "/.default"
}
