package graphschema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

//go:embed schema.json
var schemaJSON []byte

// Type is one Graph type.
type Type struct {
	Name string `json:"-"`
	// Kind is "entity", "complex" or "enum".
	Kind string `json:"kind"`
	Base string `json:"base,omitempty"`
	// Open is the CSDL's OpenType: directory objects, which may carry
	// extension properties.
	Open bool `json:"open,omitempty"`
	// Properties and Navigation map each name (base types' included) to
	// its type, e.g. "Edm.String" or "Collection(microsoft.graph.identitySet)";
	// "" where only the name is published (beta).
	Properties map[string]string `json:"properties,omitempty"`
	Navigation map[string]string `json:"navigation,omitempty"`
	// Members are an enum's member names; Flags says a value may combine
	// several, comma-separated.
	Members []string `json:"members,omitempty"`
	Flags   bool     `json:"flags,omitempty"`

	// folded maps lower-cased names to the declared ones: Graph matches
	// query option names without regard to case.
	folded  map[string]string
	members map[string]bool
}

// Schema is the set of types of each API version ("v1.0", "beta").
type Schema struct {
	Source   map[string]string           `json:"source"`
	Versions map[string]map[string]*Type `json:"versions"`
}

var (
	once    sync.Once
	loaded  *Schema
	errLoad error
)

// Load returns the embedded schema, parsed once.
func Load() (*Schema, error) {
	once.Do(func() { loaded, errLoad = parse(schemaJSON) })
	return loaded, errLoad
}

// MustLoad is Load for callers that cannot go on without the schema (the
// embedded file is checked by the package's tests).
func MustLoad() *Schema {
	s, err := Load()
	if err != nil {
		panic(err)
	}
	return s
}

func parse(data []byte) (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("graphschema: %w", err)
	}
	for ver, types := range s.Versions {
		for name, t := range types {
			t.Name = name
			t.folded = make(map[string]string, len(t.Properties)+len(t.Navigation))
			for k := range t.Properties {
				t.folded[strings.ToLower(k)] = k
			}
			for k := range t.Navigation {
				t.folded[strings.ToLower(k)] = k
			}
			if t.Kind == "enum" {
				t.members = make(map[string]bool, len(t.Members))
				for _, m := range t.Members {
					t.members[m] = true
				}
			}
			if t.Base != "" && types[t.Base] == nil {
				return nil, fmt.Errorf("graphschema: %s %s: base type %s missing", ver, name, t.Base)
			}
		}
	}
	return &s, nil
}

// Type returns the named type ("microsoft.graph.user") of a version.
func (s *Schema) Type(version, name string) (*Type, bool) {
	t, ok := s.Versions[version][strings.TrimPrefix(name, "#")]
	return t, ok
}

// IsA reports whether t is the type named base or derives from it.
func (s *Schema) IsA(version string, t *Type, base string) bool {
	for depth := 0; t != nil && depth < 32; depth++ {
		if t.Name == base {
			return true
		}
		t = s.Versions[version][t.Base]
	}
	return false
}

// Derived lists the types of a version that derive from base (base
// itself excluded), sorted by name.
func (s *Schema) Derived(version, base string) []*Type {
	var out []*Type
	for _, t := range s.Versions[version] {
		if t.Name != base && s.IsA(version, t, base) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a property or navigation property by name, ignoring case
// as Graph does in query options; it returns the declared name, its type
// and whether it is a navigation property.
func (t *Type) Lookup(name string) (declared, typ string, nav, ok bool) {
	d, ok := t.folded[strings.ToLower(name)]
	if !ok {
		return "", "", false, false
	}
	if typ, isProp := t.Properties[d]; isProp {
		return d, typ, false, true
	}
	return d, t.Navigation[d], true, true
}

// IsMember reports whether v is a member of an enum type (for a flags
// enum, every comma-separated part must be).
func (t *Type) IsMember(v string) bool {
	if !t.Flags {
		return t.members[v]
	}
	for _, p := range strings.Split(v, ",") {
		if !t.members[strings.TrimSpace(p)] {
			return false
		}
	}
	return true
}

// ElemType returns the element type of "Collection(X)" and true, or the
// type itself and false.
func ElemType(typ string) (string, bool) {
	if s, ok := strings.CutPrefix(typ, "Collection("); ok {
		return strings.TrimSuffix(s, ")"), true
	}
	return typ, false
}
