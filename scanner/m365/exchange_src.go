package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// The fields read of Get-SharingPolicy and Get-OrganizationRelationship
// output; shapes.go says which alternate forms each kind accepts.
var (
	sharingPolicySchema = newSchema("policy")
	shpName             = sharingPolicySchema.identity("Name")
	shpEnabled          = sharingPolicySchema.looseBool("Enabled")
	shpDefault          = sharingPolicySchema.looseBool("Default")
	shpDomains          = sharingPolicySchema.stringList("Domains")

	orgRelSchema      = newSchema("relationship")
	orName            = orgRelSchema.identity("Name")
	orDomainNames     = orgRelSchema.stringList("DomainNames")
	orEnabled         = orgRelSchema.looseBool("Enabled")
	orFreeBusyEnabled = orgRelSchema.looseBool("FreeBusyAccessEnabled")
	orFreeBusyLevel   = orgRelSchema.enum("FreeBusyAccessLevel")
	orFreeBusyScope   = orgRelSchema.named("FreeBusyAccessScope")
	orMailTipsEnabled = orgRelSchema.looseBool("MailTipsAccessEnabled")
	orMailTipsLevel   = orgRelSchema.enum("MailTipsAccessLevel")

	remoteDomainSchema = newSchema("remote domain")
	rdDomainName       = remoteDomainSchema.identity("DomainName")
	rdName             = remoteDomainSchema.str("Name")
	rdAutoForward      = remoteDomainSchema.looseBool("AutoForwardEnabled")
	rdAutoReply        = remoteDomainSchema.looseBool("AutoReplyEnabled")
	rdIsInternal       = remoteDomainSchema.looseBool("IsInternal")
)

const (
	epSharingPolicy = "Get-SharingPolicy (POST /adminapi/beta/{tenant-id}/InvokeCommand)"
	epOrgRel        = "Get-OrganizationRelationship (POST /adminapi/beta/{tenant-id}/InvokeCommand)"
	epRemoteDomain  = "Get-RemoteDomain (POST /adminapi/beta/{tenant-id}/InvokeCommand)"
)

// ParseSharingDomain splits "domain:Action,Action" (spaces tolerated).
func ParseSharingDomain(s string) tenant.SharingDomain {
	dom, acts, _ := strings.Cut(s, ":")
	d := tenant.SharingDomain{Domain: strings.TrimSpace(dom), Actions: []string{}}
	if !strings.EqualFold(d.Domain, "anonymous") && d.Domain != "*" {
		d.Domain = strings.ToLower(d.Domain)
	} else if strings.EqualFold(d.Domain, "anonymous") {
		d.Domain = "Anonymous"
	}
	for _, a := range strings.Split(acts, ",") {
		if a = strings.TrimSpace(a); a != "" {
			d.Actions = append(d.Actions, a)
		}
	}
	return d
}

// ParseSharingPolicies reads Get-SharingPolicy output. Policies that
// cannot be read are left out and reported as FieldErrors.
func ParseSharingPolicies(items []json.RawMessage) ([]tenant.SharingPolicy, error) {
	out := make([]tenant.SharingPolicy, 0, len(items))
	var bad FieldErrors
	var r reader
	for i, raw := range items {
		if !r.item(epSharingPolicy, sharingPolicySchema, raw, i) {
			bad.add(r.first())
			continue
		}
		sp := tenant.SharingPolicy{Name: r.str(shpName), Enabled: r.looseBool(shpEnabled), Domains: []tenant.SharingDomain{}}
		if d := r.looseBool(shpDefault); d != nil {
			sp.Default = *d
		}
		for _, d := range r.stringList(shpDomains) {
			sp.Domains = append(sp.Domains, ParseSharingDomain(d))
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, bad.err()
}

// ParseOrgRelationships reads Get-OrganizationRelationship output.
// Relationships that cannot be read are left out and reported as
// FieldErrors.
func ParseOrgRelationships(items []json.RawMessage) ([]tenant.OrgRelationship, error) {
	out := make([]tenant.OrgRelationship, 0, len(items))
	var bad FieldErrors
	var r reader
	for i, raw := range items {
		if !r.item(epOrgRel, orgRelSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		o := tenant.OrgRelationship{
			Name:                  r.str(orName),
			DomainNames:           lowerAll(r.stringList(orDomainNames)),
			Enabled:               r.looseBool(orEnabled),
			FreeBusyAccessEnabled: r.looseBool(orFreeBusyEnabled),
			FreeBusyAccessLevel:   r.enumName(orFreeBusyLevel, freeBusyName),
			FreeBusyAccessScope:   r.namedStr(orFreeBusyScope),
			MailTipsAccessEnabled: r.looseBool(orMailTipsEnabled),
			MailTipsAccessLevel:   r.enumName(orMailTipsLevel, nil),
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, bad.err()
}

// ParseRemoteDomains reads Get-RemoteDomain output. Domains that cannot be
// read are left out and reported as FieldErrors.
func ParseRemoteDomains(items []json.RawMessage) ([]tenant.RemoteDomain, error) {
	out := make([]tenant.RemoteDomain, 0, len(items))
	var bad FieldErrors
	var r reader
	for i, raw := range items {
		if !r.item(epRemoteDomain, remoteDomainSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		d := tenant.RemoteDomain{
			Name:               r.str(rdName),
			DomainName:         strings.ToLower(r.str(rdDomainName)),
			AutoForwardEnabled: r.looseBool(rdAutoForward),
			AutoReplyEnabled:   r.looseBool(rdAutoReply),
			IsInternal:         r.looseBool(rdIsInternal),
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DomainName < out[j].DomainName })
	return out, bad.err()
}

type exchangeSource struct{ c *Client }

func (exchangeSource) Section() tenant.Section { return tenant.SectionExchange }

func (src exchangeSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	// Policies and relationships that cannot be read are left out and
	// make the section partial.
	var bad FieldErrors
	items, err := src.c.InvokeCommand(ctx, "Get-SharingPolicy", nil, sharingPolicySelect())
	if err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	pols, err := ParseSharingPolicies(items)
	if err := noteItems(&bad, err); err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	items, err = src.c.InvokeCommand(ctx, "Get-OrganizationRelationship", nil, orgRelSelect())
	if err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	rels, err := ParseOrgRelationships(items)
	if err := noteItems(&bad, err); err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	snap.Exchange = &tenant.ExchangeSettings{SharingPolicies: pols, OrganizationRelationships: rels}
	// Remote domains that cannot be listed leave the section partial with
	// the sharing policies and relationships read; RemoteDomains stays nil
	// (not collected), never "none".
	items, err = src.c.InvokeCommand(ctx, "Get-RemoteDomain", nil, remoteDomainSelect())
	if err != nil {
		if IsStatus(err, http.StatusForbidden) {
			err = fmt.Errorf("%w (the app needs Exchange.ManageAsApp and an Entra role that may read remote domains, such as Global Reader)", err)
		}
		errs := []error{err}
		if b := bad.err(); b != nil {
			errs = append(errs, b)
		}
		return scanner.Partial(fmt.Errorf("collect exchange: %w", errors.Join(errs...)))
	}
	doms, err := ParseRemoteDomains(items)
	if err := noteItems(&bad, err); err != nil {
		return scanner.Partial(fmt.Errorf("collect exchange: %w", err))
	}
	snap.Exchange.RemoteDomains = doms
	if err := bad.err(); err != nil {
		return scanner.Partial(fmt.Errorf("collect exchange: %w", err))
	}
	return nil
}

// sharingPolicySelect lists the fields asked for.
func sharingPolicySelect() []string { return sharingPolicySchema.names() }

// orgRelSelect lists the fields asked for.
func orgRelSelect() []string { return orgRelSchema.names() }

// remoteDomainSelect lists the fields asked for.
func remoteDomainSelect() []string { return remoteDomainSchema.names() }

func freeBusyName(n int64) string { return string(tenant.FreeBusyLevels.FromCode(n)) }
