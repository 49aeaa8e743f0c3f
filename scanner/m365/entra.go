package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

var crossTenantSelect = []string{"b2bCollaborationInbound", "b2bCollaborationOutbound", "b2bDirectConnectInbound", "b2bDirectConnectOutbound", "inboundTrust"}

// ParseAuthorizationPolicy applies an authorizationPolicy body to e. The
// beta endpoint may answer with a collection; its first item is used.
func ParseAuthorizationPolicy(body []byte, e *tenant.EntraSettings) error {
	const ep = "GET /v1.0/policies/authorizationPolicy"
	p, err := decodeProps(ep, body)
	if err != nil {
		return err
	}
	if v := p.raw("value"); v != nil && v[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil || len(items) == 0 {
			return fmt.Errorf("%s: empty value collection", ep)
		}
		if p, err = decodeProps(ep, items[0]); err != nil {
			return err
		}
	}
	e.AllowInvitesFrom = tenant.InviteFrom(p.s("allowInvitesFrom"))
	e.GuestUserRoleID = strings.ToLower(p.s("guestUserRoleId"))
	return nil
}

// ParseB2BManagementPolicies reads the policy list. No policy, or one
// without an invitations block, is "no restriction" — a value, not an error.
func ParseB2BManagementPolicies(items []json.RawMessage) (*tenant.DomainList, error) {
	const ep = "GET /beta/policies/b2bManagementPolicies"
	var chosen props
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("policy %d: %w", i, err)
		}
		if chosen == nil || isTrue(p.raw("isOrganizationDefault")) {
			chosen = p
		}
	}
	if chosen == nil {
		return invitationsFromDefinition(nil), nil
	}
	defs := chosen.strings("definition")
	if len(defs) == 0 {
		return invitationsFromDefinition(nil), nil
	}
	d, err := decodeB2BDefinition(defs[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ep, err)
	}
	return invitationsFromDefinition(d), nil
}

// isTrue accepts true and "true" (the documented sample uses a string).
func isTrue(raw json.RawMessage) bool {
	b := exchangeBool(raw)
	return b != nil && *b
}

// ParseCrossTenantDefault reads the default cross-tenant access policy.
func ParseCrossTenantDefault(body []byte) (*tenant.CrossTenantDefault, error) {
	const ep = "GET /v1.0/policies/crossTenantAccessPolicy/default"
	p, err := decodeProps(ep, body)
	if err != nil {
		return nil, err
	}
	access := func(k string) string {
		if b := p.object(k); b != nil {
			if ug := b.object("usersAndGroups"); ug != nil {
				return ug.s("accessType")
			}
		}
		return ""
	}
	d := &tenant.CrossTenantDefault{
		B2BCollaborationInbound: access("b2bCollaborationInbound"), B2BCollaborationOutbound: access("b2bCollaborationOutbound"),
		B2BDirectConnectInbound: access("b2bDirectConnectInbound"), B2BDirectConnectOutbound: access("b2bDirectConnectOutbound"),
	}
	if t := p.object("inboundTrust"); t != nil {
		d.InboundTrustMFA = t.boolean("isMfaAccepted")
	}
	return d, nil
}

type entraSource struct{ c *Client }

func (entraSource) Section() tenant.Section { return tenant.SectionEntra }

func (src entraSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	e := &tenant.EntraSettings{}
	var errs []error
	ok := 0
	var body rawBody
	if err := src.c.GraphGet(ctx, V1, "/policies/authorizationPolicy"+selectQuery([]string{"allowInvitesFrom", "guestUserRoleId"}), &body); err != nil {
		errs = append(errs, err)
	} else if err := ParseAuthorizationPolicy(body, e); err != nil {
		errs = append(errs, err)
	} else {
		ok++
	}
	var items []json.RawMessage
	if _, err := src.c.GraphPages(ctx, Beta, "/policies/b2bManagementPolicies", nil, func(p []json.RawMessage) error {
		items = append(items, p...)
		return nil
	}); err != nil {
		errs = append(errs, err)
	} else if l, err := ParseB2BManagementPolicies(items); err != nil {
		errs = append(errs, err)
	} else {
		e.Invitations = l
		ok++
	}
	body = nil
	if err := src.c.GraphGet(ctx, V1, "/policies/crossTenantAccessPolicy/default"+selectQuery(crossTenantSelect), &body); err != nil {
		errs = append(errs, err)
	} else if d, err := ParseCrossTenantDefault(body); err != nil {
		errs = append(errs, err)
	} else {
		e.CrossTenantDefault = d
		ok++
	}
	if len(errs) == 0 {
		snap.Entra = e
		return nil
	}
	err := fmt.Errorf("collect entra: %w", errors.Join(errs...))
	if ok == 0 {
		return err
	}
	snap.Entra = e
	return scanner.Partial(err)
}
