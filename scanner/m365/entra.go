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

// The fields read of the authorization policy (bare, or as the first item
// of a collection), a B2B management policy and the default cross-tenant
// access policy.
var (
	authPolicySchema  = newSchema("")
	apAllowInvites    = authPolicySchema.str("allowInvitesFrom")
	apGuestRole       = authPolicySchema.str("guestUserRoleId")
	authPolicyWrapper = newSchema("")
	apValue           = authPolicyWrapper.items("value", authPolicySchema)

	b2bPolicySchema = newSchema("policy")
	bpID            = b2bPolicySchema.identity("id")
	bpOrgDefault    = b2bPolicySchema.looseBool("isOrganizationDefault")
	bpDefinition    = b2bPolicySchema.strings("definition")

	accessTargetsSchema     = newSchema("")
	atAccessType            = accessTargetsSchema.str("accessType")
	crossTenantAccessSchema = newSchema("")
	ctaUsersAndGroups       = crossTenantAccessSchema.object("usersAndGroups", accessTargetsSchema)
	inboundTrustSchema      = newSchema("")
	itMFAAccepted           = inboundTrustSchema.boolean("isMfaAccepted")
	crossTenantSchema       = newSchema("")
	ctdCollabIn             = crossTenantSchema.object("b2bCollaborationInbound", crossTenantAccessSchema)
	ctdCollabOut            = crossTenantSchema.object("b2bCollaborationOutbound", crossTenantAccessSchema)
	ctdDirectIn             = crossTenantSchema.object("b2bDirectConnectInbound", crossTenantAccessSchema)
	ctdDirectOut            = crossTenantSchema.object("b2bDirectConnectOutbound", crossTenantAccessSchema)
	ctdInboundTrust         = crossTenantSchema.object("inboundTrust", inboundTrustSchema)

	// A partner configuration has the default's blocks; each is null when
	// the partner inherits the default for it.
	partnerSchema   = newSchema("partner")
	ctpTenantID     = partnerSchema.identity("tenantId")
	ctpCollabIn     = partnerSchema.object("b2bCollaborationInbound", crossTenantAccessSchema)
	ctpCollabOut    = partnerSchema.object("b2bCollaborationOutbound", crossTenantAccessSchema)
	ctpDirectIn     = partnerSchema.object("b2bDirectConnectInbound", crossTenantAccessSchema)
	ctpDirectOut    = partnerSchema.object("b2bDirectConnectOutbound", crossTenantAccessSchema)
	ctpInboundTrust = partnerSchema.object("inboundTrust", inboundTrustSchema)
)

const (
	epAuthorizationPolicy = "GET /v1.0/policies/authorizationPolicy"
	epB2BPolicies         = "GET /beta/policies/b2bManagementPolicies"
	epCrossTenantDefault  = "GET /v1.0/policies/crossTenantAccessPolicy/default"
	epCrossTenantPartners = "GET /v1.0/policies/crossTenantAccessPolicy/partners"
)

// ParseAuthorizationPolicy applies an authorizationPolicy body to e. The
// beta endpoint may answer with a collection; its first item is used. A
// field that cannot be read is left unset and reported as FieldErrors.
func ParseAuthorizationPolicy(body []byte, e *tenant.EntraSettings) error {
	const ep = epAuthorizationPolicy
	var probe json.RawMessage
	if err := decodeJSON(ep, body, &probe); err != nil {
		return err
	}
	var w, r reader
	if !w.item(ep, authPolicyWrapper, body, 0) || w.failed() {
		return shapeError(w.err())
	}
	if w.raw(apValue.fieldRef) != nil {
		it := w.items(apValue)
		if !it.nextItem(&r) {
			return fmt.Errorf("%s: empty value collection", ep)
		}
	} else {
		r.item(ep, authPolicySchema, body, 0)
	}
	if r.failed() && r.first().Field == "" { // the policy is not an object
		return shapeError(r.err())
	}
	e.AllowInvitesFrom = tenant.InviteFrom(r.str(apAllowInvites))
	e.GuestUserRoleID = strings.ToLower(r.str(apGuestRole))
	return r.err()
}

// b2bPolicyRead is what the collector reads of a B2B management policy.
type b2bPolicyRead struct {
	id          string
	definitions []string
}

// chooseB2BPolicy picks the organization default policy (or the first).
// A policy that cannot be read may be the default: nothing is chosen then.
func chooseB2BPolicy(items []json.RawMessage) (*b2bPolicyRead, error) {
	var bad FieldErrors
	var chosen *b2bPolicyRead
	var r reader
	for i, raw := range items {
		if !r.item(epB2BPolicies, b2bPolicySchema, raw, i) {
			bad.add(r.first())
			continue
		}
		p := &b2bPolicyRead{id: r.str(bpID), definitions: r.strs(bpDefinition)}
		def := r.looseBool(bpOrgDefault)
		if r.failed() {
			bad.add(r.first())
			continue
		}
		if chosen == nil || (def != nil && *def) {
			chosen = p
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	return chosen, nil
}

// ParseB2BManagementPolicies reads the policy list. No policy, or one
// without an invitations block, is "no restriction" — a value, not an error.
func ParseB2BManagementPolicies(items []json.RawMessage) (*tenant.DomainList, error) {
	chosen, err := chooseB2BPolicy(items)
	if err != nil {
		return nil, err
	}
	if chosen == nil || len(chosen.definitions) == 0 {
		return invitationsFromDefinition(nil), nil
	}
	d, err := decodeB2BDefinition(chosen.definitions[0])
	if err != nil {
		return nil, fmt.Errorf("%s: policy %q: %w", epB2BPolicies, chosen.id, err)
	}
	return invitationsFromDefinition(d), nil
}

// ParseCrossTenantDefault reads the default cross-tenant access policy.
// A field that cannot be read is left unset and reported as FieldErrors
// with the policy.
func ParseCrossTenantDefault(body []byte) (*tenant.CrossTenantDefault, error) {
	const ep = epCrossTenantDefault
	var probe json.RawMessage
	if err := decodeJSON(ep, body, &probe); err != nil {
		return nil, err
	}
	var r reader
	if !r.item(ep, crossTenantSchema, body, 0) {
		return nil, shapeError(r.err())
	}
	var b, ug reader
	access := func(f objField) string {
		if r.open(f, &b) && b.open(ctaUsersAndGroups, &ug) {
			return ug.str(atAccessType)
		}
		return ""
	}
	d := &tenant.CrossTenantDefault{
		B2BCollaborationInbound: access(ctdCollabIn), B2BCollaborationOutbound: access(ctdCollabOut),
		B2BDirectConnectInbound: access(ctdDirectIn), B2BDirectConnectOutbound: access(ctdDirectOut),
	}
	if r.open(ctdInboundTrust, &b) {
		d.InboundTrustMFA = b.boolp(itMFAAccepted)
	}
	return d, r.err()
}

// ParseCrossTenantPartners reads the partner configurations. A partner
// that cannot be read is left out and reported in FieldErrors, so the
// section is partial and its absence is never read as a removal.
func ParseCrossTenantPartners(items []json.RawMessage) ([]tenant.CrossTenantPartner, error) {
	out := make([]tenant.CrossTenantPartner, 0, len(items))
	var bad FieldErrors
	var r, b, ug reader
	for i, raw := range items {
		if !r.item(epCrossTenantPartners, partnerSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		access := func(f objField) string {
			if r.open(f, &b) && b.open(ctaUsersAndGroups, &ug) {
				return ug.str(atAccessType)
			}
			return ""
		}
		p := tenant.CrossTenantPartner{
			TenantID:                r.str(ctpTenantID),
			B2BCollaborationInbound: access(ctpCollabIn), B2BCollaborationOutbound: access(ctpCollabOut),
			B2BDirectConnectInbound: access(ctpDirectIn), B2BDirectConnectOutbound: access(ctpDirectOut),
		}
		if r.open(ctpInboundTrust, &b) {
			p.InboundTrustMFA = b.boolp(itMFAAccepted)
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out = append(out, p)
	}
	return out, bad.err()
}

type entraSource struct{ c *Client }

func (entraSource) Section() tenant.Section { return tenant.SectionEntra }

func (src entraSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	e := &tenant.EntraSettings{}
	var errs []error
	// A read counts when it gave its settings, even with some fields
	// unreadable (FieldErrors); the section is then partial.
	ok := 0
	note := func(err error) {
		if err == nil || isFieldErrors(err) {
			ok++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	var body rawBody
	if err := src.c.GraphGet(ctx, V1, "/policies/authorizationPolicy"+selectQuery(authPolicySelect()), &body); err != nil {
		errs = append(errs, err)
	} else {
		note(ParseAuthorizationPolicy(body, e))
	}
	var items []json.RawMessage
	if !src.c.o.Endpoints.Supported(epB2BPolicies) {
		// Not a failure: the cloud has no such setting to read.
		e.NotInCloud = append(e.NotInCloud, "invitations")
		ok++
	} else if _, err := src.c.GraphPages(ctx, Beta, "/policies/b2bManagementPolicies", nil, func(p []json.RawMessage) error {
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
	if err := src.c.GraphGet(ctx, V1, "/policies/crossTenantAccessPolicy/default"+selectQuery(crossTenantSelect()), &body); err != nil {
		errs = append(errs, err)
	} else {
		d, err := ParseCrossTenantDefault(body)
		if d != nil {
			e.CrossTenantDefault = d
		}
		note(err)
	}
	var partners []json.RawMessage
	if _, err := src.c.GraphPages(ctx, V1, "/policies/crossTenantAccessPolicy/partners"+selectQuery(partnerSelect()), nil, func(p []json.RawMessage) error {
		partners = append(partners, p...)
		return nil
	}); err != nil {
		errs = append(errs, forbiddenNeeds(err, "Policy.Read.All"))
	} else {
		l, err := ParseCrossTenantPartners(partners)
		e.CrossTenantPartners = l
		note(err)
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

// authPolicySelect lists the fields asked for.
func authPolicySelect() []string { return authPolicySchema.names() }

// crossTenantSelect lists the fields asked for.
func crossTenantSelect() []string { return crossTenantSchema.names() }

// partnerSelect lists the fields asked for of a partner configuration.
func partnerSelect() []string { return partnerSchema.names() }

// forbiddenNeeds names the application permission a refused (403) read
// needs, so the section status says what to grant.
func forbiddenNeeds(err error, perm string) error {
	if IsStatus(err, http.StatusForbidden) {
		return fmt.Errorf("%w (the app needs the %s application permission)", err, perm)
	}
	return err
}
