package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// Kind says how an object changed between two snapshots.
type Kind string

// Change kinds.
const (
	Added    Kind = "added"
	Removed  Kind = "removed"
	Modified Kind = "modified"
)

// Change is one object that differs between two complete snapshots of a
// section.
type Change struct {
	Section tenant.Section `json:"section"`
	Key     string         `json:"key"`
	Name    string         `json:"name,omitempty"`
	Kind    Kind           `json:"kind"`
	// Fields lists what changed in a modified object.
	Fields []FieldChange `json:"fields,omitempty"`
	// Object is the new document of an added object or the last seen
	// document of a removed one.
	Object json.RawMessage `json:"object,omitempty"`
}

// FieldChange is one changed value inside an object. Path uses dots for
// object fields, [i] for list positions and [field=value] for list entries
// that carry an identity (id, domain or name). Lists of plain values are
// compared as sets: Added and Removed hold their members as text.
type FieldChange struct {
	Path    string          `json:"path"`
	Old     json.RawMessage `json:"old,omitempty"`
	New     json.RawMessage `json:"new,omitempty"`
	Added   []string        `json:"added,omitempty"`
	Removed []string        `json:"removed,omitempty"`
}

// String renders the change for people, e.g. `expires: "2025-01-01T00:00:00Z" -> (none)`
// or `blockedDomains: -evil.example +partner.example`.
func (f FieldChange) String() string {
	if len(f.Added) > 0 || len(f.Removed) > 0 {
		var parts []string
		for _, r := range f.Removed {
			parts = append(parts, "-"+r)
		}
		for _, a := range f.Added {
			parts = append(parts, "+"+a)
		}
		return f.Path + ": " + strings.Join(parts, " ")
	}
	show := func(v json.RawMessage) string {
		if len(v) == 0 {
			return "(none)"
		}
		return string(v)
	}
	return f.Path + ": " + show(f.Old) + " -> " + show(f.New)
}

// Diff compares two snapshots section by section and returns the changes,
// ordered by section and key. A section is compared only when it is complete
// in both snapshots: an incomplete section yields nothing at all, so missing
// data is never reported as a removal. A nil prev yields no changes (the
// first snapshot is the baseline).
func Diff(prev, cur *tenant.Snapshot) ([]Change, error) {
	if prev == nil || cur == nil {
		return nil, nil
	}
	var out []Change
	for _, sec := range tenant.AllSections {
		if !prev.Complete(sec) || !cur.Complete(sec) {
			continue
		}
		old := map[string]Object{}
		pairing := NewPairing(0)
		if err := Objects(prev, sec, func(o Object) error {
			old[o.Key] = o
			pairing.AddPrevious(o.Key, hashSlice(o.Doc))
			return nil
		}); err != nil {
			return nil, fmt.Errorf("diff %s: %w", sec, err)
		}
		var changes []Change
		err := Objects(cur, sec, func(o Object) error {
			var before []byte
			switch pairing.Match(o.Key, Hash(o.Doc)) {
			case PairDuplicate, PairUnchanged:
				return nil
			case PairModified:
				before = old[o.Key].Doc
			}
			c, ok, err := ObjectChange(sec, o.Key, o.Name, before, o.Doc)
			if err != nil {
				return err
			}
			if ok {
				changes = append(changes, c)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("diff %s: %w", sec, err)
		}
		for k, p := range old {
			if pairing.Removed(k) {
				c, _, err := ObjectChange(sec, k, p.Name, p.Doc, nil)
				if err != nil {
					return nil, fmt.Errorf("diff %s: %w", sec, err)
				}
				changes = append(changes, c)
			}
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })
		out = append(out, changes...)
	}
	return out, nil
}

// ObjectChange describes how one object went from before to after: nil
// before means added, nil after means removed. ok is false when the two
// documents are equal in content (e.g. only a set was reordered).
func ObjectChange(sec tenant.Section, key, name string, before, after []byte) (c Change, ok bool, err error) {
	c = Change{Section: sec, Key: key, Name: name}
	switch {
	case before == nil && after == nil:
		return c, false, nil
	case before == nil:
		c.Kind, c.Object = Added, json.RawMessage(after)
		return c, true, nil
	case after == nil:
		c.Kind, c.Object = Removed, json.RawMessage(before)
		return c, true, nil
	}
	if bytes.Equal(before, after) {
		return c, false, nil
	}
	fields, err := DiffObject(before, after)
	if err != nil {
		return c, false, fmt.Errorf("diff %s: %w", key, err)
	}
	if len(fields) == 0 {
		return c, false, nil
	}
	c.Kind, c.Fields = Modified, fields
	return c, true, nil
}

// DiffObject compares two JSON documents and returns the changed fields in
// path order.
func DiffObject(before, after []byte) ([]FieldChange, error) {
	a, err := decode(before)
	if err != nil {
		return nil, fmt.Errorf("decode previous document: %w", err)
	}
	b, err := decode(after)
	if err != nil {
		return nil, fmt.Errorf("decode current document: %w", err)
	}
	var out []FieldChange
	walk("", a, b, &out)
	return out, nil
}

func decode(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func walk(path string, a, b any, out *[]FieldChange) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, aok := am[k]
			bv, bok := bm[k]
			p := join(path, k)
			switch {
			case !aok:
				*out = append(*out, FieldChange{Path: p, New: raw(bv)})
			case !bok:
				*out = append(*out, FieldChange{Path: p, Old: raw(av)})
			default:
				walk(p, av, bv, out)
			}
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	// A null list next to a list is compared as an empty one, so that
	// clearing a domain list still names the domains that went.
	if aIsList && b == nil || bIsList && a == nil {
		aIsList, bIsList = true, true
	}
	if aIsList && bIsList {
		walkList(path, al, bl, out)
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, FieldChange{Path: path, Old: raw(a), New: raw(b)})
	}
}

// identityFields are the fields that identify an entry of a list of
// objects, in order of preference.
var identityFields = []string{"id", "domain", "name"}

func walkList(path string, a, b []any, out *[]FieldChange) {
	if allScalars(a) && allScalars(b) {
		as, bs := scalarSet(a), scalarSet(b)
		var added, removed []string
		for k := range bs {
			if !as[k] {
				added = append(added, k)
			}
		}
		for k := range as {
			if !bs[k] {
				removed = append(removed, k)
			}
		}
		if len(added) == 0 && len(removed) == 0 {
			return // same members, maybe another order
		}
		sort.Strings(added)
		sort.Strings(removed)
		*out = append(*out, FieldChange{Path: path, Old: raw(a), New: raw(b), Added: added, Removed: removed})
		return
	}
	if id := commonIdentity(a, b); id != "" {
		index := func(l []any) ([]string, map[string]any) {
			var order []string
			m := map[string]any{}
			for _, e := range l {
				v := e.(map[string]any)[id].(string)
				order = append(order, v)
				m[v] = e
			}
			return order, m
		}
		ao, am := index(a)
		bo, bm := index(b)
		for _, k := range bo {
			p := fmt.Sprintf("%s[%s=%s]", path, id, k)
			if av, ok := am[k]; ok {
				walk(p, av, bm[k], out)
			} else {
				*out = append(*out, FieldChange{Path: p, New: raw(bm[k])})
			}
		}
		for _, k := range ao {
			if _, ok := bm[k]; !ok {
				*out = append(*out, FieldChange{Path: fmt.Sprintf("%s[%s=%s]", path, id, k), Old: raw(am[k])})
			}
		}
		return
	}
	n := max(len(a), len(b))
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case i >= len(a):
			*out = append(*out, FieldChange{Path: p, New: raw(b[i])})
		case i >= len(b):
			*out = append(*out, FieldChange{Path: p, Old: raw(a[i])})
		default:
			walk(p, a[i], b[i], out)
		}
	}
}

func allScalars(l []any) bool {
	for _, e := range l {
		switch e.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

func scalarSet(l []any) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			m[s] = true
		} else {
			m[string(raw(e))] = true
		}
	}
	return m
}

// commonIdentity returns the identity field that every entry of both lists
// carries as a unique string, or "" when there is none.
func commonIdentity(a, b []any) string {
	for _, id := range identityFields {
		if uniqueField(a, id) && uniqueField(b, id) {
			return id
		}
	}
	return ""
}

func uniqueField(l []any, field string) bool {
	seen := map[string]bool{}
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		v, ok := m[field].(string)
		if !ok || seen[v] {
			return false
		}
		seen[v] = true
	}
	return true
}

func hashSlice(doc []byte) []byte {
	h := Hash(doc)
	return h[:]
}
