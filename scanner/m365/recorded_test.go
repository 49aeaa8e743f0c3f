package m365

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// The recorded bodies (testdata/recorded, provenance in its README) are
// what real tenants sent. Each is parsed by the collector's parser for
// its endpoint, and what the parser yields is checked against the body
// read as plain JSON, so that a parser that drops, renames or mistypes a
// value the service sends fails here.

func recorded(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "recorded", dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recorded bodies in %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// plain decodes a body as generic JSON.
func plain(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// itemsOf returns a collection's value array, or the single object.
func itemsOf(t *testing.T, b []byte) ([]json.RawMessage, []map[string]any) {
	t.Helper()
	var p struct {
		Value *[]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	raws := []json.RawMessage{b}
	if p.Value != nil {
		raws = *p.Value
	}
	maps := make([]map[string]any, len(raws))
	for i, r := range raws {
		maps[i], _ = plain(t, r).(map[string]any)
	}
	return raws, maps
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func obj(m map[string]any, k string) map[string]any { o, _ := m[k].(map[string]any); return o }

func boolp(m map[string]any, k string) *bool {
	if b, ok := m[k].(bool); ok {
		return &b
	}
	return nil
}

// wantGrantees names every identity set's first identity as the service
// sent it: e-mail (lower case), else login name, else display name.
// wantRecipients reads the recipients' e-mail domains and those outside the
// tenant from a recorded permission: a person whose login name is not the
// claims form of a directory member (or is a guest's, with #ext#).
func wantRecipients(p map[string]any) (domains, external []string) {
	var sets []map[string]any
	for _, s := range p["grantedToIdentitiesV2"].([]any) {
		sets = append(sets, s.(map[string]any))
	}
	if g := obj(p, "grantedToV2"); g != nil {
		sets = append(sets, g)
	}
	for _, set := range sets {
		var email, login string
		for _, k := range []string{"user", "siteUser"} {
			if id := obj(set, k); id != nil {
				email = cmp.Or(email, strings.ToLower(str(id, "email")))
				login = cmp.Or(login, str(id, "loginName"))
			}
		}
		if email == "" && login == "" {
			continue // a group: the tenant's own
		}
		if _, d, ok := strings.Cut(email, "@"); ok && !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
		l := strings.ToLower(login)
		if !strings.HasPrefix(l, "i:0#.f|membership|") || strings.Contains(l, "#ext#") {
			external = append(external, email)
		}
	}
	sort.Strings(domains)
	sort.Strings(external)
	return domains, external
}

func wantGrantees(p map[string]any) []string {
	var sets []map[string]any
	for _, s := range p["grantedToIdentitiesV2"].([]any) {
		sets = append(sets, s.(map[string]any))
	}
	if g := obj(p, "grantedToV2"); g != nil {
		sets = append(sets, g)
	}
	var out []string
	for _, set := range sets {
		for _, k := range []string{"user", "siteUser", "group", "siteGroup"} {
			id := obj(set, k)
			if id == nil {
				continue
			}
			n := strings.ToLower(str(id, "email"))
			if n == "" {
				n = str(id, "loginName")
			}
			if n == "" {
				n = str(id, "displayName")
			}
			if n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
			break
		}
	}
	sort.Strings(out)
	return out
}

func TestRecordedPermissions(t *testing.T) {
	var links, sets, withLegacy, grants int
	for _, dir := range []string{"graph-permissions", "graph-create-link", "graph-permission-get", "graph-permission-grant", "graph-permission-invite"} {
		for name, body := range recorded(t, dir) {
			t.Run(dir+"/"+name, func(t *testing.T) {
				raws, maps := itemsOf(t, body)
				got, err := ParsePermissions(raws, tenant.Link{DriveID: "d", ItemID: "i"})
				if err != nil {
					t.Fatalf("a recorded body is refused: %v", err)
				}
				var want []tenant.Link
				for _, p := range maps {
					l := obj(p, "link")
					if _, legacy := p["grantedToIdentities"]; legacy {
						withLegacy++
					}
					if l == nil {
						want = append(want, wantInvitation(t, p))
						grants++
						continue
					}
					w := tenant.Link{DriveID: "d", ItemID: "i", PermissionID: str(p, "id"),
						Scope: tenant.LinkScope(str(l, "scope")), Type: tenant.LinkType(str(l, "type")), WebURL: str(l, "webUrl"),
						HasPassword: boolp(p, "hasPassword"), PreventsDownload: boolp(l, "preventsDownload")}
					for _, r := range p["roles"].([]any) {
						w.Roles = append(w.Roles, r.(string))
					}
					if e := str(p, "expirationDateTime"); e != "" {
						x, err := time.Parse(time.RFC3339, e)
						if err != nil {
							t.Fatal(err)
						}
						w.Expires = &x
					}
					if _, ok := p["grantedToIdentitiesV2"]; ok {
						w.GrantedTo = wantGrantees(p)
						w.RecipientDomains, w.ExternalRecipients = wantRecipients(p)
						sets += len(p["grantedToIdentitiesV2"].([]any))
					}
					if w.HasPassword == nil || w.PreventsDownload == nil {
						t.Errorf("recorded link %s lacks hasPassword or preventsDownload", w.PermissionID)
					}
					want = append(want, w)
				}
				links += len(want)
				check(t, "links", got, want)
			})
		}
	}
	// The recordings hold real links with grantees in both forms; a parser
	// run over nothing proves nothing.
	if links < 20 || sets < 5 || withLegacy < 10 || grants < 3 {
		t.Errorf("%d links, %d identity sets, %d with legacy grantedToIdentities, %d invitations: too few to mean anything", links, sets, withLegacy, grants)
	}
}

// wantInvitation is what a recorded invitation (a permission without a
// link, its grantee in the legacy grantedTo) must yield: a direct grant to
// a member, placed by the claims login its id encodes.
func wantInvitation(t *testing.T, p map[string]any) tenant.Link {
	t.Helper()
	u := obj(obj(p, "grantedTo"), "user")
	if u == nil {
		t.Fatalf("recorded invitation %v has no grantedTo.user", p["id"])
	}
	email := strings.ToLower(str(u, "email"))
	_, domain, _ := strings.Cut(email, "@")
	login, err := base64.RawURLEncoding.DecodeString(str(p, "id"))
	if err != nil || !strings.HasPrefix(string(login), "i:0#.f|membership|") || strings.ToLower(string(login)) != "i:0#.f|membership|"+email {
		t.Fatalf("recorded invitation id %v does not encode the member login of %s: %q", p["id"], email, login)
	}
	var roles []string
	for _, r := range p["roles"].([]any) {
		roles = append(roles, strings.ToLower(r.(string)))
	}
	return tenant.Link{DriveID: "d", ItemID: "i", PermissionID: str(p, "id"), Direct: true, Scope: tenant.LinkScopeUsers,
		Type: tenant.LinkTypeView, Roles: roles, GrantedTo: []string{email}, RecipientDomains: []string{domain}}
}

// TestRecordedPermissionValues spells out what a few recorded answers
// must yield, by hand.
func TestRecordedPermissionValues(t *testing.T) {
	one := func(dir, name string) []tenant.Link {
		t.Helper()
		raws, _ := itemsOf(t, recorded(t, dir)[name])
		l, err := ParsePermissions(raws, tenant.Link{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	f := false
	check(t, "organization edit link", one("graph-permissions", "get-share-links-test-1-00006.json"), []tenant.Link{{
		PermissionID: "a8bc056f-abcc-4a0b-9a45-60c4edd3dea9", Scope: tenant.LinkScopeOrganization, Type: tenant.LinkTypeEdit,
		Roles: []string{"write"}, HasPassword: &f, PreventsDownload: &f,
		WebURL: "https://bertonline.sharepoint.com/:w:/s/prov-2/EfQRIwqx-elBryM_gYaztcgBYCmFkrvJyPJArZouKXJaGQ",
	}})
	check(t, "specific people, two grantees with siteUser", one("graph-permission-get", "share-folder-using-link-users-read-permissions-and-grant-permissions-test-1-00010.json"), []tenant.Link{{
		PermissionID: "a25b6a54-ee09-494f-be18-2d5ab6eed1a4", Scope: tenant.LinkScopeUsers, Type: tenant.LinkTypeView,
		Roles: []string{"read"}, HasPassword: &f, PreventsDownload: &f,
		GrantedTo: []string{"annal@bertonline.onmicrosoft.com", "bert.jansen@bertonline.onmicrosoft.com"},
		// Both are members (claims login "i:0#.f|membership|…"): none outside.
		RecipientDomains: []string{"bertonline.onmicrosoft.com"},
		WebURL:           "https://bertonline.sharepoint.com/:f:/s/prov-2/ErRfV2WMTLRFvERfy39V-ZEB_bNrSjYdIT0wbVs1pr8H3g",
	}})
	// An invitation is a direct grant, not a link ("Read" capitalised as
	// sent); its grantee is a member, as the login its id encodes says.
	check(t, "invitation", one("graph-permission-invite", "share-file-using-invitation-test-1-00005.json"), []tenant.Link{{
		PermissionID: "aTowIy5mfG1lbWJlcnNoaXB8YW5uYWxAYmVydG9ubGluZS5vbm1pY3Jvc29mdC5jb20", Direct: true,
		Scope: tenant.LinkScopeUsers, Type: tenant.LinkTypeView, Roles: []string{"read"},
		GrantedTo: []string{"annal@bertonline.onmicrosoft.com"}, RecipientDomains: []string{"bertonline.onmicrosoft.com"},
	}})
	blocked := one("graph-create-link", "share-file-using-link-users-read-permissions-downloading-blocked-test-1-00006.json")
	if len(blocked) != 1 || blocked[0].PreventsDownload == nil || !*blocked[0].PreventsDownload {
		t.Errorf("download-blocked link: %+v", blocked)
	}
}

func TestRecordedCSOMTenant(t *testing.T) {
	for name, body := range recorded(t, "csom-tenant") {
		t.Run(name, func(t *testing.T) {
			var arr []json.RawMessage
			if err := json.Unmarshal(body, &arr); err != nil {
				t.Fatal(err)
			}
			var s tenant.SharePointSettings
			if err := ParseCSOMTenant(arr, &s); err != nil {
				t.Fatalf("a recorded Tenant is refused: %v", err)
			}
			var obj map[string]any
			for _, el := range plain(t, body).([]any) {
				if m, ok := el.(map[string]any); ok && m["_ObjectType_"] == csomTenantType {
					obj = m
				}
			}
			code := func(k string) int64 { return int64(obj[k].(float64)) }
			level := func(k string) tenant.SharingLevel { return tenant.SharingLevels.FromCode(code(k)) }
			if s.SharingCapability != level("SharingCapability") || s.OneDriveSharingCapability != level("ODBSharingCapability") || s.SharingCapability == "" {
				t.Errorf("sharing %q / %q", s.SharingCapability, s.OneDriveSharingCapability)
			}
			if s.AnyoneLinkExpirationDays == nil || int64(*s.AnyoneLinkExpirationDays) != code("RequireAnonymousLinksExpireInDays") {
				t.Errorf("anyone expiry %v, recorded %v", s.AnyoneLinkExpirationDays, obj["RequireAnonymousLinksExpireInDays"])
			}
			if *s.AnyoneLinkExpirationDays != -1 {
				t.Errorf("the recording says -1 (no expiry), got %d", *s.AnyoneLinkExpirationDays)
			}
			if s.GuestExpirationDays == nil || int64(*s.GuestExpirationDays) != code("ExternalUserExpireInDays") ||
				s.EmailAttestationDays == nil || int64(*s.EmailAttestationDays) != code("EmailAttestationReAuthDays") {
				t.Errorf("guest expiry %v, re-auth %v", s.GuestExpirationDays, s.EmailAttestationDays)
			}
			if obj["SharingBlockedDomainList"] != nil || s.BlockedDomains != nil {
				t.Errorf("blocked list recorded %v, parsed %v (null must stay unknown, not empty)", obj["SharingBlockedDomainList"], s.BlockedDomains)
			}
			if !slices.Equal(s.AllowedDomains, strings.Fields(str(obj, "SharingAllowedDomainList"))) || len(s.AllowedDomains) == 0 {
				t.Errorf("allowed domains %v, recorded %q", s.AllowedDomains, obj["SharingAllowedDomainList"])
			}
			if s.ResharingByGuests == nil || *s.ResharingByGuests == obj["PreventExternalUsersFromResharing"].(bool) {
				t.Errorf("resharing %v, recorded prevent=%v", s.ResharingByGuests, obj["PreventExternalUsersFromResharing"])
			}
			if s.DefaultLinkScope == "" || s.DefaultLinkPermission == "" || s.FileAnyoneLinkType == "" || s.FolderAnyoneLinkType == "" {
				t.Errorf("link defaults %+v", s)
			}
		})
	}
}

func TestRecordedCSOMSiteProperties(t *testing.T) {
	const siteType = "Microsoft.Online.SharePoint.TenantAdministration.SiteProperties"
	n := 0
	for name, body := range recorded(t, "csom-site-properties-by-url") {
		t.Run(name, func(t *testing.T) {
			var arr []json.RawMessage
			if err := json.Unmarshal(body, &arr); err != nil {
				t.Fatal(err)
			}
			raw, err := csomObject(epCSOMSiteByURL, arr, siteType)
			if err != nil {
				t.Fatal(err)
			}
			var r reader
			r.item(epCSOMSiteByURL, csomSiteSchema, raw, 0)
			got := readCSOMSite(&r)
			if err := r.err(); err != nil {
				t.Fatalf("recorded site properties refused: %v", err)
			}
			m := plain(t, raw).(map[string]any)
			guid := func(k string) string {
				v := strings.TrimSuffix(strings.TrimPrefix(str(m, k), "/Guid("), ")/")
				if strings.Trim(v, "0-") == "" {
					return ""
				}
				return strings.ToLower(v)
			}
			level := tenant.SharingLevels.FromCode(int64(m["SharingCapability"].(float64)))
			want := csomSite{URL: str(m, "Url"), Title: str(m, "Title"), Template: str(m, "Template"), LockState: str(m, "LockState"),
				GroupID: guid("GroupId"), SensitivityLabelID: guid("SensitivityLabel"), SharingCapability: level,
				AllowedDomains: strings.Fields(str(m, "SharingAllowedDomainList")), BlockedDomains: strings.Fields(str(m, "SharingBlockedDomainList"))}
			want.DomainRestrictionMode = tenant.DomainModes.FromCode(int64(m["SharingDomainRestrictionMode"].(float64)))
			if len(want.AllowedDomains) == 0 {
				want.AllowedDomains = got.AllowedDomains
			}
			if len(want.BlockedDomains) == 0 {
				want.BlockedDomains = got.BlockedDomains
			}
			check(t, "site", got, want)
			if got.URL == "" || got.SharingCapability == "" || got.Template == "" {
				t.Errorf("empty values: %+v", got)
			}
			n++
		})
	}
	if n != 29 {
		t.Errorf("%d recorded sites", n)
	}
}

func TestRecordedGraphCollections(t *testing.T) {
	t.Run("sites", func(t *testing.T) {
		ok, refused := 0, 0
		for name, body := range recorded(t, "graph-sites-list") {
			raws, maps := itemsOf(t, body)
			sites, err := parseGraphSites(epGetAllSites, raws)
			var want []graphSite
			wantBad := 0
			for _, m := range maps {
				id, url := str(m, "id"), str(m, "webUrl")
				if id == "" || url == "" {
					wantBad++ // $select without id: never a site without identity
					continue
				}
				w := graphSite{FullID: id, URL: url, Title: str(m, "displayName"), ID: strings.ToLower(str(obj(m, "sharepointIds"), "siteId"))}
				if w.ID == "" {
					w.ID = strings.ToLower(strings.Split(id, ",")[1])
				}
				want = append(want, w)
			}
			var fe *FieldErrors
			if wantBad > 0 && (!errors.As(err, &fe) || fe.Count != wantBad || !strings.Contains(err.Error(), `field "id"`)) {
				t.Errorf("%s: %d items without id, error %v", name, wantBad, err)
			}
			if wantBad == 0 && err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if want == nil {
				want = []graphSite{}
			}
			check(t, name, sites, want)
			ok += len(sites)
			refused += wantBad
		}
		if ok < 10 || refused == 0 {
			t.Errorf("%d sites read, %d refused", ok, refused)
		}
	})
	t.Run("drives", func(t *testing.T) {
		for name, body := range recorded(t, "graph-drives") {
			raws, maps := itemsOf(t, body)
			drives, err := parseDrives(raws)
			if err != nil || len(drives) != len(maps) || len(drives) == 0 {
				t.Fatalf("%s: %v %v", name, drives, err)
			}
			for i, m := range maps {
				check(t, name, drives[i], drive{ID: str(m, "id"), Name: str(m, "name")})
			}
		}
	})
	t.Run("drive items", func(t *testing.T) {
		for name, body := range recorded(t, "graph-drive-item") {
			raws, maps := itemsOf(t, body)
			items, err := parseDriveItems(epDriveItem, raws)
			m := maps[0]
			if str(m, "id") == "" {
				// Answers to $select=parentReference,sharepointIds carry no
				// id: refused, naming the field.
				if err == nil || !strings.Contains(err.Error(), `field "id"`) || len(items) != 0 {
					t.Errorf("%s: %v %v", name, items, err)
				}
				continue
			}
			if err != nil || len(items) != 1 {
				t.Fatalf("%s: %v %v", name, items, err)
			}
			pr := obj(m, "parentReference")
			_, folder := m["folder"]
			_, shared := m["shared"]
			check(t, name, items[0], DriveItem{ID: str(m, "id"), Name: str(m, "name"), ParentID: str(pr, "id"), ParentPath: str(pr, "path"), Folder: folder, Shared: shared})
		}
	})
	t.Run("labels", func(t *testing.T) {
		for name, body := range recorded(t, "graph-sensitivity-labels") {
			raws, maps := itemsOf(t, body)
			got, err := ParseSensitivityLabels(raws)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, m := range maps {
				want[strings.ToLower(str(m, "id"))] = str(m, "name")
			}
			if len(want) == 0 {
				t.Fatalf("%s: no labels", name)
			}
			check(t, name, got, want)
		}
	})
	t.Run("groups", func(t *testing.T) {
		for name, body := range recorded(t, "graph-groups") {
			raws, maps := itemsOf(t, body)
			got, err := ParseGroups(raws)
			if err != nil || len(got) != len(maps) {
				t.Errorf("%s: %v %v", name, got, err)
			}
		}
	})
	t.Run("directory objects", func(t *testing.T) {
		for name, body := range recorded(t, "graph-directory-objects") {
			raws, maps := itemsOf(t, body)
			got, err := ParseRefs(raws)
			if err != nil {
				t.Fatal(err)
			}
			want := []tenant.Ref{}
			for _, m := range maps {
				want = append(want, tenant.Ref{ID: str(m, "id"), DisplayName: str(m, "displayName"),
					Type: strings.TrimPrefix(str(m, "@odata.type"), "#microsoft.graph.")})
			}
			sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
			check(t, name, got, want)
		}
	})
}

func TestRecordedErrors(t *testing.T) {
	for name, body := range recorded(t, "graph-error") {
		e := decodeError("GET /x", http.StatusBadRequest, body)
		m := obj(plain(t, body).(map[string]any), "error")
		if e.Code != str(m, "code") || e.Message != str(m, "message") || e.Code == "" {
			t.Errorf("%s: %+v", name, e)
		}
	}
	for name, body := range recorded(t, "csom-error") {
		info, err := csomErrorInfo(body)
		if err != nil || info == nil || info.ErrorTypeName != "System.Xml.Schema.XmlSchemaValidationException" || info.ErrorCode != -1 ||
			!strings.HasPrefix(info.ErrorMessage, "The 'TypeId' attribute is invalid") {
			t.Errorf("%s: %+v %v", name, info, err)
		}
		// ProcessQuery answers 200 with the error inside: still an error.
		e := decodeError("POST /_vti_bin/client.svc/ProcessQuery", http.StatusOK, body)
		if e.Code != info.ErrorTypeName || e.Message != info.ErrorMessage {
			t.Errorf("%s: %+v", name, e)
		}
	}
}

// TestRecordedUncovered: every recorded folder is read by a test above,
// except SharePoint REST, which the collector never calls.
func TestRecordedUncovered(t *testing.T) {
	read := []string{"graph-permissions", "graph-create-link", "graph-permission-get", "graph-permission-grant", "graph-permission-invite",
		"csom-tenant", "csom-site-properties-by-url", "csom-error", "graph-error", "graph-sites-list", "graph-drives", "graph-drive-item",
		"graph-sensitivity-labels", "graph-groups", "graph-directory-objects"}
	entries, err := os.ReadDir(filepath.Join("testdata", "recorded"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(read, e.Name()) && e.Name() != "sp-rest-sitegroups" {
			t.Errorf("recorded folder %s is read by no test", e.Name())
		}
	}
}

// TestFixturesLookRecorded: the fixture tenants' permissions have the
// shape the recordings show: hasPassword and link.preventsDownload on
// every link, the legacy grantedToIdentities beside the V2 form, a
// siteUser with its loginName beside every user, and no inheritedFrom
// (which SharePoint never sends).
func TestFixturesLookRecorded(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "tenants", "*", "graph", "v1.0", "drives", "*", "items", "*", "permissions.json"))
	if len(paths) < 5 {
		t.Fatalf("%d permission files", len(paths))
	}
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), "inheritedFrom") {
			t.Errorf("%s: inheritedFrom, which SharePoint never returns", p)
		}
		_, maps := itemsOf(t, body)
		for _, m := range maps {
			l := obj(m, "link")
			if l == nil {
				continue
			}
			_, v2 := m["grantedToIdentitiesV2"]
			_, legacy := m["grantedToIdentities"]
			if boolp(m, "hasPassword") == nil || boolp(l, "preventsDownload") == nil || !v2 || !legacy {
				t.Errorf("%s: link %s lacks hasPassword, preventsDownload or a grantedToIdentities form", p, str(m, "id"))
			}
			for _, set := range m["grantedToIdentitiesV2"].([]any) {
				s := set.(map[string]any)
				if obj(s, "user") != nil && (obj(s, "siteUser") == nil || str(obj(s, "siteUser"), "loginName") == "") {
					t.Errorf("%s: link %s: a user without siteUser.loginName", p, str(m, "id"))
				}
			}
		}
	}
}
