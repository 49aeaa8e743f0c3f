package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// The fields read of GET /v1/admin/tenantsettings (Fabric REST API,
// https://learn.microsoft.com/rest/api/fabric/admin/tenants/list-tenant-settings).
var (
	fabricPageSchema = newSchema("")
	fpValue          = fabricPageSchema.items("value", tenantSettingSchema)
	fpLegacy         = fabricPageSchema.items(fabricLegacyArray, tenantSettingSchema)
	fpContinuation   = fabricPageSchema.str("continuationUri")

	tenantSettingSchema = newSchema("tenant setting")
	tsName              = tenantSettingSchema.identity("settingName")
	tsEnabled           = tenantSettingSchema.boolean("enabled")
	tsGroups            = tenantSettingSchema.objects("enabledSecurityGroups", tsGroupSchema)

	tsGroupSchema = newSchema("security group")
	tsGroupID     = tsGroupSchema.identity("graphId")
)

const epFabricTenantSettings = "GET /v1/admin/tenantsettings"

// ParseFabricTenantSettings reads one page of tenant settings into p,
// keeping the settings the rules read, and returns the next page's URI
// ("" on the last page). Settings that cannot be read are left out and
// reported as FieldErrors.
func ParseFabricTenantSettings(body []byte, p *tenant.PowerBISettings) (next string, err error) {
	const ep = epFabricTenantSettings
	var probe json.RawMessage
	if err := decodeJSON(ep, body, &probe); err != nil {
		return "", err
	}
	var r reader
	if !r.item(ep, fabricPageSchema, body, 0) {
		return "", shapeError(r.err())
	}
	page := r.items(fpValue)
	if r.raw(fpValue.fieldRef) == nil {
		page = r.items(fpLegacy)
	}
	if page.it.b == nil {
		return "", fmt.Errorf("%s: response has no value array", ep)
	}
	var bad FieldErrors
	var s, g reader
	for page.nextItem(&s) {
		if s.failed() {
			bad.add(s.first())
			continue
		}
		name := s.str(tsName)
		slot := powerBISlot(p, name)
		if slot == nil {
			continue
		}
		set := &tenant.PowerBISetting{Name: name, Enabled: s.boolp(tsEnabled), SecurityGroups: []string{}}
		l := s.list(tsGroups)
		for l.next(&s, &g) {
			set.SecurityGroups = append(set.SecurityGroups, strings.ToLower(g.str(tsGroupID)))
		}
		if s.failed() {
			bad.add(s.first())
			continue
		}
		*slot = set
	}
	if r.failed() {
		return "", shapeError(r.err())
	}
	return r.str(fpContinuation), bad.err()
}

// powerBISlot is where the setting called name goes, nil for a setting
// the rules do not read.
func powerBISlot(p *tenant.PowerBISettings, name string) **tenant.PowerBISetting {
	switch name {
	case fabricPublishToWeb:
		return &p.PublishToWeb
	case fabricGuestAccess:
		return &p.GuestAccess
	case fabricExternalSharing:
		return &p.ExternalSharing
	}
	return nil
}

type powerBISource struct{ c *Client }

func (powerBISource) Section() tenant.Section { return tenant.SectionPowerBI }

// Collect reads every page of tenant settings. A failed read of a tenant
// without a Power BI service plan makes the section not applicable.
func (src powerBISource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	base := src.c.o.Endpoints.Fabric
	if base == "" {
		return fmt.Errorf("collect powerbi: %w", src.c.o.Endpoints.NotSupportedError(epFabricTenantSettings))
	}
	u := strings.TrimRight(base, "/") + "/v1/admin/tenantsettings"
	first := u
	p := &tenant.PowerBISettings{}
	var bad FieldErrors
	for page := 0; ; page++ {
		resp, err := src.c.send(ctx, request{aud: AudienceFabric, method: http.MethodGet, url: u, header: jsonHeader()})
		if err != nil {
			if page == 0 {
				if why, ok := notLicensed(ctx, src.c, "Power BI", powerBIServicePlanPrefixes); ok {
					snap.PowerBI = &tenant.PowerBISettings{NotApplicable: why}
					return nil
				}
			}
			return fmt.Errorf("collect powerbi: %w", fabricRefusal(err))
		}
		next, err := ParseFabricTenantSettings(bytes.TrimSpace(resp.body), p)
		if err := noteItems(&bad, err); err != nil {
			return fmt.Errorf("collect powerbi: %w", err)
		}
		if next == "" {
			break
		}
		if !sameOrigin(first, next) {
			return fmt.Errorf("collect powerbi: %s: continuationUri points to another host", epFabricTenantSettings)
		}
		u = next
	}
	snap.PowerBI = p
	if err := bad.err(); err != nil {
		return scanner.Partial(fmt.Errorf("collect powerbi: %w", err))
	}
	return nil
}

// fabricRefusal says what a refused Fabric admin read needs. Fabric takes
// no application permission for it: the service principal must be in a
// security group the tenant setting "Service principals can access
// read-only admin APIs" names, and must hold no admin-consented Fabric
// or Power BI permission (https://learn.microsoft.com/fabric/admin/enable-service-principal-admin-apis).
func fabricRefusal(err error) error {
	if IsStatus(err, http.StatusUnauthorized, http.StatusForbidden) {
		return fmt.Errorf("%w (the app's service principal must be in a security group allowed by the Fabric tenant setting \"Service principals can access read-only admin APIs\", and must hold no Power BI or Fabric application permission)", err)
	}
	return err
}
