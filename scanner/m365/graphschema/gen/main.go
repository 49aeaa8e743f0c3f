// Command gen writes schema.json, the compact Graph schema of the types
// sharedrift reads and writes, from Microsoft's published Graph metadata
// (github.com/microsoftgraph/msgraph-metadata, MIT).
//
// Usage (from scanner/m365/graphschema, see doc.go):
//
//	go run ./gen -src DIR -commit SHA -date YYYY-MM-DD -out schema.json
//
// DIR holds v1.0-Prod.csdl and beta-{entity,complex,enum}-types.json as
// laid out in the reference copy (see doc.go).
package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// roots are, per API version, the types whose bodies the collector and
// remediation read or write (and, for directoryObject collections, the
// types such a collection can hold). Everything they reach through a
// property (complex and enum types) and their base types come along.
var roots = map[string][]string{
	"v1.0": {
		"microsoft.graph.sharepointSettings",
		"microsoft.graph.site",
		"microsoft.graph.drive",
		"microsoft.graph.driveItem",
		"microsoft.graph.permission",
		"microsoft.graph.directoryObject",
		"microsoft.graph.user",
		"microsoft.graph.group",
		"microsoft.graph.directoryRole",
		"microsoft.graph.administrativeUnit",
		"microsoft.graph.orgContact",
		"microsoft.graph.authorizationPolicy",
		"microsoft.graph.crossTenantAccessPolicyConfigurationDefault",
		"microsoft.graph.crossTenantAccessPolicyConfigurationPartner",
		"microsoft.graph.groupSetting",
		"microsoft.graph.subscribedSku",
		"microsoft.graph.subscription",
		"microsoft.graph.changeNotificationCollection",
	},
	"beta": {
		"microsoft.graph.sharepointSettings",
		"microsoft.graph.b2bManagementPolicy",
		"microsoft.graph.security.sensitivityLabel",
	},
}

// betaBase names the base type of beta types that v1.0 lacks (the beta
// JSON carries no base types). From Microsoft's beta reference pages:
// b2bManagementPolicy "Inherits from stsPolicy"; security.sensitivityLabel
// "Inherits from entity".
var betaBase = map[string]string{
	"microsoft.graph.b2bManagementPolicy":       "microsoft.graph.stsPolicy",
	"microsoft.graph.security.sensitivityLabel": "microsoft.graph.entity",
}

// Type is one type of the output.
type Type struct {
	Kind string `json:"kind"` // entity, complex, enum
	Base string `json:"base,omitempty"`
	// Open is the CSDL's OpenType (set on directory objects, whose
	// instances may carry extension properties).
	Open bool `json:"open,omitempty"`
	// Properties and Navigation include those of every base type; the
	// value is the property's type ("" where the beta metadata names a
	// property without its type).
	Properties map[string]string `json:"properties,omitempty"`
	Navigation map[string]string `json:"navigation,omitempty"`
	Members    []string          `json:"members,omitempty"`
	Flags      bool              `json:"flags,omitempty"`
}

// Output is schema.json.
type Output struct {
	Source   map[string]string           `json:"source"`
	Versions map[string]map[string]*Type `json:"versions"`
}

func main() {
	src := flag.String("src", "", "directory of the Graph metadata")
	commit := flag.String("commit", "", "msgraph-metadata commit the files come from")
	date := flag.String("date", "", "date of that commit")
	out := flag.String("out", "schema.json", "output file")
	flag.Parse()
	if *src == "" || *commit == "" || *date == "" {
		fmt.Fprintln(os.Stderr, "gen: -src, -commit and -date are required")
		os.Exit(2)
	}
	if err := run(*src, *commit, *date, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(src, commit, date, out string) error {
	v1, err := readCSDL(filepath.Join(src, "v1.0-Prod.csdl"))
	if err != nil {
		return err
	}
	beta, err := readBeta(src, v1)
	if err != nil {
		return err
	}
	o := Output{
		Source: map[string]string{
			"repository": "https://github.com/microsoftgraph/msgraph-metadata",
			"commit":     commit,
			"date":       date,
			"licence":    "MIT",
			"files":      "schemas/v1.0-Prod.csdl; beta entity, complex and enum type lists",
		},
		Versions: map[string]map[string]*Type{},
	}
	for ver, all := range map[string]map[string]*Type{"v1.0": v1, "beta": beta} {
		picked, err := closure(all, roots[ver])
		if err != nil {
			return fmt.Errorf("%s: %w", ver, err)
		}
		o.Versions[ver] = picked
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(o); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// closure picks the roots, their base types, the types their properties
// have and, recursively, those types' own; properties are flattened over
// the base chain.
func closure(all map[string]*Type, rootNames []string) (map[string]*Type, error) {
	out := map[string]*Type{}
	var visit func(name string) error
	visit = func(name string) error {
		if _, done := out[name]; done || strings.HasPrefix(name, "Edm.") || name == "" {
			return nil
		}
		t, ok := all[name]
		if !ok {
			return fmt.Errorf("type %s is not in the metadata", name)
		}
		flat := &Type{Kind: t.Kind, Base: t.Base, Open: t.Open, Members: t.Members, Flags: t.Flags}
		out[name] = flat
		if t.Kind == "enum" {
			return nil
		}
		flat.Properties, flat.Navigation = map[string]string{}, map[string]string{}
		for cur, depth := t, 0; cur != nil; depth++ {
			if depth > 32 {
				return fmt.Errorf("type %s: base type chain too long", name)
			}
			for k, v := range cur.Properties {
				if _, seen := flat.Properties[k]; !seen {
					flat.Properties[k] = v
				}
			}
			for k, v := range cur.Navigation {
				if _, seen := flat.Navigation[k]; !seen {
					flat.Navigation[k] = v
				}
			}
			if cur.Open {
				flat.Open = true
			}
			if cur.Base == "" {
				break
			}
			next, ok := all[cur.Base]
			if !ok {
				return fmt.Errorf("type %s: base type %s is not in the metadata", name, cur.Base)
			}
			cur = next
		}
		if t.Base != "" {
			if err := visit(t.Base); err != nil {
				return err
			}
		}
		for _, pt := range flat.Properties {
			if err := visit(elem(pt)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range rootNames {
		if err := visit(r); err != nil {
			return nil, err
		}
	}
	for _, t := range out {
		if len(t.Navigation) == 0 {
			t.Navigation = nil
		}
	}
	return out, nil
}

func elem(t string) string {
	if s, ok := strings.CutPrefix(t, "Collection("); ok {
		return strings.TrimSuffix(s, ")")
	}
	return t
}

// readCSDL reads the entity, complex and enum types of a CSDL document,
// with type names written out in full (aliases resolved).
func readCSDL(path string) (map[string]*Type, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	// Aliases are global to the document: collect them first.
	aliases := map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Schema" {
			if a := attr(se, "Alias"); a != "" {
				aliases[a] = attr(se, "Namespace")
			}
		}
	}
	full := func(t string) string {
		inner := elem(t)
		if !strings.HasPrefix(inner, "Edm.") {
			if i := strings.LastIndex(inner, "."); i > 0 {
				if ns, ok := aliases[inner[:i]]; ok {
					inner = ns + inner[i:]
				}
			}
		}
		if strings.HasPrefix(t, "Collection(") {
			return "Collection(" + inner + ")"
		}
		return inner
	}
	types := map[string]*Type{}
	var ns string
	var cur *Type
	dec = xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		switch se := tok.(type) {
		case xml.StartElement:
			switch se.Name.Local {
			case "Schema":
				ns = attr(se, "Namespace")
			case "EntityType", "ComplexType", "EnumType":
				kind := map[string]string{"EntityType": "entity", "ComplexType": "complex", "EnumType": "enum"}[se.Name.Local]
				cur = &Type{Kind: kind, Open: attr(se, "OpenType") == "true", Flags: attr(se, "IsFlags") == "true",
					Properties: map[string]string{}, Navigation: map[string]string{}}
				if b := attr(se, "BaseType"); b != "" {
					cur.Base = full(b)
				}
				types[ns+"."+attr(se, "Name")] = cur
			case "Property":
				if cur != nil {
					cur.Properties[attr(se, "Name")] = full(attr(se, "Type"))
				}
			case "NavigationProperty":
				if cur != nil {
					cur.Navigation[attr(se, "Name")] = full(attr(se, "Type"))
				}
			case "Member":
				if cur != nil && cur.Kind == "enum" {
					cur.Members = append(cur.Members, attr(se, "Name"))
				}
			}
		case xml.EndElement:
			switch se.Name.Local {
			case "EntityType", "ComplexType", "EnumType":
				cur = nil
			}
		}
	}
	for _, t := range types {
		sort.Strings(t.Members)
	}
	return types, nil
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// betaList is the shape of beta-{entity,complex}-types.json.
type betaList map[string]map[string]struct {
	Properties []string `json:"properties"`
	Navigation []string `json:"navigationProperties"`
}

// readBeta builds beta types from the name lists, taking base types and
// property types from v1.0 where the same type and property exist there.
func readBeta(src string, v1 map[string]*Type) (map[string]*Type, error) {
	types := map[string]*Type{}
	for file, kind := range map[string]string{"beta-entity-types.json": "entity", "beta-complex-types.json": "complex"} {
		var l betaList
		if err := readJSON(filepath.Join(src, file), &l); err != nil {
			return nil, err
		}
		for ns, byName := range l {
			for name, def := range byName {
				full := ns + "." + name
				t := &Type{Kind: kind, Properties: map[string]string{}, Navigation: map[string]string{}}
				v, inV1 := v1[full]
				if inV1 {
					t.Base, t.Open = v.Base, v.Open
				}
				if b, ok := betaBase[full]; ok {
					t.Base = b
				}
				for _, p := range def.Properties {
					if inV1 {
						t.Properties[p] = v.Properties[p]
					} else {
						t.Properties[p] = ""
					}
				}
				for _, p := range def.Navigation {
					if inV1 {
						t.Navigation[p] = v.Navigation[p]
					} else {
						t.Navigation[p] = ""
					}
				}
				types[full] = t
			}
		}
	}
	var enums map[string]map[string][]string
	if err := readJSON(filepath.Join(src, "beta-enum-types.json"), &enums); err != nil {
		return nil, err
	}
	for ns, byName := range enums {
		for name, members := range byName {
			full := ns + "." + name
			t := &Type{Kind: "enum", Members: append([]string(nil), members...)}
			if v, ok := v1[full]; ok {
				t.Flags = v.Flags
			}
			sort.Strings(t.Members)
			types[full] = t
		}
	}
	return types, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
