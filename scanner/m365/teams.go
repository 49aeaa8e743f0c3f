package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// The fields read of the Global Teams configurations (shapes.go says what
// of their form is unconfirmed): Get-CsTenantFederationConfiguration,
// Get-CsTeamsClientConfiguration and Get-CsTeamsMeetingPolicy.
var (
	teamsFedSchema         = newSchema("federation configuration")
	_                      = teamsFedSchema.str("Identity")
	tfAllowFederatedUsers  = teamsFedSchema.boolean("AllowFederatedUsers")
	tfAllowedDomains       = teamsFedSchema.objects("AllowedDomains", teamsDomainSchema)
	tfBlockedDomains       = teamsFedSchema.objects("BlockedDomains", teamsDomainSchema)
	tfAllowTeamsConsumer   = teamsFedSchema.boolean("AllowTeamsConsumer")
	tfAllowConsumerInbound = teamsFedSchema.boolean("AllowTeamsConsumerInbound")
	tfAllowPublicUsers     = teamsFedSchema.boolean("AllowPublicUsers")

	teamsDomainSchema = newSchema("domain")
	tdDomain          = teamsDomainSchema.str("Domain")

	teamsClientSchema = newSchema("client configuration")
	_                 = teamsClientSchema.str("Identity")
	tcAllowGuestUser  = teamsClientSchema.boolean("AllowGuestUser")

	teamsMeetingSchema   = newSchema("meeting policy")
	_                    = teamsMeetingSchema.str("Identity")
	tmAllowAnonymousJoin = teamsMeetingSchema.boolean("AllowAnonymousUsersToJoinMeeting")
)

// ParseTeamsFederation reads the Global tenant federation configuration
// into t. Fields that cannot be read are left unset and reported as
// FieldErrors.
func ParseTeamsFederation(body []byte, t *tenant.TeamsSettings) error {
	const ep = epTeamsFederation
	obj, err := teamsConfigObject(ep, body)
	if err != nil {
		return err
	}
	var r, d reader
	if !r.item(ep, teamsFedSchema, obj, 0) {
		return shapeError(r.err())
	}
	domains := func(f objsField) []string {
		l := r.list(f)
		if !l.present() {
			return nil
		}
		out := []string{}
		// An entry without a domain is left out: an allow list that
		// loses its last entry reads as "every domain", which fails.
		for l.next(&r, &d) {
			if v := strings.ToLower(d.str(tdDomain)); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	t.AllowFederatedUsers = r.boolp(tfAllowFederatedUsers)
	t.AllowedDomains = domains(tfAllowedDomains)
	t.BlockedDomains = domains(tfBlockedDomains)
	t.AllowTeamsConsumer = r.boolp(tfAllowTeamsConsumer)
	t.AllowTeamsConsumerInbound = r.boolp(tfAllowConsumerInbound)
	t.AllowPublicUsers = r.boolp(tfAllowPublicUsers)
	return r.err()
}

// ParseTeamsClient reads the Global Teams client configuration into t.
func ParseTeamsClient(body []byte, t *tenant.TeamsSettings) error {
	const ep = epTeamsClient
	obj, err := teamsConfigObject(ep, body)
	if err != nil {
		return err
	}
	var r reader
	if !r.item(ep, teamsClientSchema, obj, 0) {
		return shapeError(r.err())
	}
	t.AllowGuestUser = r.boolp(tcAllowGuestUser)
	return r.err()
}

// ParseTeamsMeetingPolicy reads the Global meeting policy into t.
func ParseTeamsMeetingPolicy(body []byte, t *tenant.TeamsSettings) error {
	const ep = epTeamsMeeting
	obj, err := teamsConfigObject(ep, body)
	if err != nil {
		return err
	}
	var r reader
	if !r.item(ep, teamsMeetingSchema, obj, 0) {
		return shapeError(r.err())
	}
	t.AllowAnonymousUsersToJoinMeeting = r.boolp(tmAllowAnonymousJoin)
	return r.err()
}

// TeamsGet reads one configuration of the Skype and Teams Tenant Admin API
// (path as in teamsConfigPath) and returns its body.
func (c *Client) TeamsGet(ctx context.Context, path string) ([]byte, error) {
	base := c.o.Endpoints.Teams
	if base == "" {
		return nil, c.o.Endpoints.NotSupportedError("GET " + path)
	}
	u := strings.TrimRight(base, "/") + path
	resp, err := c.send(ctx, request{aud: AudienceTeams, method: http.MethodGet, url: u, header: jsonHeader()})
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

type teamsSource struct{ c *Client }

func (teamsSource) Section() tenant.Section { return tenant.SectionTeams }

// Collect reads the three Global configurations. When the first read
// fails, the tenant's subscriptions tell whether Teams is licensed at all:
// without a Teams service plan the section is not applicable; otherwise
// the section fails with the error, naming the role a refusal needs.
func (src teamsSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	t := &tenant.TeamsSettings{}
	body, err := src.c.TeamsGet(ctx, teamsConfigPath(teamsFederationConfig))
	if err != nil {
		if why, ok := notLicensed(ctx, src.c, "Teams", teamsServicePlanPrefixes); ok {
			snap.Teams = &tenant.TeamsSettings{NotApplicable: why}
			return nil
		}
		return fmt.Errorf("collect teams: %w", teamsRefusal(err))
	}
	var bad FieldErrors
	if err := noteItems(&bad, ParseTeamsFederation(body, t)); err != nil {
		return fmt.Errorf("collect teams: %w", err)
	}
	// The federation settings were read: a later failure keeps them and
	// makes the section partial.
	var errs []error
	for _, c := range []struct {
		name  string
		parse func([]byte, *tenant.TeamsSettings) error
	}{{teamsClientConfig, ParseTeamsClient}, {teamsMeetingConfig, ParseTeamsMeetingPolicy}} {
		body, err := src.c.TeamsGet(ctx, teamsConfigPath(c.name))
		if err != nil {
			errs = append(errs, teamsRefusal(err))
			continue
		}
		if err := noteItems(&bad, c.parse(body, t)); err != nil {
			errs = append(errs, err)
		}
	}
	snap.Teams = t
	if b := bad.err(); b != nil {
		errs = append(errs, b)
	}
	if len(errs) > 0 {
		return scanner.Partial(fmt.Errorf("collect teams: %w", errors.Join(errs...)))
	}
	return nil
}

// teamsRefusal says what a refused Teams read needs: the Tenant Admin API
// authorizes by the Entra role in the token, not by an API permission.
func teamsRefusal(err error) error {
	if IsStatus(err, http.StatusUnauthorized, http.StatusForbidden) {
		return fmt.Errorf("%w (the app needs an Entra role that may read Teams settings, such as Global Reader or Teams Administrator; the Skype and Teams Tenant Admin API takes no API permission)", err)
	}
	return err
}

// The fields read of the tenant's subscriptions, to tell an unlicensed
// service from a refused one.
var (
	skuSchema     = newSchema("subscribed sku")
	_             = skuSchema.identity("skuId")
	skuPlans      = skuSchema.objects("servicePlans", skuPlanSchema)
	skuPlanSchema = newSchema("service plan")
	_             = skuPlanSchema.identity("servicePlanId")
	skuPlanName   = skuPlanSchema.str("servicePlanName")
)

const epSubscribedSkus = "GET /v1.0/subscribedSkus"

// ParseServicePlans returns the service plan names of the subscriptions.
func ParseServicePlans(items []json.RawMessage) ([]string, error) {
	var out []string
	var bad FieldErrors
	var r, p reader
	for i, raw := range items {
		if !r.item(epSubscribedSkus, skuSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		l := r.list(skuPlans)
		for l.next(&r, &p) {
			out = append(out, p.str(skuPlanName))
		}
		if r.failed() {
			bad.add(r.first())
		}
	}
	return out, bad.err()
}

// notLicensed reports whether the tenant holds no subscription with a
// service plan whose name starts with one of prefixes, and says so. Any
// doubt (the subscriptions cannot be read, or one cannot be parsed) is
// not "unlicensed": the caller then reports its own error.
func notLicensed(ctx context.Context, c *Client, service string, prefixes []string) (string, bool) {
	var items []json.RawMessage
	if _, err := c.GraphPages(ctx, V1, "/subscribedSkus"+selectQuery(skuSchema.names()), nil, func(p []json.RawMessage) error {
		items = append(items, p...)
		return nil
	}); err != nil {
		return "", false
	}
	plans, err := ParseServicePlans(items)
	if err != nil {
		return "", false
	}
	for _, p := range plans {
		for _, pre := range prefixes {
			if strings.HasPrefix(strings.ToUpper(p), pre) {
				return "", false
			}
		}
	}
	return service + " is not licensed in this tenant (no subscription has a " + service + " service plan)", true
}
