package m365

// This file is the one place for response shapes and value mappings that
// Microsoft does not document, or documents inconsistently. Each entry says
// what is assumed; a recording from a real tenant that disagrees should be
// fixed here (and in the fixture tenants), nowhere else.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// unwrapSharePointSettings accepts GET /admin/sharepoint/settings both bare
// (as the PATCH sample shows) and wrapped in "value" (as the GET sample
// shows). Unconfirmed which one the service sends.
func unwrapSharePointSettings(body []byte) ([]byte, error) {
	var w struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if v := bytes.TrimSpace(w.Value); len(v) > 0 && v[0] == '{' {
		return v, nil
	}
	return body, nil
}

// CSOM integer enums: the integers live in the model's vocabulary
// (tenant.SharingLevels and the others); these names say which table each
// CSOM property uses. Values outside a table are carried as their decimal
// text so they stay visible as unrecognised.
var (
	csomSharingCapability = tenant.SharingLevels
	csomDomainMode        = tenant.DomainModes
	// DefaultSharingLinkType: 0 None, 1 Direct (specific people),
	// 2 Internal (organization), 3 AnonymousAccess (anyone).
	csomDefaultLinkScope = tenant.LinkScopes
	// DefaultLinkPermission and File/FolderAnonymousLinkType: 0 None, 1 View, 2 Edit.
	csomLinkPermission = tenant.LinkTypes
)

func csomEnum[T ~string](vo *tenant.Vocab[T], v *int64) T {
	if v == nil {
		return ""
	}
	return vo.FromCode(*v)
}

// csomDomainList splits a CSOM domain list. pnpjs documents it as a
// space-separated string; commas and semicolons are accepted too.
// Unconfirmed for very long lists.
func csomDomainList(s *string) []string {
	if s == nil {
		return nil
	}
	f := strings.FieldsFunc(*s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\n' })
	out := make([]string, 0, len(f))
	for _, d := range f {
		out = append(out, strings.ToLower(d))
	}
	return out
}

// csomGUID reads a CSOM Guid, serialized as "/Guid(…)/"; the empty GUID
// means none.
func csomGUID(s *string) string {
	if s == nil {
		return ""
	}
	v := strings.TrimSpace(*s)
	v = strings.TrimPrefix(v, "/Guid(")
	v = strings.TrimSuffix(v, ")/")
	if v == "00000000-0000-0000-0000-000000000000" {
		return ""
	}
	return strings.ToLower(v)
}

// The NextStartIndexFromSharePoint of a GetSitePropertiesFromSharePoint
// answer is assumed to stay a valid start index in a later request, from
// another scan hours later: the window of SourceOptions.SitePropertiesPages
// keeps it between scans. Unconfirmed: Microsoft documents neither its form
// nor its lifetime. The collector keeps it opaque (it only compares two
// for equality), and when the service refuses it the window starts over
// from the first page (propertiesWindow).

// csomSitesIncludeDetail asks GetSitePropertiesFromSharePoint for detail;
// whether sharing capability needs it is unconfirmed, so ask.
const csomSitesIncludeDetail = true

// b2bDefinition is the decoded definition[0] of a b2bManagementPolicy. The
// key names come from tools that read the legacy policy; Microsoft
// documents only {'B2BManagementPolicy':{'Version':1}}.
type b2bDefinition struct {
	Policy *struct {
		Invitations *struct {
			AllowedDomains *[]string `json:"AllowedDomains"`
			BlockedDomains *[]string `json:"BlockedDomains"`
		} `json:"InvitationsAllowedAndBlockedDomainsPolicy"`
	} `json:"B2BManagementPolicy"`
}

// decodeB2BDefinition parses a definition string. Microsoft's sample uses
// single quotes, which is not JSON; such strings are retried with the quotes
// swapped.
func decodeB2BDefinition(s string) (*b2bDefinition, error) {
	var d b2bDefinition
	err := json.Unmarshal([]byte(s), &d)
	if err != nil && strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		err = json.Unmarshal([]byte(strings.ReplaceAll(s, "'", `"`)), &d)
	}
	if err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	return &d, nil
}

// invitationsFromDefinition maps the definition to a domain list:
// AllowedDomains present means allow-list mode, BlockedDomains present means
// block-list mode, neither means no restriction. Unconfirmed semantics.
func invitationsFromDefinition(d *b2bDefinition) *tenant.DomainList {
	l := &tenant.DomainList{Mode: tenant.DomainModeNone, Allowed: []string{}, Blocked: []string{}}
	if d == nil || d.Policy == nil || d.Policy.Invitations == nil {
		return l
	}
	inv := d.Policy.Invitations
	if inv.AllowedDomains != nil {
		l.Mode = tenant.DomainModeAllowList
		l.Allowed = lowerAll(*inv.AllowedDomains)
	}
	if inv.BlockedDomains != nil {
		if l.Mode == tenant.DomainModeNone {
			l.Mode = tenant.DomainModeBlockList
		}
		l.Blocked = lowerAll(*inv.BlockedDomains)
	}
	return l
}

// Exchange admin API serialization. Enum properties are assumed to arrive
// as their names ("LimitedDetails"); numeric forms map as below.
// Unconfirmed.
var exchangeFreeBusyLevels = map[int64]string{0: tenant.FreeBusyNone, 1: tenant.FreeBusyAvailabilityOnly, 2: tenant.FreeBusyLimitedDetails}

// exchangeString reads a string-ish Exchange property: a string, a number
// mapped through enum (when given), or an object with a "Name" or
// "DistinguishedName" (identities sometimes arrive that way).
func exchangeString(raw json.RawMessage, enum map[int64]string) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		if v, ok := enum[n]; ok {
			return v
		}
		return strconv.FormatInt(n, 10)
	}
	var obj struct {
		Name string `json:"Name"`
		DN   string `json:"DistinguishedName"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		if obj.Name != "" {
			return obj.Name
		}
		return obj.DN
	}
	return string(raw)
}

// exchangeBool reads a boolean that may arrive as true/false or "True".
func exchangeBool(raw json.RawMessage) *bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return &b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if v, err := strconv.ParseBool(strings.ToLower(s)); err == nil {
			return &v
		}
	}
	return nil
}

// exchangeStrings reads a multi-valued property: a JSON array of strings or
// a single string.
func exchangeStrings(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		out := make([]string, 0, len(arr))
		for _, a := range arr {
			if s := exchangeString(a, nil); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s := exchangeString(raw, nil); s != "" {
		return []string{s}
	}
	return nil
}

// groupSettingsNotConfigured: an empty /groupSettings collection means the
// tenant never created Group.Unified and Microsoft's defaults apply.

func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, strings.ToLower(strings.TrimSpace(s)))
	}
	return out
}
