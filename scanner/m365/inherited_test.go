package m365_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// folderLinkFixture copies fabrikam and shares its Payroll folder with an
// organization link. As SharePoint does, the file below it (which has
// permissions of its own) lists the folder's link too, with the same id
// and no inheritedFrom.
func folderLinkFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(fabrikam)); err != nil {
		t.Fatal(err)
	}
	drive := filepath.Join(dir, "graph", "v1.0", "drives", "b!Qx1-fin")
	delta := filepath.Join(drive, "root", "delta.json")
	b, err := os.ReadFile(delta)
	if err != nil {
		t.Fatal(err)
	}
	const folder = `"folder": {
        "childCount": 2
      }`
	if !strings.Contains(string(b), folder) {
		t.Fatal("Payroll folder not found in the fixture")
	}
	b = []byte(strings.Replace(string(b), folder, folder+`,
      "shared": {
        "scope": "organization"
      }`, 1))
	if err := os.WriteFile(delta, b, 0o600); err != nil {
		t.Fatal(err)
	}
	const link = `{
      "id": "0e9f6a52-3c1d-4b8e-9f27-5d4c3b2a1f09",
      "roles": ["read"],
      "hasPassword": false,
      "grantedToIdentitiesV2": [],
      "grantedToIdentities": [],
      "link": {
        "scope": "organization",
        "type": "view",
        "webUrl": "https://fabrikam.sharepoint.com/:f:/s/Finance/EoPayrollFolder",
        "preventsDownload": false
      }
    }`
	folderPerms := filepath.Join(drive, "items", "f0d9fa83-0d6b-5901-a4d3-3912ff886cec", "permissions.json")
	if err := os.MkdirAll(filepath.Dir(folderPerms), 0o700); err != nil {
		t.Fatal(err)
	}
	body := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#drives('b%21Qx1-fin')/items('f0d9fa83-0d6b-5901-a4d3-3912ff886cec')/permissions","value":[` + link + `]}`
	if err := os.WriteFile(folderPerms, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	filePerms := filepath.Join(drive, "items", "01FIN8PAYROLL2026", "permissions.json")
	b, err = os.ReadFile(filePerms)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"value": [`, `"value": [`+link+`,`, 1))
	if err := os.WriteFile(filePerms, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func linksWith(t *testing.T, s *tenant.Snapshot, permID string) []tenant.Link {
	t.Helper()
	var out []tenant.Link
	if err := s.EachLink(func(l *tenant.Link) error {
		if l.PermissionID == permID {
			out = append(out, *l)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFolderLinkReportedOnce: a link on a folder is reported once, on the
// folder, although the item below it lists it too; also after an
// incremental scan that re-reads only that item.
func TestFolderLinkReportedOnce(t *testing.T) {
	const permID = "0e9f6a52-3c1d-4b8e-9f27-5d4c3b2a1f09"
	srv, err := m365test.New(folderLinkFixture(t), m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	st := newMemState()
	o := m365.SourceOptions{State: st}
	check := func(name string, s *tenant.Snapshot) {
		t.Helper()
		if !s.Complete(tenant.SectionLinks) {
			t.Fatalf("%s: %+v", name, s.Status[tenant.SectionLinks])
		}
		got := linksWith(t, s, permID)
		if len(got) != 1 || got[0].ItemPath != "/Payroll" || !got[0].Folder || got[0].ItemID != "f0d9fa83-0d6b-5901-a4d3-3912ff886cec" {
			t.Errorf("%s: folder link reported as %+v, want once on /Payroll", name, got)
		}
		if n := len(linksWith(t, s, "5f0c2b7e-3a9d-4c1e-8b6f-0d2e4a6c8e15")); n != 1 {
			t.Errorf("%s: the file's own link reported %d times", name, n)
		}
	}
	first := collectSection(t, c, o, tenant.SectionLinks)
	check("full scan", first)
	st.commit(first)

	// The file's sharing changes (a grant is removed): only the file is
	// read again, and it still lists the folder's link.
	if err := c.GraphWrite(context.Background(), http.MethodDelete, m365.V1,
		"/drives/b!Qx1-fin/items/01FIN8PAYROLL2026/permissions/55cd8493-5e00-581a-b9d4-4c23461ec889", nil, nil); err != nil {
		t.Fatal(err)
	}
	// (Call keys name the drive as sent: "b!" escaped.)
	before := srv.Calls()["GET /v1.0/drives/b%21Qx1-fin/items/f0d9fa83-0d6b-5901-a4d3-3912ff886cec/permissions"]
	second := collectSection(t, c, o, tenant.SectionLinks)
	check("incremental scan", second)
	if srv.Calls()["GET /v1.0/drives/b%21Qx1-fin/items/f0d9fa83-0d6b-5901-a4d3-3912ff886cec/permissions"] != before {
		t.Error("the unchanged folder was read again")
	}
	if srv.Calls()["GET /v1.0/drives/b%21Qx1-fin/items/01FIN8PAYROLL2026/permissions"] < 2 {
		t.Error("the changed file was not read again")
	}
}
