package m365

// Strict reading of response objects. Each parser declares the fields it
// reads, with their JSON types, in a schema; it reads an object only
// through a reader bound to that schema, and only through the handles the
// declaration returned. A field that is absent or null is unknown; a field
// of another type, an unreadable value or an item without its identity is
// a FieldError naming the endpoint, the item and the field: never
// "absent", which would let a hostile or changed response hide a link, a
// domain or a label (DESIGN.md, invariant 9).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// kind is the JSON form a declared field must have.
type kind uint8

const (
	kString     kind = iota + 1
	kBool            // true or false
	kInt             // a number with an integral value
	kTime            // a string holding an RFC 3339 time
	kStrings         // an array of strings
	kObject          // an object, read with the field's schema
	kObjects         // an array of objects, each read with the field's schema
	kItems           // an array of objects, each an item of its own (a page)
	kFacet           // an object whose presence alone is read
	kLooseBool       // true or false, or the same as a string ("True")
	kEnum            // a name, or its number
	kStringList      // an array of strings, or one string
	kNamed           // a string, or an object carrying Name or DistinguishedName
)

// want names what a kind accepts, for errors.
func (k kind) want() string {
	switch k {
	case kString, kTime:
		return "string"
	case kBool:
		return "boolean"
	case kInt:
		return "number"
	case kStrings, kObjects, kItems:
		return "array"
	case kObject, kFacet:
		return "object"
	case kLooseBool:
		return "boolean or string"
	case kEnum:
		return "string or number"
	case kStringList:
		return "array or string"
	case kNamed:
		return "string or object"
	}
	return "nothing"
}

// accepts reports whether a value starting with c has a JSON type the kind
// takes; the value itself is checked when it is read.
func (k kind) accepts(c byte) bool {
	switch k {
	case kString, kTime:
		return c == '"'
	case kBool:
		return c == 't' || c == 'f'
	case kInt:
		return c == '-' || (c >= '0' && c <= '9')
	case kStrings, kObjects, kItems:
		return c == '['
	case kObject, kFacet:
		return c == '{'
	case kLooseBool:
		return c == 't' || c == 'f' || c == '"'
	case kEnum:
		return c == '"' || c == '-' || (c >= '0' && c <= '9')
	case kStringList:
		return c == '[' || c == '"'
	case kNamed:
		return c == '"' || c == '{'
	}
	return false
}

// jsonType names the JSON type of a value.
func jsonType(v []byte) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// maxFields bounds a schema, so that a reader's values live in an array.
const maxFields = 20

// schema declares the fields of one kind of object a parser reads.
type schema struct {
	item   string // what an item is called in errors ("permission"); "" for a single object
	id     int    // index of the identity field; -1 when there is none
	fields []field
}

type field struct {
	name string
	kind kind
	sub  *schema // kObject, kObjects, kItems
}

func newSchema(item string) *schema { return &schema{item: item, id: -1} }

// names lists the declared fields, for $select and CSOM property lists.
// It is called at run time, never to initialize a package variable: one
// initialized before a field whose sub-schema is declared later would
// miss that field.
func (s *schema) names() []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.name
	}
	return out
}

func (s *schema) add(name string, k kind, sub *schema) fieldRef {
	if len(s.fields) == maxFields {
		panic("m365: schema " + s.item + " has more than maxFields fields")
	}
	for _, f := range s.fields {
		if f.name == name {
			panic("m365: field " + name + " declared twice")
		}
	}
	s.fields = append(s.fields, field{name: name, kind: k, sub: sub})
	return fieldRef{s: s, i: len(s.fields) - 1}
}

// fieldRef is a declared field; the typed handles below say which reader
// method reads it.
type fieldRef struct {
	s *schema
	i int
}

type (
	strField        struct{ fieldRef }
	boolField       struct{ fieldRef }
	intField        struct{ fieldRef }
	timeField       struct{ fieldRef }
	strsField       struct{ fieldRef }
	objField        struct{ fieldRef }
	objsField       struct{ fieldRef }
	itemsField      struct{ fieldRef }
	facetField      struct{ fieldRef }
	looseBoolField  struct{ fieldRef }
	enumField       struct{ fieldRef }
	stringListField struct{ fieldRef }
	namedField      struct{ fieldRef }
)

// identity declares the string field that identifies an item: an item
// without it (absent, null or empty) is an error.
func (s *schema) identity(name string) strField {
	f := s.add(name, kString, nil)
	s.id = f.i
	return strField{f}
}

func (s *schema) str(name string) strField      { return strField{s.add(name, kString, nil)} }
func (s *schema) boolean(name string) boolField { return boolField{s.add(name, kBool, nil)} }
func (s *schema) integer(name string) intField  { return intField{s.add(name, kInt, nil)} }
func (s *schema) time(name string) timeField    { return timeField{s.add(name, kTime, nil)} }
func (s *schema) strings(name string) strsField { return strsField{s.add(name, kStrings, nil)} }
func (s *schema) facet(name string) facetField  { return facetField{s.add(name, kFacet, nil)} }
func (s *schema) enum(name string) enumField    { return enumField{s.add(name, kEnum, nil)} }
func (s *schema) named(name string) namedField {
	return namedField{s.add(name, kNamed, exchangeIdentitySchema)}
}
func (s *schema) object(name string, sub *schema) objField {
	return objField{s.add(name, kObject, sub)}
}
func (s *schema) objects(name string, sub *schema) objsField {
	return objsField{s.add(name, kObjects, sub)}
}
func (s *schema) items(name string, sub *schema) itemsField {
	return itemsField{s.add(name, kItems, sub)}
}
func (s *schema) looseBool(name string) looseBoolField {
	return looseBoolField{s.add(name, kLooseBool, nil)}
}
func (s *schema) stringList(name string) stringListField {
	return stringListField{s.add(name, kStringList, nil)}
}

// FieldError is an object of a response the collector cannot read as
// declared: a field of another JSON type, a value it cannot interpret, an
// item without its identity, or an item that is not an object.
type FieldError struct {
	Endpoint string
	Item     string // "permission"; "" for a single object
	ID       string // the item's identity when it has a readable one
	Index    int    // the item's position in its page
	Slot     string // the array of its page ("value"), shown when the item is no object
	Field    string // "link", "link.scope", "roles[1]"; "" for the object itself
	Want     string
	Got      string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Endpoint)
	if e.Item != "" {
		b.WriteString(": ")
		b.WriteString(e.Item)
		b.WriteByte(' ')
		if e.ID != "" {
			b.WriteString(strconv.Quote(e.ID))
		} else {
			b.WriteString(strconv.Itoa(e.Index))
		}
		if e.Field == "" && e.Slot != "" {
			fmt.Fprintf(&b, " (%s[%d])", e.Slot, e.Index)
		}
	}
	if e.Field != "" {
		if e.Item != "" {
			b.WriteByte(' ')
		} else {
			b.WriteString(": ")
		}
		b.WriteString("field ")
		b.WriteString(strconv.Quote(e.Field))
	}
	b.WriteString(": expected ")
	b.WriteString(e.Want)
	b.WriteString(", got ")
	b.WriteString(e.Got)
	return b.String()
}

// maxFieldErrors bounds the errors kept (and shown) per FieldErrors; the
// rest are counted.
const maxFieldErrors = 5

// FieldErrors are the items of one or more responses that could not be
// read. A parse returning them still returns every other item: the
// caller keeps those and marks its section partial.
type FieldErrors struct {
	Errs  []*FieldError
	Count int
}

func (e *FieldErrors) Error() string {
	var b strings.Builder
	for i, fe := range e.Errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	if more := e.Count - len(e.Errs); more > 0 {
		fmt.Fprintf(&b, " (and %d more)", more)
	}
	return b.String()
}

func (e *FieldErrors) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, fe := range e.Errs {
		out[i] = fe
	}
	return out
}

func (e *FieldErrors) add(fe *FieldError) {
	e.Count++
	if len(e.Errs) < maxFieldErrors {
		e.Errs = append(e.Errs, fe)
	}
}

func (e *FieldErrors) merge(o *FieldErrors) {
	for _, fe := range o.Errs {
		if len(e.Errs) < maxFieldErrors {
			e.Errs = append(e.Errs, fe)
		}
	}
	e.Count += o.Count
}

// err returns e, or nil when it holds nothing.
func (e *FieldErrors) err() error {
	if e == nil || e.Count == 0 {
		return nil
	}
	c := *e // a copy, so that e can stay on its caller's stack
	return &c
}

// noteItems splits err: FieldErrors (items left out, the rest read) are
// added to bad and nil is returned; any other error is returned as it is.
func noteItems(bad *FieldErrors, err error) error {
	var fe *FieldErrors
	if errors.As(err, &fe) {
		bad.merge(fe)
		return nil
	}
	return err
}

// reader reads one JSON object through its schema. Opening it locates the
// value of every declared field and checks its JSON type; each accessor
// then reads a value, nil or "" meaning absent or null. The first error of
// an item, in it or in an object inside it, is kept in the item's context.
//
// Readers live on the stack: an object's reader copies its path from the
// enclosing one instead of pointing to it, and only the small context is
// shared (and allocated once per reader of items).
type reader struct {
	s    *schema
	vals [maxFields][]byte // a declared field's value; nil when absent or null
	ctx  *itemCtx
	path [maxNesting]pathSeg // the fields leading from the item to this object
	deep int
}

// itemCtx is what an item's readers share.
type itemCtx struct {
	ep    string
	s     *schema
	slot  string
	index int
	id    []byte // the item's identity as a JSON string, when it has one
	fail1 *FieldError
}

type pathSeg struct {
	name string
	elem int // index in an array field; -1 when not in one
}

// maxNesting bounds how deep objects inside an item are read.
const maxNesting = 4

// item opens raw as item index of a response of endpoint ep. It returns
// false when raw is not an object (an error is then kept).
func (r *reader) item(ep string, s *schema, raw []byte, index int) bool {
	return r.itemIn(ep, "value", s, raw, index)
}

// itemIn is item for an item of the array slot of its page.
func (r *reader) itemIn(ep, slot string, s *schema, raw []byte, index int) bool {
	if r.ctx == nil {
		r.ctx = new(itemCtx)
	}
	*r.ctx = itemCtx{ep: ep, s: s, slot: slot, index: index}
	r.s, r.deep = s, 0
	return r.scan(raw)
}

// object opens raw as the value of field at (element elem when >= 0) of
// the object up reads.
func (r *reader) object(up *reader, at string, elem int, s *schema, raw []byte) bool {
	if up.deep == maxNesting {
		panic("m365: objects nested deeper than maxNesting")
	}
	r.s, r.ctx, r.path, r.deep = s, up.ctx, up.path, up.deep+1
	r.path[up.deep] = pathSeg{name: at, elem: elem}
	return r.scan(raw)
}

// anyPresent reports whether the object holds any declared field with a
// value (not absent, not null).
func (r *reader) anyPresent() bool {
	for _, v := range r.vals[:len(r.s.fields)] {
		if v != nil {
			return true
		}
	}
	return false
}

// first returns the item's first error, nil when there is none.
func (r *reader) first() *FieldError { return r.ctx.fail1 }

// err returns the item's first error as FieldErrors, or nil.
func (r *reader) err() error {
	if fe := r.ctx.fail1; fe != nil {
		return &FieldErrors{Errs: []*FieldError{fe}, Count: 1}
	}
	return nil
}

// failed reports whether the item has an error.
func (r *reader) failed() bool { return r.ctx.fail1 != nil }

// fail records an error at field name (element elem when >= 0) of r's
// object; only an item's first error is kept.
func (r *reader) fail(name string, elem int, want, got string) {
	c := r.ctx
	if c.fail1 != nil {
		return
	}
	fe := &FieldError{Endpoint: c.ep, Item: c.s.item, Index: c.index, Field: r.pathTo(name, elem), Want: want, Got: got}
	if c.s.item != "" {
		fe.Slot = c.slot
	}
	if c.id != nil {
		fe.ID, _ = decodeString(c.id)
	}
	c.fail1 = fe
}

// pathTo is "a[0].b.name[elem]" from the item down to name.
func (r *reader) pathTo(name string, elem int) string {
	var b strings.Builder
	seg := func(n string, e int) {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(n)
		if e >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e))
			b.WriteByte(']')
		}
	}
	for _, p := range r.path[:r.deep] {
		seg(p.name, p.elem)
	}
	if name != "" || elem >= 0 {
		seg(name, elem)
	}
	return b.String()
}

// scan locates the declared fields of raw and checks their types.
func (r *reader) scan(raw []byte) bool {
	s := r.s
	clear(r.vals[:len(s.fields)])
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		r.fail("", -1, "a JSON object", jsonType(raw[min(i, len(raw)):]))
		return false
	}
	end := valueEnd(raw, i, 0)
	if end < 0 || skipSpace(raw, end) != len(raw) {
		r.fail("", -1, "a JSON object", "malformed JSON")
		return false
	}
	var dup uint32
	i = skipSpace(raw, i+1)
	for raw[i] != '}' {
		kEnd := stringEnd(raw, i)
		key := raw[i:kEnd]
		i = skipSpace(raw, kEnd)
		i = skipSpace(raw, i+1) // ':'
		vEnd := valueEnd(raw, i, 0)
		if fi := s.lookup(key); fi >= 0 {
			if r.vals[fi] != nil {
				dup |= 1 << fi
			}
			r.vals[fi] = raw[i:vEnd]
		}
		i = skipSpace(raw, vEnd)
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	if r.deep == 0 && s.id >= 0 {
		if v := r.vals[s.id]; len(v) > 0 && v[0] == '"' && dup&(1<<s.id) == 0 {
			r.ctx.id = v
		}
	}
	for fi := range s.fields {
		f := &s.fields[fi]
		v := r.vals[fi]
		switch {
		case dup&(1<<fi) != 0:
			r.fail(f.name, -1, "one value", "the field twice")
			r.vals[fi] = nil
		case v == nil:
		case v[0] == 'n':
			r.vals[fi] = nil
		case !f.kind.accepts(v[0]):
			r.fail(f.name, -1, f.kind.want(), jsonType(v))
			r.vals[fi] = nil
		}
	}
	if s.id >= 0 {
		name := s.fields[s.id].name
		switch v := r.vals[s.id]; {
		case v == nil:
			r.fail(name, -1, "string", "nothing")
		case len(v) == 2:
			r.fail(name, -1, "non-empty string", `""`)
		}
	}
	return true
}

// lookup returns the index of the field named by a raw JSON key, or -1.
func (s *schema) lookup(key []byte) int {
	name := key[1 : len(key)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		// An escaped key names the same field as its plain spelling.
		var k string
		if json.Unmarshal(key, &k) != nil {
			return -1
		}
		name = []byte(k)
	}
	for i := range s.fields {
		if string(name) == s.fields[i].name {
			return i
		}
	}
	return -1
}

// raw returns a field's value; a handle of another schema is a bug.
func (r *reader) raw(f fieldRef) []byte {
	if f.s != r.s {
		panic("m365: field read through the reader of another schema")
	}
	return r.vals[f.i]
}

func (r *reader) name(f fieldRef) string { return f.s.fields[f.i].name }

// str reads a string field; "" when absent.
func (r *reader) str(f strField) string {
	s, _ := r.strOK(f)
	return s
}

// strOK reads a string field and whether it is present.
func (r *reader) strOK(f strField) (string, bool) {
	v := r.raw(f.fieldRef)
	if v == nil {
		return "", false
	}
	s, ok := decodeString(v)
	if !ok {
		r.fail(r.name(f.fieldRef), -1, "string", "an invalid string")
		return "", false
	}
	return s, true
}

// strIn reads a string field, answering the matching entry of known
// without a copy when there is one.
func (r *reader) strIn(f strField, known []string) string {
	v := r.raw(f.fieldRef)
	if v != nil {
		for _, k := range known {
			if len(v) == len(k)+2 && string(v[1:len(v)-1]) == k {
				return k
			}
		}
	}
	return r.str(f)
}

func (r *reader) boolp(f boolField) *bool {
	v := r.raw(f.fieldRef)
	if v == nil {
		return nil
	}
	b := v[0] == 't'
	return &b
}

// intOK reads an integral number.
func (r *reader) intOK(f intField) (int64, bool) {
	v := r.raw(f.fieldRef)
	if v == nil {
		return 0, false
	}
	n, ok := parseInt(v)
	if !ok {
		r.fail(r.name(f.fieldRef), -1, "an integer", string(v))
		return 0, false
	}
	return n, true
}

// int32p reads an integral number that fits an int32 (CSOM's Int32).
func (r *reader) int32p(f intField) *int {
	n, ok := r.intOK(f)
	if !ok {
		return nil
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		r.fail(r.name(f.fieldRef), -1, "a 32-bit integer", strconv.FormatInt(n, 10))
		return nil
	}
	i := int(n)
	return &i
}

// time reads an RFC 3339 time; "" and Microsoft's "0001-01-01T00:00:00Z"
// (never) give nil.
func (r *reader) time(f timeField) *time.Time {
	v := r.raw(f.fieldRef)
	if v == nil || len(v) == 2 {
		return nil
	}
	s, ok := decodeString(v)
	t, err := time.Parse(time.RFC3339Nano, s)
	if !ok || err != nil {
		r.fail(r.name(f.fieldRef), -1, "an RFC 3339 time", quoteShort(v))
		return nil
	}
	if t.Year() <= 1 {
		return nil
	}
	t = t.UTC()
	return &t
}

// strs reads an array of strings: nil when absent, [] when empty.
func (r *reader) strs(f strsField) []string {
	v := r.raw(f.fieldRef)
	if v == nil {
		return nil
	}
	return r.stringArray(r.name(f.fieldRef), v)
}

func (r *reader) stringArray(name string, v []byte) []string {
	out := make([]string, 0, countElems(v))
	for it := (elems{b: v}); it.next(); {
		e := it.val
		if e[0] != '"' {
			r.fail(name, it.n-1, "string", jsonType(e))
			return nil
		}
		s, ok := decodeString(e)
		if !ok {
			r.fail(name, it.n-1, "string", "an invalid string")
			return nil
		}
		out = append(out, s)
	}
	return out
}

// has reports whether a facet is present.
func (r *reader) has(f facetField) bool { return r.raw(f.fieldRef) != nil }

// open opens an object field into sub; false when absent.
func (r *reader) open(f objField, sub *reader) bool {
	v := r.raw(f.fieldRef)
	if v == nil {
		return false
	}
	return sub.object(r, r.name(f.fieldRef), -1, f.s.fields[f.i].sub, v)
}

// list iterates an array of objects of the reader r: next(r, sub) opens
// each element into sub. An element that is not an object is an error and
// ends the iteration. (r is passed again, not kept, so that readers stay
// on the stack.)
type list struct {
	f  objsField
	it elems
}

func (r *reader) list(f objsField) list {
	return list{f: f, it: elems{b: r.raw(f.fieldRef)}}
}

// present reports whether the array field was there at all.
func (l *list) present() bool { return l.it.b != nil }

func (l *list) next(r *reader, sub *reader) bool {
	if !l.it.next() {
		return false
	}
	name := r.name(l.f.fieldRef)
	if l.it.val[0] != '{' {
		r.fail(name, l.it.n-1, "object", jsonType(l.it.val))
		return false
	}
	return sub.object(r, name, l.it.n-1, l.f.s.fields[l.f.i].sub, l.it.val)
}

// pageItems iterates an array whose elements are items of their own (a
// page inside a wrapper object): nextItem opens each as item of the same
// endpoint, so that its errors name it, not the wrapper.
type pageItems struct {
	ep, slot string
	s        *schema
	it       elems
}

func (r *reader) items(f itemsField) pageItems {
	return pageItems{ep: r.ctx.ep, slot: r.name(f.fieldRef), s: f.s.fields[f.i].sub, it: elems{b: r.raw(f.fieldRef)}}
}

func (p *pageItems) nextItem(sub *reader) bool {
	if !p.it.next() {
		return false
	}
	sub.itemIn(p.ep, p.slot, p.s, p.it.val, p.it.n-1)
	return true
}

// elems iterates the elements of a JSON array already known to be valid.
type elems struct {
	b   []byte
	i   int
	n   int // elements returned so far
	val []byte
}

func (e *elems) next() bool {
	if e.b == nil {
		return false
	}
	if e.n == 0 && e.i == 0 {
		e.i = skipSpace(e.b, 1)
	}
	if e.i >= len(e.b) || e.b[e.i] == ']' {
		return false
	}
	end := valueEnd(e.b, e.i, 0)
	e.val = e.b[e.i:end]
	e.n++
	e.i = skipSpace(e.b, end)
	if e.i < len(e.b) && e.b[e.i] == ',' {
		e.i = skipSpace(e.b, e.i+1)
	}
	return true
}

func countElems(v []byte) int {
	n := 0
	for it := (elems{b: v}); it.next(); {
		n++
	}
	return n
}

// decodeString decodes a JSON string value; ok is false for a string
// encoding/json would not accept.
func decodeString(v []byte) (string, bool) {
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// parseInt reads a JSON number with an integral value within ±2^53.
func parseInt(v []byte) (int64, bool) {
	neg := v[0] == '-'
	d := v
	if neg {
		d = v[1:]
	}
	if len(d) > 0 && len(d) <= 16 {
		var n int64
		plain := true
		for _, c := range d {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if plain {
			if neg {
				n = -n
			}
			return n, true
		}
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// quoteShort shows a raw value in an error, cut to a readable length.
func quoteShort(v []byte) string {
	const max = 64
	if len(v) > max {
		return string(v[:max]) + "…"
	}
	return string(v)
}

// The functions below walk JSON text. valueEnd validates what it skips
// (strings, numbers, literals, nesting), so that a reader never trusts
// its input to have come through encoding/json.

const maxDepth = 1000

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the index just past the JSON value at b[i], or -1 when
// there is none.
func valueEnd(b []byte, i, depth int) int {
	if i >= len(b) || depth > maxDepth {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		return stringEnd(b, i)
	case '{':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i = stringEnd(b, i); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = valueEnd(b, skipSpace(b, i+1), depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
			case '}':
				return i + 1
			default:
				return -1
			}
		}
	case '[':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = valueEnd(b, i, depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
			case ']':
				return i + 1
			default:
				return -1
			}
		}
	case 't':
		return literalEnd(b, i, "true")
	case 'f':
		return literalEnd(b, i, "false")
	case 'n':
		return literalEnd(b, i, "null")
	}
	return numberEnd(b, i)
}

func literalEnd(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1
		case c == '\\':
			j++
			if j >= len(b) {
				return -1
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return -1
				}
				for _, h := range b[j+1 : j+5] {
					if !isHex(h) {
						return -1
					}
				}
				j += 4
			default:
				return -1
			}
		case c < 0x20:
			return -1
		}
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// numberEnd follows JSON's number grammar.
func numberEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return -1
		}
	}
	return i
}

// shapeError turns the error of a body that is not the endpoint's shape
// (not an object, a wrapper of the wrong type) into one that no caller
// takes for items left out: nothing of the body was read. It still
// unwraps to the FieldError.
func shapeError(err error) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	return &bodyError{fe}
}

type bodyError struct{ fe *FieldError }

func (e *bodyError) Error() string { return e.fe.Error() }
func (e *bodyError) Unwrap() error { return e.fe }

// isFieldErrors reports whether err holds FieldErrors: items left out,
// the rest read.
func isFieldErrors(err error) bool {
	var fe *FieldErrors
	return errors.As(err, &fe)
}

// strsIn is strs answering entries of known without a copy.
func (r *reader) strsIn(f strsField, known []string) []string {
	v := r.raw(f.fieldRef)
	if v == nil {
		return nil
	}
	out := make([]string, 0, countElems(v))
	for it := (elems{b: v}); it.next(); {
		e := it.val
		if e[0] != '"' {
			r.fail(r.name(f.fieldRef), it.n-1, "string", jsonType(e))
			return nil
		}
		s, found := "", false
		for _, k := range known {
			if len(e) == len(k)+2 && string(e[1:len(e)-1]) == k {
				s, found = k, true
				break
			}
		}
		if !found {
			var ok bool
			if s, ok = decodeString(e); !ok {
				r.fail(r.name(f.fieldRef), it.n-1, "string", "an invalid string")
				return nil
			}
		}
		out = append(out, s)
	}
	return out
}
