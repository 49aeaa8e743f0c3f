package rules

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

const docLinks = "https://learn.microsoft.com/en-us/sharepoint/shareable-links-anyone-specific-people-organization"

func linkName(l *tenant.Link) string {
	if l.ItemPath != "" {
		if l.SiteURL != "" {
			return l.SiteURL + " " + l.ItemPath
		}
		return l.ItemPath
	}
	return l.WebURL
}

// eachAnyoneLink runs fn over Anyone links after the common checks (see
// eachLinkOfScope).
func eachAnyoneLink(r *builtin, e *env, emit func(tenant.Result), expected string, fn func(l *tenant.Link, key, name string)) {
	eachLinkOfScope(r, e, emit, expected, tenant.LinkScopeAnonymous, "no Anyone links", fn)
}

// eachLinkOfScope runs fn over the links of one scope, in one pass over
// the links (which may be spooled, so fn must not keep l). A link whose
// scope is missing or not recognised may be of that scope: it is unknown,
// never skipped; a tenant without such links gets one tenant-level pass
// saying none.
func eachLinkOfScope(r *builtin, e *env, emit func(tenant.Result), expected string, scope tenant.LinkScope, none string, fn func(l *tenant.Link, key, name string)) {
	if why := e.incomplete(tenant.SectionLinks); why != "" {
		emit(r.result(tenant.Unknown, keyLinks, "sharing links", expected, "", why))
		return
	}
	n := 0
	err := e.s.EachLink(func(l *tenant.Link) error {
		known := tenant.LinkScopes.Known(l.Scope)
		if known && l.Scope != scope {
			return nil
		}
		n++
		key := l.Key()
		e.linkKey, e.linkURL = key, l.WebURL
		e.linkSiteID, e.linkSiteURL = l.SiteID, l.SiteURL
		if !known {
			emit(r.result(tenant.Unknown, key, linkName(l), expected, string(l.Scope), e.memoText("link scope missing or not recognised: "+string(l.Scope))))
			return nil
		}
		fn(l, key, linkName(l))
		return nil
	})
	switch {
	case err != nil:
		emit(r.result(tenant.Unknown, keyLinks, "sharing links", expected, "", "links could not be read: "+err.Error()))
	case n == 0:
		emit(r.result(tenant.Pass, keyLinks, "sharing links", expected, none, ""))
	}
}

func evalAnyoneLink(r *builtin, e *env, emit func(tenant.Result)) {
	a := e.b.SharePoint.AnyoneLinks
	if a == nil || a.Allowed == nil || *a.Allowed {
		emit(notApplicable(r, keyLinks, "sharing links", silent))
		return
	}
	const expected = "no Anyone links"
	emit = expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleLinkScope, AtMost: string(tenant.LinkScopeOrganization)})
	eachAnyoneLink(r, e, emit, expected, func(l *tenant.Link, key, name string) {
		emit(r.result(tenant.Fail, key, name, expected, "Anyone link", "an Anyone link exists although the baseline does not allow Anyone links"))
	})
}

// ExpectedAnyoneOnConfidential is what links.anyone_on_confidential
// expects; with the rule and a link's key it makes the fingerprint of the
// link's finding (tenant.Result.Fingerprint), so the benchmark can look
// one finding up.
const ExpectedAnyoneOnConfidential = "no Anyone links on confidential content"

func evalAnyoneConfidential(r *builtin, e *env, emit func(tenant.Result)) {
	if !e.b.Confidential.Configured() {
		emit(notApplicable(r, keyLinks, "sharing links", silent))
		return
	}
	const expected = ExpectedAnyoneOnConfidential
	emit = expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleLinkScope, AtMost: string(tenant.LinkScopeOrganization)})
	if why := e.incomplete(tenant.SectionSites); why != "" {
		emit(r.result(tenant.Unknown, keyLinks, "sharing links", expected, "", why))
		return
	}
	eachAnyoneLink(r, e, emit, expected, func(l *tenant.Link, key, name string) {
		if why := e.linkSiteUnread(l); why != "" {
			emit(r.result(tenant.Unknown, key, name, expected, "", why))
			return
		}
		if msg := e.linkConfidential(l); msg != "" {
			emit(r.result(tenant.Fail, key, name, expected, "Anyone link on confidential content", msg))
			return
		}
		emit(r.result(tenant.Pass, key, name, expected, "not confidential", ""))
	})
}

func evalAnyoneExpiry(r *builtin, e *env, emit func(tenant.Result)) {
	a := e.b.SharePoint.AnyoneLinks
	if a == nil || a.MaxExpiryDays == nil {
		emit(notApplicable(r, keyLinks, "sharing links", silent))
		return
	}
	max := time.Duration(*a.MaxExpiryDays) * 24 * time.Hour
	expected := fmt.Sprintf("expires within %d days", *a.MaxExpiryDays)
	x := &expectations{base: tenant.Expectation{Scale: tenant.ScaleDays, AtMost: strconv.Itoa(*a.MaxExpiryDays)}}
	outer := expectingAll(emit, x.base)
	emit = outer
	eachAnyoneLink(r, e, emit, expected, func(l *tenant.Link, key, name string) {
		found := 0 // never
		if l.Expires != nil {
			if found = days(l.Expires.Sub(e.now)); found < 1 {
				found = 1 // within the day is not "never"
			}
		}
		emit := expectingFound(outer, x, e.count("%d", found))
		switch {
		case l.Expires == nil:
			emit(r.result(tenant.Fail, key, name, expected, "no expiry", "Anyone link never expires"))
		case l.Expires.Sub(e.now) > max:
			emit(r.result(tenant.Fail, key, name, expected, e.dated("expires ", *l.Expires), e.count("Anyone link expires in %d days", days(l.Expires.Sub(e.now)))))
		default:
			emit(r.result(tenant.Pass, key, name, expected, e.dated("expires ", *l.Expires), ""))
		}
	})
}

func evalAnyoneEdit(r *builtin, e *env, emit func(tenant.Result)) {
	a := e.b.SharePoint.AnyoneLinks
	if a == nil || a.ViewOnly == nil || !*a.ViewOnly {
		emit(notApplicable(r, keyLinks, "sharing links", silent))
		return
	}
	const expected = "view"
	outer := emit
	x := &expectations{base: tenant.Expectation{Scale: tenant.ScaleLinkType, AtMost: string(tenant.LinkTypeView)}}
	eachAnyoneLink(r, e, emit, expected, func(l *tenant.Link, key, name string) {
		emit := expectingFound(outer, x, string(l.Type))
		// The requirement names what it accepts: link types that at most
		// view, and roles that at most read. Anything else, a kind
		// Microsoft adds tomorrow included, fails and shows its raw value.
		switch {
		case l.Type == "":
			emit(r.result(tenant.Unknown, key, name, expected, "", "link type missing"))
		case !l.Type.ViewOnly():
			msg := "Anyone link grants " + string(l.Type)
			if !tenant.LinkTypes.Known(l.Type) {
				msg = "Anyone link of unrecognised type " + string(l.Type) + " is not known to be view-only"
			}
			emit(r.result(tenant.Fail, key, name, expected, string(l.Type), e.memoText(msg)))
		default:
			if role := writeRole(l.Roles); role != "" {
				emit(r.result(tenant.Fail, key, name, expected, string(l.Type)+" ("+role+")", e.memoText("Anyone link carries role "+role+", not view-only")))
				return
			}
			emit(r.result(tenant.Pass, key, name, expected, string(l.Type), ""))
		}
	})
}

// writeRole returns the first role that grants more than reading, or "".
func writeRole(roles []string) string {
	for _, ro := range roles {
		rank, ok := tenant.LinkRole(ro).Rank()
		if !ok || rank > 2 {
			return ro
		}
	}
	return ""
}
