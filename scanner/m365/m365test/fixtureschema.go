package m365test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365/graphschema"
)

// checkFixture checks that a Graph fixture body could have been sent by
// the service: its path is an endpoint the fake serves, and every
// property of every object is one the endpoint's type (or the type its
// @odata.type names) declares, with a value of the declared type.
// Annotations (@odata.*, @microsoft.graph.*, and the same after a
// property name) are allowed. key is the fixture key ("graph/v1.0/users").
func (s *Server) checkFixture(key string, v any) error {
	if strings.HasPrefix(key, "sharepoint/") && siteUsersPath.MatchString(strings.TrimPrefix(key, "sharepoint")) {
		if key != SiteUsersFixture(strings.TrimSuffix(strings.TrimPrefix(key, "sharepoint"), "/_api/web/siteusers")) {
			return fmt.Errorf("a site users fixture is at sharepoint/<site path>/_api/web/siteusers.json (lower case)")
		}
		return checkSiteUsers(v)
	}
	rest, ok := strings.CutPrefix(key, "graph/")
	if !ok {
		return nil // CSOM and Exchange bodies are not Graph's
	}
	r, ok := findRoute("/" + rest)
	if !ok {
		return fmt.Errorf("no Graph endpoint the fake serves has the path /%s", rest)
	}
	t, ok := s.schema.Type(r.version, r.typ)
	if !ok {
		return fmt.Errorf("type %s missing from the schema", r.typ)
	}
	c := bodyChecker{sc: s.schema, version: r.version}
	if !r.collection {
		return c.object(t, v, "")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("a collection body is an object with a \"value\" array, got %s", jsonKind(v))
	}
	for k, val := range m {
		switch {
		case k == "value":
			items, ok := val.([]any)
			if !ok {
				return fmt.Errorf("value: expected an array, got %s", jsonKind(val))
			}
			for i, it := range items {
				if err := c.object(t, it, fmt.Sprintf("value[%d]", i)); err != nil {
					return err
				}
			}
		case isAnnotation(k):
		default:
			return fmt.Errorf("%s: a collection body holds only \"value\" and annotations", k)
		}
	}
	return nil
}

// unknownProperty is a property a body carries that its type does not
// declare.
type unknownProperty struct {
	path, name, typ, version string
}

func (e *unknownProperty) Error() string {
	return fmt.Sprintf("%s: property %q is not defined on type %s (Graph %s schema)", e.path, e.name, e.typ, e.version)
}

// bodyChecker checks bodies against one version of the schema.
type bodyChecker struct {
	sc      *graphschema.Schema
	version string
}

func isAnnotation(k string) bool {
	return strings.HasPrefix(k, "@odata.") || strings.HasPrefix(k, "@microsoft.graph.")
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// object checks one object of type t (or of the type its @odata.type
// names, which must be t or derive from it).
func (c bodyChecker) object(t *graphschema.Type, v any, path string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: expected a %s object, got %s", orTop(path), t.Name, jsonKind(v))
	}
	if ot, ok := m["@odata.type"]; ok {
		name, _ := ot.(string)
		actual, found := c.sc.Type(c.version, strings.TrimPrefix(name, "#"))
		if !found || !strings.HasPrefix(name, "#") {
			return fmt.Errorf("%s: @odata.type %v is not a type of the Graph %s schema the fake knows", join(path, "@odata.type"), ot, c.version)
		}
		if !c.sc.IsA(c.version, actual, t.Name) {
			return fmt.Errorf("%s: @odata.type %s is not a %s", join(path, "@odata.type"), name, t.Name)
		}
		t = actual
	}
	dir := c.sc.IsA(c.version, t, "microsoft.graph.directoryObject")
	for k, val := range m {
		if isAnnotation(k) {
			continue
		}
		if prop, ann, ok := strings.Cut(k, "@"); ok {
			if !isAnnotation("@"+ann) || !declares(t, prop) {
				return fmt.Errorf("%s: annotation %q is not an annotation of a property of %s", join(path, k), k, t.Name)
			}
			continue
		}
		typ, isProp := t.Properties[k]
		if !isProp {
			var isNav bool
			typ, isNav = t.Navigation[k]
			if !isNav {
				if dir && strings.HasPrefix(k, "extension_") {
					continue // a directory extension property
				}
				if t.Open && t.Kind == "complex" {
					// Open complex types carry more than they declare:
					// SharePoint's identities send email and loginName.
					continue
				}
				return &unknownProperty{path: join(path, k), name: k, typ: t.Name, version: c.version}
			}
		}
		if err := c.value(typ, val, join(path, k)); err != nil {
			return err
		}
	}
	return nil
}

func declares(t *graphschema.Type, name string) bool {
	_, p := t.Properties[name]
	_, n := t.Navigation[name]
	return p || n
}

// value checks a value against a declared type; null is accepted (the
// schema's nullability is not carried) and "" (a beta property whose type
// is not published) accepts anything.
func (c bodyChecker) value(typ string, v any, path string) error {
	if v == nil || typ == "" {
		return nil
	}
	if elem, isColl := graphschema.ElemType(typ); isColl {
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: expected an array of %s, got %s", path, elem, jsonKind(v))
		}
		for i, e := range arr {
			if err := c.value(elem, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	want := ""
	switch typ {
	case "Edm.String", "Edm.Guid", "Edm.Binary", "Edm.Duration", "Edm.Date", "Edm.TimeOfDay":
		if _, ok := v.(string); !ok {
			want = "a string"
		}
	case "Edm.DateTimeOffset":
		s, ok := v.(string)
		if !ok {
			want = "a date-time string"
		} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%s: %q is not an ISO 8601 date-time", path, s)
		}
	case "Edm.Boolean":
		if _, ok := v.(bool); !ok {
			want = "a boolean"
		}
	case "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte":
		n, ok := v.(json.Number)
		if s, isStr := v.(string); isStr && typ == "Edm.Int64" {
			// OData's IEEE754Compatible form: an Int64 as a string
			// (recorded driveItem sizes).
			n, ok = json.Number(s), true
		}
		if !ok {
			want = "an integer"
		} else if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return fmt.Errorf("%s: %s is not an integer", path, n)
		}
	case "Edm.Double", "Edm.Single", "Edm.Decimal":
		if _, ok := v.(json.Number); !ok {
			want = "a number"
		}
	default:
		t, ok := c.sc.Type(c.version, typ)
		if !ok {
			return nil // a type outside the schema's closure (navigation targets)
		}
		if t.Kind == "enum" {
			s, ok := v.(string)
			if !ok {
				want = "a " + typ + " member name"
			} else if !t.IsMember(s) {
				return fmt.Errorf("%s: %q is not a member of %s (members: %s)", path, s, typ, strings.Join(t.Members, ", "))
			}
			break
		}
		return c.object(t, v, path)
	}
	if want != "" {
		return fmt.Errorf("%s: expected %s (%s), got %s", path, want, typ, jsonKind(v))
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
