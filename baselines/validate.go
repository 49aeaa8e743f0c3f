package baselines

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// maxDays bounds every day count: ten years is already far beyond any
// setting Microsoft accepts, so more is a typo.
const maxDays = 3650

// enumValues lists the valid values of a baseline enum type in scale order,
// from the model's vocabulary.
func enumValues(t reflect.Type) string {
	var vals []string
	switch t {
	case reflect.TypeOf(SharingLevel("")):
		vals = tenant.SharingLevels.BaselineNames()
	case reflect.TypeOf(DomainMode("")):
		vals = tenant.DomainModes.BaselineNames()
	case reflect.TypeOf(LinkScope("")):
		vals = tenant.LinkScopes.BaselineNames()
	case reflect.TypeOf(LinkPermission("")):
		vals = tenant.LinkTypes.BaselineNames()
	case reflect.TypeOf(InviteFrom("")):
		vals = tenant.InviteFroms.BaselineNames()
	case reflect.TypeOf(GuestAccess("")):
		vals = tenant.GuestAccesses.BaselineNames()
	case reflect.TypeOf(CalendarDetail("")):
		vals = tenant.CalendarActions.BaselineNames()
	case reflect.TypeOf(FreeBusy("")):
		vals = tenant.FreeBusyLevels.BaselineNames()
	case reflect.TypeOf(PowerBIReach("")):
		for _, r := range PowerBIReaches {
			vals = append(vals, string(r))
		}
	}
	return strings.Join(vals, ", ")
}

type checker struct {
	file string
	errs []error
}

func (c *checker) fail(key string, value any, expected string) {
	c.errs = append(c.errs, &Error{File: c.file, Key: key, Value: value, Expected: expected})
}

// enum checks an optional enum value against its type's value list.
func enum[T ~string](c *checker, key string, v *T) {
	if v == nil {
		return
	}
	vals := enumValues(reflect.TypeOf(*v))
	for _, ok := range strings.Split(vals, ", ") {
		if string(*v) == ok {
			return
		}
	}
	c.fail(key, string(*v), "one of "+vals)
}

func (c *checker) days(key string, v *int, min int) {
	if v != nil && (*v < min || *v > maxDays) {
		c.fail(key, *v, fmt.Sprintf("a number of days from %d to %d", min, maxDays))
	}
}

func (c *checker) glob(key, p string) {
	if err := checkGlob(p); err != nil {
		c.fail(key, p, "a glob pattern ("+err.Error()+")")
	}
}

// objectGlob validates an exception's object pattern: object names have
// spaces ("Payroll 2026.xlsx"), so inner spaces are allowed, unlike in
// domain patterns.
func (c *checker) objectGlob(key, p string) {
	err := checkGlob(strings.ReplaceAll(p, " ", "_"))
	if err == nil && strings.TrimSpace(p) != p {
		err = fmt.Errorf("pattern has leading or trailing spaces")
	}
	if err != nil {
		c.fail(key, p, "a glob pattern ("+err.Error()+")")
	}
}

func (c *checker) domains(key string, list []string) {
	for i, d := range list {
		c.glob(fmt.Sprintf("%s[%d]", key, i), d)
		if strings.Contains(d, "://") || strings.Contains(d, "/") {
			c.fail(fmt.Sprintf("%s[%d]", key, i), d, "a domain name or domain glob, not a URL")
		}
	}
}

func (c *checker) restriction(key string, r *DomainRestriction) {
	if r == nil {
		return
	}
	enum(c, key+".mode", r.Mode)
	c.domains(key+".must_block", r.MustBlock)
	if r.Allowed != nil {
		c.domains(key+".allowed", *r.Allowed)
		// A set, not a loop over both lists: each may hold thousands.
		blocked := make(map[string]int, len(r.MustBlock))
		for _, b := range r.MustBlock {
			blocked[foldKey(b)]++
		}
		for _, a := range *r.Allowed {
			for range blocked[foldKey(a)] {
				c.fail(key+".allowed", a, "no domain that must_block also lists")
			}
		}
	}
}

// validate checks everything the decoder cannot: enum values, day ranges,
// globs, dates and the consistency of exceptions.
func validate(b *Baseline, file string) error {
	c := &checker{file: file}
	sp := &b.SharePoint
	enum(c, "sharepoint.max_sharing_level", sp.MaxSharingLevel)
	enum(c, "sharepoint.onedrive_max_sharing_level", sp.OneDriveMaxSharingLevel)
	c.restriction("sharepoint.domain_restriction", sp.DomainRestriction)
	enum(c, "sharepoint.max_default_link_scope", sp.MaxDefaultLinkScope)
	enum(c, "sharepoint.max_default_link_permission", sp.MaxDefaultLinkPerm)
	if a := sp.AnyoneLinks; a != nil {
		c.days("sharepoint.anyone_links.max_expiry_days", a.MaxExpiryDays, 1)
	}
	c.days("sharepoint.max_verification_code_reauth_days", sp.MaxVerificationCodeReauthDays, 1)
	c.days("sharepoint.max_guest_access_expiry_days", sp.MaxGuestAccessExpiryDays, 1)

	enum(c, "sites.max_sharing_level", b.Sites.MaxSharingLevel)
	for i, r := range b.Sites.ByURL {
		key := fmt.Sprintf("sites.by_url[%d]", i)
		c.glob(key+".url", r.URL)
		if r.MaxSharingLevel == nil {
			c.fail(key+".max_sharing_level", "null", "a sharing level")
		}
		enum(c, key+".max_sharing_level", r.MaxSharingLevel)
	}
	for i, r := range b.Sites.ByLabel {
		key := fmt.Sprintf("sites.by_label[%d]", i)
		if strings.TrimSpace(r.Label) == "" {
			c.fail(key+".label", r.Label, "a sensitivity label name or ID")
		}
		if r.MaxSharingLevel == nil {
			c.fail(key+".max_sharing_level", "null", "a sharing level")
		}
		enum(c, key+".max_sharing_level", r.MaxSharingLevel)
	}

	for i, l := range b.Confidential.Labels {
		if strings.TrimSpace(l) == "" {
			c.fail(fmt.Sprintf("confidential.labels[%d]", i), l, "a sensitivity label name or ID")
		}
	}
	for i, p := range b.Confidential.URLPatterns {
		c.glob(fmt.Sprintf("confidential.url_patterns[%d]", i), p)
	}
	enum(c, "confidential.max_sharing_level", b.Confidential.MaxSharingLevel)

	enum(c, "entra.max_invite_from", b.Entra.MaxInviteFrom)
	enum(c, "entra.max_guest_access", b.Entra.MaxGuestAccess)
	c.restriction("entra.invitation_domains", b.Entra.InvitationDomains)
	if ct := b.Entra.CrossTenant; ct != nil && ct.ApprovedPartners != nil {
		for i, id := range *ct.ApprovedPartners {
			if !isTenantID(id) {
				c.fail(fmt.Sprintf("entra.cross_tenant.approved_partners[%d]", i), id, "a tenant id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47)")
			}
		}
	}

	if cs := b.Exchange.CalendarSharing; cs != nil {
		enum(c, "exchange.calendar_sharing.max_all_domains_detail", cs.MaxAllDomainsDetail)
		for i, d := range cs.Domains {
			key := fmt.Sprintf("exchange.calendar_sharing.domains[%d]", i)
			c.domains(key+".domain", []string{d.Domain})
			if d.Domain == "*" {
				c.fail(key+".domain", d.Domain, "a named domain (use max_all_domains_detail for *)")
			}
			if d.MaxDetail == nil {
				c.fail(key+".max_detail", "null", "a calendar detail level")
			}
			enum(c, key+".max_detail", d.MaxDetail)
		}
	}
	if or := b.Exchange.OrganizationRelationships; or != nil {
		enum(c, "exchange.organization_relationships.max_free_busy", or.MaxFreeBusy)
		if or.Allowed != nil {
			for i, a := range *or.Allowed {
				key := fmt.Sprintf("exchange.organization_relationships.allowed[%d]", i)
				c.domains(key+".domain", []string{a.Domain})
				enum(c, key+".max_free_busy", a.MaxFreeBusy)
			}
		}
	}

	if af := b.Exchange.AutoForwarding; af != nil {
		c.domains("exchange.auto_forwarding.allowed_domains", af.AllowedDomains)
		for i, d := range af.AllowedDomains {
			if strings.Trim(d, "*.") == "" {
				c.fail(fmt.Sprintf("exchange.auto_forwarding.allowed_domains[%d]", i), d, "a named domain (\"*\" would allow forwarding everywhere)")
			}
		}
	}

	enum(c, "powerbi.max_publish_to_web", b.PowerBI.MaxPublishToWeb)
	enum(c, "powerbi.max_guest_access", b.PowerBI.MaxGuestAccess)
	enum(c, "powerbi.max_external_sharing", b.PowerBI.MaxExternalSharing)

	c.days("guests.stale_after_days", b.Guests.StaleAfterDays, 1)
	c.days("guests.pending_max_days", b.Guests.PendingMaxDays, 1)

	seen := map[string]bool{}
	for i := range b.Exceptions {
		e := &b.Exceptions[i]
		key := fmt.Sprintf("exceptions[%d]", i)
		for _, f := range []struct{ name, v string }{{"id", e.ID}, {"rule", e.Rule}, {"accepted", e.Accepted}, {"reason", e.Reason}, {"owner", e.Owner}, {"expires", e.Expires}} {
			if strings.TrimSpace(f.v) == "" {
				c.fail(key+"."+f.name, f.v, "a non-empty value")
			}
		}
		if e.ID != "" && seen[e.ID] {
			c.fail(key+".id", e.ID, "an id not used by another exception")
		}
		seen[e.ID] = true
		switch {
		case e.Object != "" && e.Name != "":
			c.fail(key+".name", e.Name, "either object (a pattern) or name (an exact key or name), not both")
		case e.Name != "":
			if strings.TrimSpace(e.Name) != e.Name || strings.ContainsAny(e.Name, "\t\r\n") {
				c.fail(key+".name", e.Name, "an object key or display name without leading or trailing whitespace")
			}
		default:
			c.objectGlob(key+".object", e.Object)
		}
		if e.Expires != "" {
			t, err := parseExpiry(e.Expires)
			if err != nil {
				c.fail(key+".expires", e.Expires, "a date (YYYY-MM-DD) or an RFC 3339 time")
			}
			e.ExpiresAt = t
		}
	}
	return joinProblems(c.errs, file)
}

// isTenantID reports whether s is a GUID, the form of an Entra tenant id.
func isTenantID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// foldKey maps strings that strings.EqualFold calls equal to one key.
func foldKey(s string) string { return strings.ToLower(strings.ToUpper(s)) }

// parseExpiry reads a date as valid through the end of that day (UTC), or
// an exact RFC 3339 instant.
func parseExpiry(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	return time.Parse(time.RFC3339, s)
}
