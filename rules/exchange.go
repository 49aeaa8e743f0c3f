package rules

import (
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	docSharingPolicy = "https://learn.microsoft.com/en-us/exchange/sharing/sharing-policies/sharing-policies"
	docOrgRel        = "https://learn.microsoft.com/en-us/exchange/sharing/organization-relationships/organization-relationships"
	docSetSharing    = "https://learn.microsoft.com/en-us/powershell/module/exchange/set-sharingpolicy"
	docRemoteDomains = "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/remote-domains/remote-domains"
)

const (
	domainAll       = "*"
	domainAnonymous = "Anonymous"
)

func exchangeSettings(r *builtin, e *env, emit func(tenant.Result), expected string) *tenant.ExchangeSettings {
	if why := e.incomplete(tenant.SectionExchange); why != "" {
		emit(r.result(tenant.Unknown, keyExchange, "Exchange sharing", expected, "", why))
		return nil
	}
	if e.s.Exchange == nil {
		emit(r.result(tenant.Unknown, keyExchange, "Exchange sharing", expected, "", "Exchange settings missing from the snapshot"))
		return nil
	}
	return e.s.Exchange
}

// calendarFound is the highest calendar action of an entry in the
// snapshot's spelling: "none" without one, the raw action when one is not
// recognised (it has no place on the scale).
func calendarFound(actions []string) string {
	found := tenant.CalendarNone
	for _, a := range actions {
		if a == tenant.ContactsSharing {
			continue
		}
		if tenant.ScaleCalendar.Wider(found, a) {
			found = a
		}
		if _, ok := tenant.ScaleCalendar.Rank(a); !ok {
			return a
		}
	}
	return found
}

// calendarRank is the highest calendar action in an entry; ok is false when
// an action is not recognised (a future value Microsoft may add).
func calendarRank(actions []string) (rank int, ok bool) {
	for _, a := range actions {
		if a == tenant.ContactsSharing {
			continue
		}
		r, known := tenant.CalendarDetailRank(a)
		if !known {
			return 0, false
		}
		rank = max(rank, r)
	}
	return rank, true
}

func policyDisabled(p *tenant.SharingPolicy) bool { return p.Enabled != nil && !*p.Enabled }

// eachPolicyEntry calls fn for each entry of every sharing policy whose
// domain satisfies match, emitting a pass for policies without such entries
// or that are disabled.
func eachPolicyEntry(r *builtin, e *env, emit func(tenant.Result), expected string, match func(domain string) bool, fn func(p *tenant.SharingPolicy, d *tenant.SharingDomain)) {
	ex := exchangeSettings(r, e, emit, expected)
	if ex == nil {
		return
	}
	if len(ex.SharingPolicies) == 0 {
		emit(r.result(tenant.Pass, keyExchange, "Exchange sharing", expected, "no sharing policies", ""))
		return
	}
	for i := range ex.SharingPolicies {
		p := &ex.SharingPolicies[i]
		if policyDisabled(p) {
			emit(r.result(tenant.Pass, p.Key(), p.Name, expected, "policy disabled", ""))
			continue
		}
		seen := false
		for j := range p.Domains {
			if match(p.Domains[j].Domain) {
				seen = true
				fn(p, &p.Domains[j])
			}
		}
		if !seen {
			emit(r.result(tenant.Pass, p.Key(), p.Name, expected, "no matching entry", ""))
		}
	}
}

func evalAnonCalendar(r *builtin, e *env, emit func(tenant.Result)) {
	cs := e.b.Exchange.CalendarSharing
	if cs == nil || cs.AllowAnonymous == nil || *cs.AllowAnonymous {
		emit(notApplicable(r, keyExchange, "Exchange sharing", silent))
		return
	}
	const expected = "no anonymous calendar sharing"
	eachPolicyEntry(r, e, emit, expected, func(d string) bool { return strings.EqualFold(d, domainAnonymous) }, func(p *tenant.SharingPolicy, d *tenant.SharingDomain) {
		actual := d.Domain + ":" + strings.Join(d.Actions, ",")
		emit := expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleCalendar, AtMost: tenant.CalendarNone, Found: calendarFound(d.Actions), Domain: d.Domain})
		if len(d.Actions) == 0 {
			emit(r.result(tenant.Pass, p.Key(), p.Name, expected, actual, ""))
			return
		}
		emit(r.result(tenant.Fail, p.Key(), p.Name, expected, actual, "calendars can be published to anonymous users"))
	})
}

func evalAllDomainsCalendar(r *builtin, e *env, emit func(tenant.Result)) {
	cs := e.b.Exchange.CalendarSharing
	if cs == nil || cs.MaxAllDomainsDetail == nil {
		emit(notApplicable(r, keyExchange, "Exchange sharing", silent))
		return
	}
	max := *cs.MaxAllDomainsDetail
	limit, _ := max.Rank()
	expected := atMost(max)
	eachPolicyEntry(r, e, emit, expected, func(d string) bool { return d == domainAll }, func(p *tenant.SharingPolicy, d *tenant.SharingDomain) {
		actual := d.Domain + ":" + strings.Join(d.Actions, ",")
		emit := expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleCalendar, AtMost: string(max.Tenant()), Found: calendarFound(d.Actions), Domain: d.Domain})
		rank, ok := calendarRank(d.Actions)
		switch {
		case !ok:
			emit(r.result(tenant.Unknown, p.Key(), p.Name, expected, actual, "calendar sharing action not recognised"))
		case rank > limit:
			emit(r.result(tenant.Fail, p.Key(), p.Name, expected, actual, fmt.Sprintf("all domains see %s, more than %s", calendarName(rank), max)))
		default:
			emit(r.result(tenant.Pass, p.Key(), p.Name, expected, actual, ""))
		}
	})
}

func evalDomainCalendar(r *builtin, e *env, emit func(tenant.Result)) {
	cs := e.b.Exchange.CalendarSharing
	if cs == nil || (cs.MaxAllDomainsDetail == nil && len(cs.Domains) == 0) {
		emit(notApplicable(r, keyExchange, "Exchange sharing", silent))
		return
	}
	named := func(d string) bool { return d != domainAll && !strings.EqualFold(d, domainAnonymous) }
	eachPolicyEntry(r, e, emit, "per-domain ceilings", named, func(p *tenant.SharingPolicy, d *tenant.SharingDomain) {
		max := cs.MaxAllDomainsDetail
		for _, dd := range cs.Domains {
			if baselines.Glob(dd.Domain, d.Domain) {
				max = dd.MaxDetail
				break
			}
		}
		key := p.Key() + "/domain:" + strings.ToLower(d.Domain)
		name := p.Name + " " + d.Domain
		actual := d.Domain + ":" + strings.Join(d.Actions, ",")
		if max == nil {
			emit(r.result(tenant.NotApplicable, key, name, "", actual, "no ceiling for this domain"))
			return
		}
		limit, _ := max.Rank()
		emit := expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleCalendar, AtMost: string(max.Tenant()), Found: calendarFound(d.Actions), Domain: d.Domain})
		rank, ok := calendarRank(d.Actions)
		switch {
		case !ok:
			emit(r.result(tenant.Unknown, key, name, atMost(*max), actual, "calendar sharing action not recognised"))
		case rank > limit:
			emit(r.result(tenant.Fail, key, name, atMost(*max), actual, fmt.Sprintf("%s sees %s, more than %s", d.Domain, calendarName(rank), *max)))
		default:
			emit(r.result(tenant.Pass, key, name, atMost(*max), actual, ""))
		}
	})
}

func evalContactsAllDomains(r *builtin, e *env, emit func(tenant.Result)) {
	cs := e.b.Exchange.CalendarSharing
	if cs == nil || cs.AllowContactsWithAllDomains == nil || *cs.AllowContactsWithAllDomains {
		emit(notApplicable(r, keyExchange, "Exchange sharing", silent))
		return
	}
	const expected = "no contacts sharing with all domains"
	eachPolicyEntry(r, e, emit, expected, func(d string) bool { return d == domainAll }, func(p *tenant.SharingPolicy, d *tenant.SharingDomain) {
		actual := d.Domain + ":" + strings.Join(d.Actions, ",")
		emit := expectingAll(emit, tenant.Expectation{Domain: d.Domain, Fields: []string{tenant.ContactsSharing}})
		for _, a := range d.Actions {
			if a == tenant.ContactsSharing {
				emit(r.result(tenant.Fail, p.Key(), p.Name, expected, actual, "contacts folders are shared with all domains"))
				return
			}
		}
		emit(r.result(tenant.Pass, p.Key(), p.Name, expected, actual, ""))
	})
}

func orgRelName(o *tenant.OrgRelationship) string {
	if len(o.DomainNames) == 0 {
		return o.Name
	}
	return o.Name + " (" + strings.Join(o.DomainNames, ", ") + ")"
}

// allowedEntry is the baseline entry covering all of a relationship's
// domains, or nil.
func allowedEntry(list []baselines.AllowedOrgRelationship, o *tenant.OrgRelationship) *baselines.AllowedOrgRelationship {
	if len(o.DomainNames) == 0 {
		return nil
	}
	for i := range list {
		all := true
		for _, d := range o.DomainNames {
			if !baselines.Glob(list[i].Domain, d) {
				all = false
				break
			}
		}
		if all {
			return &list[i]
		}
	}
	return nil
}

func eachOrgRel(r *builtin, e *env, emit func(tenant.Result), expected string, fn func(o *tenant.OrgRelationship)) {
	ex := exchangeSettings(r, e, emit, expected)
	if ex == nil {
		return
	}
	if len(ex.OrganizationRelationships) == 0 {
		emit(r.result(tenant.Pass, keyExchange, "organization relationships", expected, "none", ""))
		return
	}
	for i := range ex.OrganizationRelationships {
		fn(&ex.OrganizationRelationships[i])
	}
}

func evalOrgRelAllowed(r *builtin, e *env, emit func(tenant.Result)) {
	or := e.b.Exchange.OrganizationRelationships
	if or == nil || or.Allowed == nil {
		emit(notApplicable(r, keyExchange, "organization relationships", silent))
		return
	}
	const expected = "listed in the baseline"
	eachOrgRel(r, e, emit, expected, func(o *tenant.OrgRelationship) {
		domains := strings.Join(o.DomainNames, ", ")
		switch {
		case o.Enabled != nil && !*o.Enabled:
			emit(r.result(tenant.Pass, o.Key(), orgRelName(o), expected, "disabled", ""))
		case allowedEntry(*or.Allowed, o) != nil:
			emit(r.result(tenant.Pass, o.Key(), orgRelName(o), expected, domains, ""))
		default:
			emit(r.result(tenant.Fail, o.Key(), orgRelName(o), expected, domains, "organization relationship with "+domains+" is not in the baseline"))
		}
	})
}

func evalOrgRelFreeBusy(r *builtin, e *env, emit func(tenant.Result)) {
	or := e.b.Exchange.OrganizationRelationships
	hasCeiling := or != nil && or.MaxFreeBusy != nil
	if or != nil && or.Allowed != nil {
		for _, a := range *or.Allowed {
			hasCeiling = hasCeiling || a.MaxFreeBusy != nil
		}
	}
	if !hasCeiling {
		emit(notApplicable(r, keyExchange, "organization relationships", silent))
		return
	}
	eachOrgRel(r, e, emit, "free/busy within ceiling", func(o *tenant.OrgRelationship) {
		max := or.MaxFreeBusy
		if or.Allowed != nil {
			if a := allowedEntry(*or.Allowed, o); a != nil && a.MaxFreeBusy != nil {
				max = a.MaxFreeBusy
			}
		}
		if max == nil {
			emit(r.result(tenant.NotApplicable, o.Key(), orgRelName(o), "", "", "no free/busy ceiling for this relationship"))
			return
		}
		expected := atMost(*max)
		limit, _ := max.Rank()
		x := tenant.Expectation{Scale: tenant.ScaleFreeBusy, AtMost: string(max.Tenant()), Found: o.FreeBusyAccessLevel}
		if o.FreeBusyAccessEnabled != nil && !*o.FreeBusyAccessEnabled || o.Enabled != nil && !*o.Enabled {
			x.Found = tenant.FreeBusyNone
		}
		emit := expectingAll(emit, x)
		if o.Enabled != nil && !*o.Enabled {
			emit(r.result(tenant.Pass, o.Key(), orgRelName(o), expected, "disabled", ""))
			return
		}
		if o.FreeBusyAccessEnabled == nil {
			emit(r.result(tenant.Unknown, o.Key(), orgRelName(o), expected, "", "free/busy access setting missing"))
			return
		}
		if !*o.FreeBusyAccessEnabled {
			emit(r.result(tenant.Pass, o.Key(), orgRelName(o), expected, "none", ""))
			return
		}
		level := tenant.FreeBusyLevel(o.FreeBusyAccessLevel)
		rank, ok := level.Rank()
		if !ok {
			emit(r.result(tenant.Unknown, o.Key(), orgRelName(o), expected, o.FreeBusyAccessLevel, "free/busy level missing or not recognised"))
			return
		}
		if rank > limit {
			emit(r.result(tenant.Fail, o.Key(), orgRelName(o), expected, freeBusyName(level), fmt.Sprintf("relationship shares %s free/busy, more than %s", freeBusyName(level), *max)))
			return
		}
		emit(r.result(tenant.Pass, o.Key(), orgRelName(o), expected, freeBusyName(level), ""))
	})
}

// keyRemoteDomains is the object of results about the remote domain list
// as a whole.
const keyRemoteDomains = "exchange:remoteDomains"

func evalAutoForwarding(r *builtin, e *env, emit func(tenant.Result)) {
	af := e.b.Exchange.AutoForwarding
	const name = "Exchange remote domains"
	if af == nil || af.Allowed == nil || *af.Allowed {
		emit(notApplicable(r, keyRemoteDomains, name, silent))
		return
	}
	const expected = "automatic forwarding disabled"
	ex := exchangeSettings(r, e, emit, expected)
	if ex == nil {
		return
	}
	switch {
	case ex.RemoteDomains == nil:
		emit(r.result(tenant.Unknown, keyRemoteDomains, name, expected, "", "remote domains not collected"))
		return
	case len(ex.RemoteDomains) == 0:
		// Exchange always has the Default remote domain; an empty list
		// means it was not seen, not that nothing forwards.
		emit(r.result(tenant.Unknown, keyRemoteDomains, name, expected, "", "no remote domain reported, not even the Default (*)"))
		return
	}
	for i := range ex.RemoteDomains {
		d := &ex.RemoteDomains[i]
		dname := d.Name + " (" + d.DomainName + ")"
		switch {
		case d.AutoForwardEnabled == nil:
			emit(r.result(tenant.Unknown, d.Key(), dname, expected, "", "AutoForwardEnabled missing"))
		case !*d.AutoForwardEnabled:
			emit(r.result(tenant.Pass, d.Key(), dname, expected, "disabled", ""))
		case d.DomainName != domainAll && forwardingAllowed(af.AllowedDomains, d.DomainName):
			emit(r.result(tenant.Pass, d.Key(), dname, expected, "enabled (allowed domain)", ""))
		case d.DomainName == domainAll:
			emit(r.result(tenant.Fail, d.Key(), dname, expected, "enabled", "mail clients may auto-forward to every external domain without a remote domain of its own"))
		default:
			emit(r.result(tenant.Fail, d.Key(), dname, expected, "enabled", "mail clients may auto-forward to "+d.DomainName))
		}
	}
}

func forwardingAllowed(globs []string, domain string) bool {
	for _, g := range globs {
		if baselines.Glob(g, domain) {
			return true
		}
	}
	return false
}
