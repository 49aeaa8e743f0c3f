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

// The fields read of Graph's sharepointSettings and of the CSOM Tenant.
var (
	spSettingsSchema      = newSchema("")
	spSharingCapability   = spSettingsSchema.str("sharingCapability")
	spDomainRestrictMode  = spSettingsSchema.str("sharingDomainRestrictionMode")
	spAllowedDomainList   = spSettingsSchema.strings("sharingAllowedDomainList")
	spBlockedDomainList   = spSettingsSchema.strings("sharingBlockedDomainList")
	spResharingByGuests   = spSettingsSchema.boolean("isResharingByExternalUsersEnabled")
	spRequireAccountMatch = spSettingsSchema.boolean("isRequireAcceptingUserToMatchInvitedUserEnabled")

	// CSOM Tenant properties Graph lacks (plus fallbacks for Graph's).
	csomTenantSchema       = newSchema("")
	ctSharingCapability    = csomTenantSchema.integer("SharingCapability")
	ctODBSharingCapability = csomTenantSchema.integer("ODBSharingCapability")
	ctDomainRestrictMode   = csomTenantSchema.integer("SharingDomainRestrictionMode")
	ctAllowedDomainList    = csomTenantSchema.str("SharingAllowedDomainList")
	ctBlockedDomainList    = csomTenantSchema.str("SharingBlockedDomainList")
	ctDefaultLinkType      = csomTenantSchema.integer("DefaultSharingLinkType")
	ctDefaultLinkPerm      = csomTenantSchema.integer("DefaultLinkPermission")
	ctAnyoneExpireDays     = csomTenantSchema.integer("RequireAnonymousLinksExpireInDays")
	ctFileAnonLinkType     = csomTenantSchema.integer("FileAnonymousLinkType")
	ctFolderAnonLinkType   = csomTenantSchema.integer("FolderAnonymousLinkType")
	ctPreventResharing     = csomTenantSchema.boolean("PreventExternalUsersFromResharing")
	ctRequireAccountMatch  = csomTenantSchema.boolean("RequireAcceptingAccountMatchInvitedAccount")
	ctGuestExpireRequired  = csomTenantSchema.boolean("ExternalUserExpirationRequired")
	ctGuestExpireDays      = csomTenantSchema.integer("ExternalUserExpireInDays")
	ctAttestationRequired  = csomTenantSchema.boolean("EmailAttestationRequired")
	ctAttestationDays      = csomTenantSchema.integer("EmailAttestationReAuthDays")
)

const csomTenantType = "Microsoft.Online.SharePoint.TenantAdministration.Tenant"

const (
	epSharePointSettings = "GET /v1.0/admin/sharepoint/settings"
	epCSOMTenant         = "POST /_vti_bin/client.svc/ProcessQuery (Tenant)"
)

// ParseSharePointSettings applies a Graph sharepointSettings body to s. A
// field of the wrong type is left unset and reported as FieldErrors; the
// other fields are still applied.
func ParseSharePointSettings(body []byte, s *tenant.SharePointSettings) error {
	const ep = epSharePointSettings
	var probe json.RawMessage
	if err := decodeJSON(ep, body, &probe); err != nil {
		return err
	}
	inner, err := unwrapSharePointSettings(ep, body)
	if err != nil {
		return err
	}
	var r reader
	if !r.item(ep, spSettingsSchema, inner, 0) {
		return shapeError(r.err())
	}
	if !r.anyPresent() {
		// A body without a single setting says nothing about the tenant:
		// it is never read as settings that happen to be unset.
		r.fail("", -1, "sharepointSettings with "+strings.Join(spSettingsSchema.names(), ", "), "an object holding none of them")
		return r.err()
	}
	s.SharingCapability = tenant.SharingLevel(r.str(spSharingCapability))
	s.DomainRestrictionMode = tenant.DomainMode(r.str(spDomainRestrictMode))
	if l := r.strs(spAllowedDomainList); l != nil {
		s.AllowedDomains = lowerAll(l)
	}
	if l := r.strs(spBlockedDomainList); l != nil {
		s.BlockedDomains = lowerAll(l)
	}
	s.ResharingByGuests = r.boolp(spResharingByGuests)
	s.RequireAccountMatch = r.boolp(spRequireAccountMatch)
	return r.err()
}

// ParseCSOMTenant applies a ProcessQuery answer holding the Tenant object
// to s. Properties Graph already supplied are only filled when missing.
// Like ParseSharePointSettings it applies what it can read and reports
// the rest as FieldErrors.
func ParseCSOMTenant(arr []json.RawMessage, s *tenant.SharePointSettings) error {
	const ep = epCSOMTenant
	obj, err := csomObject(ep, arr, csomTenantType)
	if err != nil {
		return err
	}
	var r reader
	if !r.item(ep, csomTenantSchema, obj, 0) {
		return shapeError(r.err())
	}
	code := func(f intField) *int64 {
		if n, ok := r.intOK(f); ok {
			return &n
		}
		return nil
	}
	if s.SharingCapability == "" {
		s.SharingCapability = csomEnum(csomSharingCapability, code(ctSharingCapability))
	} else {
		code(ctSharingCapability) // still checked
	}
	if s.DomainRestrictionMode == "" {
		s.DomainRestrictionMode = csomEnum(csomDomainMode, code(ctDomainRestrictMode))
	} else {
		code(ctDomainRestrictMode)
	}
	allowed, hasAllowed := r.strOK(ctAllowedDomainList)
	if s.AllowedDomains == nil && hasAllowed {
		s.AllowedDomains = csomDomainList(&allowed)
	}
	blocked, hasBlocked := r.strOK(ctBlockedDomainList)
	if s.BlockedDomains == nil && hasBlocked {
		s.BlockedDomains = csomDomainList(&blocked)
	}
	if v := r.boolp(ctPreventResharing); s.ResharingByGuests == nil && v != nil {
		s.ResharingByGuests = tenant.Ptr(!*v)
	}
	if v := r.boolp(ctRequireAccountMatch); s.RequireAccountMatch == nil {
		s.RequireAccountMatch = v
	}
	s.OneDriveSharingCapability = csomEnum(csomSharingCapability, code(ctODBSharingCapability))
	s.DefaultLinkScope = csomEnum(csomDefaultLinkScope, code(ctDefaultLinkType))
	s.DefaultLinkPermission = csomEnum(csomLinkPermission, code(ctDefaultLinkPerm))
	s.AnyoneLinkExpirationDays = r.int32p(ctAnyoneExpireDays)
	s.FileAnyoneLinkType = csomEnum(csomLinkPermission, code(ctFileAnonLinkType))
	s.FolderAnyoneLinkType = csomEnum(csomLinkPermission, code(ctFolderAnonLinkType))
	s.GuestExpirationRequired = r.boolp(ctGuestExpireRequired)
	s.GuestExpirationDays = r.int32p(ctGuestExpireDays)
	s.EmailAttestationRequired = r.boolp(ctAttestationRequired)
	s.EmailAttestationDays = r.int32p(ctAttestationDays)
	return r.err()
}

// sharePointSource reads tenant sharing settings from Graph and CSOM.
type sharePointSource struct{ c *Client }

func (sharePointSource) Section() tenant.Section { return tenant.SectionSharePoint }

func (src sharePointSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	s := &tenant.SharePointSettings{}
	var graphBody []byte
	var errs []error
	// Each read that gave settings, even with some fields unreadable,
	// keeps what it gave; the section is then partial.
	kept := 0
	if err := src.c.GraphGet(ctx, V1, "/admin/sharepoint/settings"+selectQuery(spSettingsSelect()), (*rawBody)(&graphBody)); err != nil {
		errs = append(errs, fmt.Errorf("graph settings: %w", err))
	} else if err := ParseSharePointSettings(graphBody, s); isFieldErrors(err) || err == nil {
		kept++
		if err != nil {
			errs = append(errs, err)
		}
	} else {
		errs = append(errs, err)
	}
	arr, err := src.c.ProcessQuery(ctx, TenantQueryXML(csomTenantProps()))
	if err == nil {
		err = ParseCSOMTenant(arr, s)
		if err == nil || isFieldErrors(err) {
			kept++
		}
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("csom tenant: %w", err))
	}
	if len(errs) == 0 {
		snap.SharePoint = s
		return nil
	}
	joined := fmt.Errorf("collect sharepoint: %w", errors.Join(errs...))
	if kept > 0 {
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

// spSettingsSelect lists the fields asked for.
func spSettingsSelect() []string { return spSettingsSchema.names() }

// csomTenantProps lists the fields asked for.
func csomTenantProps() []string { return csomTenantSchema.names() }
