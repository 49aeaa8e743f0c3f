package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

const (
	docCrossTenant  = "https://learn.microsoft.com/en-us/entra/external-id/cross-tenant-access-overview"
	docCrossPartner = "https://learn.microsoft.com/en-us/entra/external-id/cross-tenant-access-settings-b2b-direct-connect"
)

// keyCrossTenantPartners is the object of results about the partner list
// as a whole (none configured, list not collected).
const keyCrossTenantPartners = "entra:crossTenantPartners"

// crossTenantDirection is one of the four access settings of a
// cross-tenant access configuration.
type crossTenantDirection struct {
	name      string
	defaultOf func(*tenant.CrossTenantDefault) string
	partnerOf func(*tenant.CrossTenantPartner) string
}

var crossTenantDirections = []crossTenantDirection{
	{name: "B2B collaboration inbound", defaultOf: func(d *tenant.CrossTenantDefault) string { return d.B2BCollaborationInbound },
		partnerOf: func(p *tenant.CrossTenantPartner) string { return p.B2BCollaborationInbound }},
	{name: "B2B collaboration outbound", defaultOf: func(d *tenant.CrossTenantDefault) string { return d.B2BCollaborationOutbound },
		partnerOf: func(p *tenant.CrossTenantPartner) string { return p.B2BCollaborationOutbound }},
	{name: "B2B direct connect inbound", defaultOf: func(d *tenant.CrossTenantDefault) string { return d.B2BDirectConnectInbound },
		partnerOf: func(p *tenant.CrossTenantPartner) string { return p.B2BDirectConnectInbound }},
	{name: "B2B direct connect outbound", defaultOf: func(d *tenant.CrossTenantDefault) string { return d.B2BDirectConnectOutbound },
		partnerOf: func(p *tenant.CrossTenantPartner) string { return p.B2BDirectConnectOutbound }},
}

// accessRank places an access value: blocked 0, allowed 1; ok is false
// for a value Microsoft may add later, which has no place yet.
func accessRank(v string) (rank int, ok bool) {
	switch v {
	case tenant.AccessBlocked:
		return 0, true
	case tenant.AccessAllowed:
		return 1, true
	}
	return 0, false
}

func evalDefaultDirectConnect(r *builtin, e *env, emit func(tenant.Result)) {
	ct := e.b.Entra.CrossTenant
	key := tenant.KeyEntraCrossTenant
	const name = "Cross-tenant access defaults"
	if ct == nil || ct.AllowDefaultDirectConnect == nil || *ct.AllowDefaultDirectConnect {
		emit(notApplicable(r, key, name, silent))
		return
	}
	const expected = "direct connect blocked inbound and outbound"
	en := entraSettings(r, e, emit, key, expected)
	if en == nil {
		return
	}
	d := en.CrossTenantDefault
	if d == nil {
		emit(r.result(tenant.Unknown, key, name, expected, "", "cross-tenant access default policy not collected"))
		return
	}
	in, out := d.B2BDirectConnectInbound, d.B2BDirectConnectOutbound
	actual := "inbound " + orNone(in) + ", outbound " + orNone(out)
	var open []string
	for _, v := range []struct{ dir, val string }{{"inbound", in}, {"outbound", out}} {
		rank, ok := accessRank(v.val)
		switch {
		case v.val == "":
			emit(r.result(tenant.Unknown, key, name, expected, actual, "direct connect "+v.dir+" access type missing"))
			return
		case !ok:
			// A value the rule cannot place is never read as blocked.
			emit(r.result(tenant.Fail, key, name, expected, actual, "direct connect "+v.dir+" access type not recognised: "+v.val))
			return
		case rank > 0:
			open = append(open, v.dir)
		}
	}
	if len(open) > 0 {
		emit(r.result(tenant.Fail, key, name, expected, actual, "B2B direct connect is open "+strings.Join(open, " and ")+" to every tenant not configured as a partner"))
		return
	}
	emit(r.result(tenant.Pass, key, name, expected, actual, ""))
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// partnerWidening lists what a partner allows beyond the default; why is
// set when that cannot be told, and unrecognised when the partner holds a
// value the rule cannot place (which fails, showing it).
func partnerWidening(d *tenant.CrossTenantDefault, p *tenant.CrossTenantPartner) (wider []string, why string, unrecognised bool) {
	for _, dir := range crossTenantDirections {
		pv := dir.partnerOf(p)
		if pv == "" {
			continue // inherits the default: never wider
		}
		pr, ok := accessRank(pv)
		if !ok {
			return nil, dir.name + " access type not recognised: " + pv, true
		}
		dv := dir.defaultOf(d)
		dr, ok := accessRank(dv)
		if !ok {
			if pr == 0 {
				continue // blocked is never wider than anything
			}
			return nil, dir.name + ": the default's access type is missing or not recognised (" + orNone(dv) + ")", false
		}
		if pr > dr {
			wider = append(wider, fmt.Sprintf("%s %s (default %s)", dir.name, pv, dv))
		}
	}
	if p.InboundTrustMFA != nil && *p.InboundTrustMFA {
		switch {
		case d.InboundTrustMFA == nil:
			return nil, "inbound trust: the default's MFA trust is missing", false
		case !*d.InboundTrustMFA:
			wider = append(wider, "inbound trust accepts the partner's MFA (default does not)")
		}
	}
	return wider, "", false
}

func evalPartnerWider(r *builtin, e *env, emit func(tenant.Result)) {
	ct := e.b.Entra.CrossTenant
	const name = "Cross-tenant partners"
	if ct == nil || ct.ApprovedPartners == nil {
		emit(notApplicable(r, keyCrossTenantPartners, name, silent))
		return
	}
	const expected = "no wider than the default unless approved"
	en := entraSettings(r, e, emit, keyCrossTenantPartners, expected)
	if en == nil {
		return
	}
	if en.CrossTenantPartners == nil {
		emit(r.result(tenant.Unknown, keyCrossTenantPartners, name, expected, "", "cross-tenant partner configurations not collected"))
		return
	}
	if len(en.CrossTenantPartners) == 0 {
		emit(r.result(tenant.Pass, keyCrossTenantPartners, name, expected, "no partners", ""))
		return
	}
	d := en.CrossTenantDefault
	for i := range en.CrossTenantPartners {
		p := &en.CrossTenantPartners[i]
		pname := "Cross-tenant partner " + p.TenantID
		if d == nil {
			emit(r.result(tenant.Unknown, p.Key(), pname, expected, "", "cross-tenant access default policy not collected"))
			continue
		}
		wider, why, unrecognised := partnerWidening(d, p)
		approved := slices.ContainsFunc(*ct.ApprovedPartners, func(id string) bool { return strings.EqualFold(id, p.TenantID) })
		switch {
		case unrecognised:
			emit(r.result(tenant.Fail, p.Key(), pname, expected, why, why))
		case why != "":
			emit(r.result(tenant.Unknown, p.Key(), pname, expected, "", why))
		case len(wider) == 0:
			emit(r.result(tenant.Pass, p.Key(), pname, expected, "not wider than the default", ""))
		case approved:
			emit(r.result(tenant.Pass, p.Key(), pname, expected, strings.Join(wider, "; ")+" (approved)", ""))
		default:
			emit(r.result(tenant.Fail, p.Key(), pname, expected, strings.Join(wider, "; "), "partner "+p.TenantID+" is wider than the default and not approved in the baseline"))
		}
	}
}
