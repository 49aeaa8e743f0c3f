package m365

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// StrictParser describes one parser for the strict-parsing tests: the
// fields its schema declares (the declaration the parser reads through)
// and how to run it on one item.
type StrictParser struct {
	Name     string
	Endpoint string // the endpoint its errors name
	Item     string // what its errors call an item; "" for a single object
	Fields   []DeclaredField
	Run      func(item json.RawMessage) error
	schema   *schema
}

// DeclaredField is a field of a parser's schema, nested fields included.
// Path steps name fields; "[]" stands for the first element of the array
// field before it.
type DeclaredField struct {
	Path     []string
	Kind     string
	Identity bool
}

var kindNames = map[kind]string{
	kString: "string", kBool: "bool", kInt: "int", kTime: "time", kStrings: "strings", kObject: "object",
	kObjects: "objects", kItems: "items", kFacet: "facet", kLooseBool: "looseBool", kEnum: "enum",
	kStringList: "stringList", kNamed: "named",
}

func declared(s *schema, prefix []string) []DeclaredField {
	var out []DeclaredField
	for i, f := range s.fields {
		p := append(append([]string{}, prefix...), f.name)
		out = append(out, DeclaredField{Path: p, Kind: kindNames[f.kind], Identity: i == s.id})
		switch f.kind {
		case kObject:
			if f.sub != nil {
				out = append(out, declared(f.sub, p)...)
			}
		case kObjects:
			out = append(out, declared(f.sub, append(p, "[]"))...)
		}
	}
	return out
}

func strictParser(name, ep string, s *schema, run func(json.RawMessage) error) StrictParser {
	return StrictParser{Name: name, Endpoint: ep, Item: s.item, Fields: declared(s, nil), Run: run, schema: s}
}

// ParseCSOMSites is parseCSOMSites for the tests.
func ParseCSOMSites(arr []json.RawMessage) (int, error) {
	sites, _, err := parseCSOMSites(arr)
	return len(sites), err
}

const csomHeader = `{"SchemaVersion":"15.0.0.0","LibraryVersion":"16.0.0.0","ErrorInfo":null}`

// StrictParsers lists every parser of a response object, each with the
// schema it reads through.
func StrictParsers() []StrictParser {
	items := func(raw json.RawMessage) []json.RawMessage { return []json.RawMessage{raw} }
	return []StrictParser{
		strictParser("sharepoint settings", epSharePointSettings, spSettingsSchema, func(raw json.RawMessage) error {
			return ParseSharePointSettings(raw, &tenant.SharePointSettings{})
		}),
		strictParser("sharepoint settings wrapper", epSharePointSettings, spSettingsWrapper, func(raw json.RawMessage) error {
			return ParseSharePointSettings(raw, &tenant.SharePointSettings{})
		}),
		strictParser("csom tenant", epCSOMTenant, csomTenantSchema, func(raw json.RawMessage) error {
			return ParseCSOMTenant([]json.RawMessage{json.RawMessage(csomHeader), raw}, &tenant.SharePointSettings{})
		}),
		strictParser("csom answer element", epCSOMTenant, csomElementSchema, func(raw json.RawMessage) error {
			// The tenant follows, so that an element that is not it is no error.
			_, err := csomObject(epCSOMTenant, []json.RawMessage{raw, json.RawMessage(`{"_ObjectType_":"` + csomTenantType + `"}`)}, csomTenantType)
			return err
		}),
		strictParser("getAllSites", epGetAllSites, graphSiteSchema, func(raw json.RawMessage) error {
			_, err := parseGraphSites(epGetAllSites, items(raw))
			return err
		}),
		strictParser("sites delta", epSitesDelta, siteDeltaSchema, func(raw json.RawMessage) error {
			_, err := parseSiteDelta(raw, 0)
			return err
		}),
		strictParser("csom sites", epCSOMSites, csomSiteSchema, func(raw json.RawMessage) error {
			page := fmt.Sprintf(`{"_ObjectType_":%q,"NextStartIndexFromSharePoint":null,"_Child_Items_":[%s]}`, csomSitesType, raw)
			_, _, err := parseCSOMSites([]json.RawMessage{json.RawMessage(csomHeader), json.RawMessage(page)})
			return err
		}),
		strictParser("csom sites page", epCSOMSites, csomSitesPage, func(raw json.RawMessage) error {
			_, _, err := parseCSOMSites([]json.RawMessage{json.RawMessage(csomHeader), raw})
			return err
		}),
		strictParser("csom site by url", epCSOMSiteByURL, csomSiteSchema, func(raw json.RawMessage) error {
			var r reader
			r.item(epCSOMSiteByURL, csomSiteSchema, raw, 0)
			readCSOMSite(&r)
			return r.err()
		}),
		strictParser("sensitivity labels", epSensitivityLabel, labelSchema, func(raw json.RawMessage) error {
			_, err := ParseSensitivityLabels(items(raw))
			return err
		}),
		strictParser("drives", epDrives, driveSchema, func(raw json.RawMessage) error {
			_, err := parseDrives(items(raw))
			return err
		}),
		strictParser("drive delta", epDriveDelta, deltaItemSchema, func(raw json.RawMessage) error {
			_, err := ParseDeltaItems(items(raw))
			return err
		}),
		strictParser("permissions", epPermissions, permissionSchema, func(raw json.RawMessage) error {
			_, err := ParsePermissions(items(raw), tenant.Link{})
			return err
		}),
		strictParser("users", epUsers, userSchema, func(raw json.RawMessage) error {
			_, err := parseGuests(epUsers, items(raw), true, true)
			return err
		}),
		strictParser("users delta", epUsersDelta, userDeltaSchema, func(raw json.RawMessage) error {
			_, _, err := userDelta(raw, 0)
			return err
		}),
		strictParser("stored guests", epStoredGuests, storedGuestSchema, func(raw json.RawMessage) error {
			_, err := decodeStoredGuest(raw)
			return err
		}),
		strictParser("directory objects", epRefs, refSchema, func(raw json.RawMessage) error {
			_, err := ParseRefs(items(raw))
			return err
		}),
		strictParser("authorization policy", epAuthorizationPolicy, authPolicySchema, func(raw json.RawMessage) error {
			return ParseAuthorizationPolicy(raw, &tenant.EntraSettings{})
		}),
		strictParser("authorization policy collection", epAuthorizationPolicy, authPolicyWrapper, func(raw json.RawMessage) error {
			return ParseAuthorizationPolicy(raw, &tenant.EntraSettings{})
		}),
		strictParser("b2b policies", epB2BPolicies, b2bPolicySchema, func(raw json.RawMessage) error {
			_, err := ParseB2BManagementPolicies(items(raw))
			return err
		}),
		strictParser("cross-tenant default", epCrossTenantDefault, crossTenantSchema, func(raw json.RawMessage) error {
			_, err := ParseCrossTenantDefault(raw)
			return err
		}),
		strictParser("cross-tenant partners", epCrossTenantPartners, partnerSchema, func(raw json.RawMessage) error {
			_, err := ParseCrossTenantPartners(items(raw))
			return err
		}),
		strictParser("group settings", epGroupSettings, settingSchema, func(raw json.RawMessage) error {
			_, err := ParseGroupSettings(items(raw))
			return err
		}),
		strictParser("group guest settings", epGroupSetting, settingSchema, func(raw json.RawMessage) error {
			_, err := ParseGroupGuestSetting(items(raw))
			return err
		}),
		strictParser("groups", epGroups, groupSchema, func(raw json.RawMessage) error {
			_, err := ParseGroups(items(raw))
			return err
		}),
		strictParser("sharing policies", epSharingPolicy, sharingPolicySchema, func(raw json.RawMessage) error {
			_, err := ParseSharingPolicies(items(raw))
			return err
		}),
		strictParser("organization relationships", epOrgRel, orgRelSchema, func(raw json.RawMessage) error {
			_, err := ParseOrgRelationships(items(raw))
			return err
		}),
		strictParser("remote domains", epRemoteDomain, remoteDomainSchema, func(raw json.RawMessage) error {
			_, err := ParseRemoteDomains(items(raw))
			return err
		}),
		strictParser("teams federation", epTeamsFederation, teamsFedSchema, func(raw json.RawMessage) error {
			return ParseTeamsFederation(raw, &tenant.TeamsSettings{})
		}),
		strictParser("teams client", epTeamsClient, teamsClientSchema, func(raw json.RawMessage) error {
			return ParseTeamsClient(raw, &tenant.TeamsSettings{})
		}),
		strictParser("teams meeting policy", epTeamsMeeting, teamsMeetingSchema, func(raw json.RawMessage) error {
			return ParseTeamsMeetingPolicy(raw, &tenant.TeamsSettings{})
		}),
		strictParser("subscribed skus", epSubscribedSkus, skuSchema, func(raw json.RawMessage) error {
			_, err := ParseServicePlans(items(raw))
			return err
		}),
		strictParser("fabric tenant settings", epFabricTenantSettings, tenantSettingSchema, func(raw json.RawMessage) error {
			_, err := ParseFabricTenantSettings([]byte(`{"value":[`+string(raw)+`]}`), &tenant.PowerBISettings{})
			return err
		}),
		strictParser("fabric tenant settings page", epFabricTenantSettings, fabricPageSchema, func(raw json.RawMessage) error {
			_, err := ParseFabricTenantSettings(raw, &tenant.PowerBISettings{})
			return err
		}),
	}
}

// SchemaCoverage reports how many schemas the package declares (calls of
// newSchema in its source) and how many the parsers of StrictParsers
// reach, so that a test fails when a new schema is left out of them.
func SchemaCoverage() (declaredCount, reached int, err error) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		return 0, 0, err
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return 0, 0, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "newSchema" {
					declaredCount++
				}
			}
			return true
		})
	}
	seen := map[*schema]bool{}
	var walk func(*schema)
	walk = func(s *schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		for _, f := range s.fields {
			walk(f.sub)
		}
	}
	for _, p := range StrictParsers() {
		walk(p.schema)
	}
	return declaredCount, len(seen), nil
}
