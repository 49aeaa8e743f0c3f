package graphschema

import "testing"

func TestEmbeddedSchema(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if s.Source["commit"] == "" || s.Source["licence"] != "MIT" {
		t.Fatalf("provenance missing: %v", s.Source)
	}
	label, ok := s.Type("beta", "microsoft.graph.security.sensitivityLabel")
	if !ok {
		t.Fatal("beta security.sensitivityLabel missing")
	}
	if _, _, _, ok := label.Lookup("displayName"); ok {
		t.Error("security.sensitivityLabel has displayName; Microsoft's beta schema has name only")
	}
	for _, p := range []string{"id", "name", "sensitivity"} {
		if _, _, _, ok := label.Lookup(p); !ok {
			t.Errorf("security.sensitivityLabel lacks %s", p)
		}
	}
	user, _ := s.Type("v1.0", "microsoft.graph.user")
	if d, typ, nav, ok := user.Lookup("SIGNINACTIVITY"); !ok || d != "signInActivity" || typ != "microsoft.graph.signInActivity" || nav {
		t.Errorf("user signInActivity = %q %q %v %v", d, typ, nav, ok)
	}
	if _, typ, nav, ok := user.Lookup("sponsors"); !ok || !nav || typ != "Collection(microsoft.graph.directoryObject)" {
		t.Errorf("user sponsors = %q %v %v", typ, nav, ok)
	}
	if !s.IsA("v1.0", user, "microsoft.graph.directoryObject") {
		t.Error("user is not a directoryObject")
	}
	b2b, _ := s.Type("beta", "microsoft.graph.b2bManagementPolicy")
	if _, typ, _, ok := b2b.Lookup("definition"); !ok || typ != "Collection(Edm.String)" {
		t.Errorf("b2bManagementPolicy definition = %q %v (base stsPolicy not folded in)", typ, ok)
	}
	caps, ok := s.Type("v1.0", "microsoft.graph.sharingCapabilities")
	if !ok || !caps.IsMember("externalUserSharingOnly") || caps.IsMember("anyone") {
		t.Errorf("sharingCapabilities members wrong: %v", caps)
	}
}
