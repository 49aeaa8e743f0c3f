package rules

import "testing"

// TestReferencesInCatalogue holds every CIS and SCuBA reference of a rule to
// the control catalogue, so no report prints a bare ID without its title.
func TestReferencesInCatalogue(t *testing.T) {
	for _, r := range Builtin() {
		m := r.Meta()
		for _, ref := range []struct {
			f   Framework
			ids []string
		}{{FrameworkCIS, m.References.CIS}, {FrameworkSCuBA, m.References.SCuBA}} {
			for _, id := range ref.ids {
				c, ok := LookupControl(ref.f, id)
				if !ok {
					t.Errorf("%s: %s control %s is not in the catalogue", m.ID, ref.f, id)
					continue
				}
				if c.Title == "" || c.Version == "" {
					t.Errorf("%s: %s control %s lacks a title or version: %+v", m.ID, ref.f, id, c)
				}
			}
		}
	}
}

func TestLookupControl(t *testing.T) {
	c, ok := LookupControl(FrameworkSCuBA, "MS.SHAREPOINT.3.3v2")
	if !ok || c.Version != "v2" || c.Title == "" {
		t.Errorf("MS.SHAREPOINT.3.3v2 = %+v, %v; want version v2 with a title", c, ok)
	}
	c, ok = LookupControl(FrameworkCIS, "7.2.3")
	if !ok || c.Version != CISVersion {
		t.Errorf("CIS 7.2.3 = %+v, %v; want version %s", c, ok, CISVersion)
	}
	for _, bad := range []struct {
		f  Framework
		id string
	}{{FrameworkCIS, "9.9.9"}, {FrameworkSCuBA, "MS.SHAREPOINT.3.3v1"}, {"nist", "7.2.3"}} {
		if c, ok := LookupControl(bad.f, bad.id); ok {
			t.Errorf("LookupControl(%s, %s) = %+v, want not found", bad.f, bad.id, c)
		}
	}
}
