package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

var (
	sharingPolicySelect = []string{"Name", "Enabled", "Default", "Domains"}
	orgRelSelect        = []string{"Name", "DomainNames", "Enabled", "FreeBusyAccessEnabled", "FreeBusyAccessLevel", "FreeBusyAccessScope", "MailTipsAccessEnabled", "MailTipsAccessLevel"}
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

// ParseSharingPolicies reads Get-SharingPolicy output.
func ParseSharingPolicies(items []json.RawMessage) ([]tenant.SharingPolicy, error) {
	const ep = "Get-SharingPolicy"
	out := make([]tenant.SharingPolicy, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("policy %d: %w", i, err)
		}
		sp := tenant.SharingPolicy{Name: exchangeString(p.raw("Name"), nil), Enabled: exchangeBool(p.raw("Enabled")), Domains: []tenant.SharingDomain{}}
		if sp.Name == "" {
			return nil, fmt.Errorf("%s: policy %d has no Name", ep, i)
		}
		if d := exchangeBool(p.raw("Default")); d != nil {
			sp.Default = *d
		}
		for _, d := range exchangeStrings(p.raw("Domains")) {
			sp.Domains = append(sp.Domains, ParseSharingDomain(d))
		}
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ParseOrgRelationships reads Get-OrganizationRelationship output.
func ParseOrgRelationships(items []json.RawMessage) ([]tenant.OrgRelationship, error) {
	const ep = "Get-OrganizationRelationship"
	out := make([]tenant.OrgRelationship, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("relationship %d: %w", i, err)
		}
		o := tenant.OrgRelationship{
			Name:                  exchangeString(p.raw("Name"), nil),
			DomainNames:           lowerAll(exchangeStrings(p.raw("DomainNames"))),
			Enabled:               exchangeBool(p.raw("Enabled")),
			FreeBusyAccessEnabled: exchangeBool(p.raw("FreeBusyAccessEnabled")),
			FreeBusyAccessLevel:   exchangeString(p.raw("FreeBusyAccessLevel"), exchangeFreeBusyLevels),
			FreeBusyAccessScope:   exchangeString(p.raw("FreeBusyAccessScope"), nil),
			MailTipsAccessEnabled: exchangeBool(p.raw("MailTipsAccessEnabled")),
			MailTipsAccessLevel:   exchangeString(p.raw("MailTipsAccessLevel"), nil),
		}
		if o.Name == "" {
			return nil, fmt.Errorf("%s: relationship %d has no Name", ep, i)
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

type exchangeSource struct{ c *Client }

func (exchangeSource) Section() tenant.Section { return tenant.SectionExchange }

func (src exchangeSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	items, err := src.c.InvokeCommand(ctx, "Get-SharingPolicy", nil, sharingPolicySelect)
	if err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	pols, err := ParseSharingPolicies(items)
	if err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	items, err = src.c.InvokeCommand(ctx, "Get-OrganizationRelationship", nil, orgRelSelect)
	if err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	rels, err := ParseOrgRelationships(items)
	if err != nil {
		return fmt.Errorf("collect exchange: %w", err)
	}
	snap.Exchange = &tenant.ExchangeSettings{SharingPolicies: pols, OrganizationRelationships: rels}
	return nil
}
