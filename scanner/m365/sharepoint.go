package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// Graph sharepointSettings properties the collector needs.
var spSettingsSelect = []string{
	"sharingCapability", "sharingDomainRestrictionMode", "sharingAllowedDomainList", "sharingBlockedDomainList",
	"isResharingByExternalUsersEnabled", "isRequireAcceptingUserToMatchInvitedUserEnabled",
}

// CSOM Tenant properties Graph lacks (plus fallbacks for Graph's).
var csomTenantProps = []string{
	"SharingCapability", "ODBSharingCapability", "SharingDomainRestrictionMode", "SharingAllowedDomainList", "SharingBlockedDomainList",
	"DefaultSharingLinkType", "DefaultLinkPermission", "RequireAnonymousLinksExpireInDays",
	"FileAnonymousLinkType", "FolderAnonymousLinkType", "PreventExternalUsersFromResharing",
	"RequireAcceptingAccountMatchInvitedAccount", "ExternalUserExpirationRequired", "ExternalUserExpireInDays",
	"EmailAttestationRequired", "EmailAttestationReAuthDays",
}

const csomTenantType = "Microsoft.Online.SharePoint.TenantAdministration.Tenant"

// ParseSharePointSettings applies a Graph sharepointSettings body to s.
func ParseSharePointSettings(body []byte, s *tenant.SharePointSettings) error {
	const ep = "GET /v1.0/admin/sharepoint/settings"
	var probe any
	if err := decodeJSON(ep, body, &probe); err != nil {
		return err
	}
	inner, err := unwrapSharePointSettings(body)
	if err != nil {
		return fmt.Errorf("%s: expected a JSON object: %w", ep, err)
	}
	p, err := decodeProps(ep, inner)
	if err != nil {
		return err
	}
	s.SharingCapability = tenant.SharingLevel(p.s("sharingCapability"))
	s.DomainRestrictionMode = tenant.DomainMode(p.s("sharingDomainRestrictionMode"))
	if l := p.strings("sharingAllowedDomainList"); l != nil {
		s.AllowedDomains = lowerAll(l)
	}
	if l := p.strings("sharingBlockedDomainList"); l != nil {
		s.BlockedDomains = lowerAll(l)
	}
	s.ResharingByGuests = p.boolean("isResharingByExternalUsersEnabled")
	s.RequireAccountMatch = p.boolean("isRequireAcceptingUserToMatchInvitedUserEnabled")
	return nil
}

// ParseCSOMTenant applies a ProcessQuery answer holding the Tenant object
// to s. Properties Graph already supplied are only filled when missing.
func ParseCSOMTenant(arr []json.RawMessage, s *tenant.SharePointSettings) error {
	const ep = "POST /_vti_bin/client.svc/ProcessQuery (Tenant)"
	obj, err := csomObject(ep, arr, csomTenantType)
	if err != nil {
		return err
	}
	p, err := decodeProps(ep, obj)
	if err != nil {
		return err
	}
	if s.SharingCapability == "" {
		s.SharingCapability = csomEnum(csomSharingCapability, p.integer("SharingCapability"))
	}
	if s.DomainRestrictionMode == "" {
		s.DomainRestrictionMode = csomEnum(csomDomainMode, p.integer("SharingDomainRestrictionMode"))
	}
	if s.AllowedDomains == nil {
		s.AllowedDomains = csomDomainList(p.str("SharingAllowedDomainList"))
	}
	if s.BlockedDomains == nil {
		s.BlockedDomains = csomDomainList(p.str("SharingBlockedDomainList"))
	}
	if s.ResharingByGuests == nil {
		if v := p.boolean("PreventExternalUsersFromResharing"); v != nil {
			s.ResharingByGuests = tenant.Ptr(!*v)
		}
	}
	if s.RequireAccountMatch == nil {
		s.RequireAccountMatch = p.boolean("RequireAcceptingAccountMatchInvitedAccount")
	}
	s.OneDriveSharingCapability = csomEnum(csomSharingCapability, p.integer("ODBSharingCapability"))
	s.DefaultLinkScope = csomEnum(csomDefaultLinkScope, p.integer("DefaultSharingLinkType"))
	s.DefaultLinkPermission = csomEnum(csomLinkPermission, p.integer("DefaultLinkPermission"))
	s.AnyoneLinkExpirationDays = p.intp("RequireAnonymousLinksExpireInDays")
	s.FileAnyoneLinkType = csomEnum(csomLinkPermission, p.integer("FileAnonymousLinkType"))
	s.FolderAnyoneLinkType = csomEnum(csomLinkPermission, p.integer("FolderAnonymousLinkType"))
	s.GuestExpirationRequired = p.boolean("ExternalUserExpirationRequired")
	s.GuestExpirationDays = p.intp("ExternalUserExpireInDays")
	s.EmailAttestationRequired = p.boolean("EmailAttestationRequired")
	s.EmailAttestationDays = p.intp("EmailAttestationReAuthDays")
	return nil
}

// sharePointSource reads tenant sharing settings from Graph and CSOM.
type sharePointSource struct{ c *Client }

func (sharePointSource) Section() tenant.Section { return tenant.SectionSharePoint }

func (src sharePointSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	s := &tenant.SharePointSettings{}
	var graphBody []byte
	var errs []error
	if err := src.c.GraphGet(ctx, V1, "/admin/sharepoint/settings"+selectQuery(spSettingsSelect), (*rawBody)(&graphBody)); err != nil {
		errs = append(errs, fmt.Errorf("graph settings: %w", err))
	} else if err := ParseSharePointSettings(graphBody, s); err != nil {
		errs = append(errs, err)
	}
	graphOK := len(errs) == 0
	arr, err := src.c.ProcessQuery(ctx, TenantQueryXML(csomTenantProps))
	if err == nil {
		err = ParseCSOMTenant(arr, s)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("csom tenant: %w", err))
	}
	if len(errs) == 0 {
		snap.SharePoint = s
		return nil
	}
	joined := fmt.Errorf("collect sharepoint: %w", errors.Join(errs...))
	if graphOK || err == nil {
		snap.SharePoint = s
		return scanner.Partial(joined)
	}
	return joined
}

// rawBody lets GraphGet hand over the body undecoded (after checking it is
// valid JSON).
type rawBody []byte

func (r *rawBody) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
