package baselines

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/v2"
	yamlv3 "gopkg.in/yaml.v3"

	"github.com/sharedrift/sharedrift/internal/readcap"
)

// Bounds on one baseline, far above anything written by hand, so that a
// wrong file or a hostile one is refused quickly with a located error.
const (
	// maxNodes bounds the YAML nodes of one document, an alias counted
	// again at every use: a shipped baseline has about 200, and a few
	// lines of nested aliases would otherwise expand to millions.
	maxNodes = 100_000
	// maxExtends bounds the length of an extends: chain.
	maxExtends = 32
	// maxReported bounds the problems listed for one document; one more
	// line counts the rest.
	maxReported = 50
)

//go:embed *.yaml
var packs embed.FS

// ErrCycle is returned (wrapped) when extends: chains loop.
var ErrCycle = errors.New("extends cycle")

// ErrNotFound is returned (wrapped) when a reference is neither a shipped
// baseline nor a readable file.
var ErrNotFound = errors.New("baseline not found")

// Error is one problem in a baseline document: where it is, what was found
// and what was expected.
type Error struct {
	File     string
	Key      string
	Value    any
	Expected string
	// Err is the underlying cause, if any (for example a YAML syntax error).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Value != nil {
		fmt.Fprintf(&b, ": got %s", describeValue(e.Value))
	}
	if e.Expected != "" {
		if e.Value != nil || e.Err != nil {
			b.WriteString(",")
		} else {
			b.WriteString(":")
		}
		b.WriteString(" expected ")
		b.WriteString(e.Expected)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// maxShown bounds how much of a bad value an error quotes.
const maxShown = 120

func describeValue(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > maxShown {
			return fmt.Sprintf("%q... (%d bytes)", strings.ToValidUTF8(x[:maxShown], ""), len(x))
		}
		return fmt.Sprintf("%q", x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// Names lists the shipped baselines, sorted.
func Names() []string {
	ents, err := fs.ReadDir(packs, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Shipped returns the YAML source of a shipped baseline.
func Shipped(name string) ([]byte, bool) {
	if !isShipped(name) {
		return nil, false
	}
	b, err := packs.ReadFile(name + ".yaml")
	return b, err == nil
}

func isShipped(ref string) bool {
	if ref == "" || strings.ContainsAny(ref, `/\.`) {
		return false
	}
	for _, n := range Names() {
		if n == ref {
			return true
		}
	}
	return false
}

// Load loads a shipped baseline by name or a baseline file by path and
// resolves its extends: chain.
func Load(ref string) (*Baseline, error) {
	src, err := open(ref, "", false)
	if err != nil {
		return nil, err
	}
	return build(src)
}

// LoadFile loads the baseline file at path, never a shipped name.
func LoadFile(path string) (*Baseline, error) {
	src, err := openFile(path, "")
	if err != nil {
		return nil, err
	}
	return build(src)
}

// Parse loads a baseline document held in memory; name labels errors and
// relative extends: paths resolve against its directory.
func Parse(data []byte, name string) (*Baseline, error) {
	abs, _ := filepath.Abs(name)
	return build(source{id: "file:" + abs, name: name, dir: filepath.Dir(name), data: data})
}

type source struct {
	id, name, dir string
	shipped       bool
	data          []byte
}

func open(ref, fromDir string, fromShipped bool) (source, error) {
	if isShipped(ref) {
		b, _ := packs.ReadFile(ref + ".yaml")
		return source{id: "shipped:" + ref, name: ref, shipped: true, data: b}, nil
	}
	if fromShipped {
		return source{}, fmt.Errorf("%w: %q is not a shipped baseline (shipped baselines: %s)", ErrNotFound, ref, strings.Join(Names(), ", "))
	}
	return openFile(ref, fromDir)
}

func openFile(path, fromDir string) (source, error) {
	if path == "" {
		return source{}, fmt.Errorf("%w: empty reference", ErrNotFound)
	}
	if fromDir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(fromDir, path)
	}
	b, err := readcap.ReadFile(path, readcap.Baseline)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return source{}, fmt.Errorf("%w: %q is neither a shipped baseline (%s) nor a file", ErrNotFound, path, strings.Join(Names(), ", "))
		}
		return source{}, fmt.Errorf("read baseline: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return source{id: "file:" + abs, name: path, dir: filepath.Dir(path), data: b}, nil
}

func build(src source) (*Baseline, error) {
	k, chain, err := resolve(src, nil)
	if err != nil {
		return nil, err
	}
	var b Baseline
	// The merged document is checked again: each part was valid alone, but
	// the error should still be reported rather than assumed away.
	if err := decode(k, src.name, &b); err != nil {
		return nil, err
	}
	if err := validate(&b, src.name); err != nil {
		return nil, err
	}
	b.Extends = ""
	b.Source = src.name
	b.Chain = chain
	if b.Name == "" {
		b.Name = strings.TrimSuffix(filepath.Base(src.name), filepath.Ext(src.name))
	}
	k.Delete("extends")
	b.raw = k.Raw()
	b.raw["name"] = b.Name
	return &b, nil
}

// resolve parses one document, checks it on its own (so errors name the
// file that holds the bad value) and merges it over its parent.
func resolve(src source, stack []string) (*koanf.Koanf, []string, error) {
	for i, id := range stack {
		if id == src.id {
			loop := make([]string, 0, len(stack)-i+1)
			for _, s := range stack[i:] {
				loop = append(loop, strings.TrimPrefix(strings.TrimPrefix(s, "file:"), "shipped:"))
			}
			loop = append(loop, src.name)
			return nil, nil, fmt.Errorf("%s: %w: %s", src.name, ErrCycle, strings.Join(loop, " -> "))
		}
	}
	if len(stack) >= maxExtends {
		first := strings.TrimPrefix(strings.TrimPrefix(stack[0], "file:"), "shipped:")
		return nil, nil, &Error{File: src.name, Err: fmt.Errorf("more than %d baselines in the extends: chain from %s", maxExtends, first)}
	}
	doc, err := parseYAML(src)
	if err != nil {
		return nil, nil, err
	}
	k := koanf.New(".")
	if err := k.Load(mapProvider(doc), nil); err != nil {
		return nil, nil, &Error{File: src.name, Err: err}
	}
	var one Baseline
	if err := decode(k, src.name, &one); err != nil {
		return nil, nil, err
	}
	if err := validate(&one, src.name); err != nil {
		return nil, nil, err
	}
	if !k.Exists("name") {
		// A derived baseline without a name must not inherit its parent's.
		_ = k.Set("name", strings.TrimSuffix(filepath.Base(src.name), filepath.Ext(src.name)))
	}
	chain := []string{src.name}
	if one.Extends == "" {
		return k, chain, nil
	}
	parent, err := open(one.Extends, src.dir, src.shipped)
	if err != nil {
		return nil, nil, &Error{File: src.name, Key: "extends", Value: one.Extends, Expected: "a shipped baseline name or a readable file", Err: err}
	}
	pk, pchain, err := resolve(parent, append(stack, src.id))
	if err != nil {
		return nil, nil, err
	}
	merged := koanf.New(".")
	if err := merged.Merge(pk); err != nil {
		return nil, nil, fmt.Errorf("%s: merge %s: %w", src.name, parent.name, err)
	}
	if err := merged.Merge(k); err != nil {
		return nil, nil, fmt.Errorf("%s: merge over %s: %w", src.name, parent.name, err)
	}
	return merged, append(chain, pchain...), nil
}

// decode unmarshals strictly: unknown keys and values of the wrong type are
// errors. koanf's default decoder is weakly typed ("30" would become 30), so
// it gets its own DecoderConfig.
func decode(k *koanf.Koanf, file string, out *Baseline) error {
	dc := &mapstructure.DecoderConfig{
		ErrorUnused:      true,
		WeaklyTypedInput: false,
		TagName:          "koanf",
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(wholeNumberHook, timestampHook),
	}
	err := k.UnmarshalWithConf("", out, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: dc})
	if err == nil {
		return nil
	}
	errs := decodeErrors(err, file)
	if len(errs) == 0 {
		return &Error{File: file, Err: err}
	}
	return joinProblems(errs, file)
}

// joinProblems sorts problems by their text and joins at most maxReported
// of them, so that a document with a hundred thousand bad entries costs
// one sort of precomputed strings and gives a readable error.
func joinProblems(errs []error, file string) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	type problem struct {
		text string
		err  error
	}
	ps := make([]problem, len(errs))
	for i, e := range errs {
		ps[i] = problem{e.Error(), e}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].text < ps[j].text })
	n := min(len(ps), maxReported)
	out := make([]error, n, n+1)
	for i := range out {
		out[i] = ps[i].err
	}
	if len(ps) > n {
		out = append(out, fmt.Errorf("%s: %d more problems not listed", file, len(ps)-n))
	}
	return errors.Join(out...)
}

// parseYAML parses one document into the map koanf merges, refusing one
// whose nodes, aliases expanded, exceed maxNodes before anything expands
// them.
func parseYAML(src source) (map[string]any, error) {
	malformed := func(err error) error {
		return &Error{File: src.name, Err: fmt.Errorf("malformed YAML (expected a mapping of baseline keys): %w", err)}
	}
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(src.data, &root); err != nil {
		return nil, malformed(err)
	}
	nc := nodeCounter{sizes: map[*yamlv3.Node]int{}}
	if n := nc.count(&root); nc.loop != nil {
		return nil, malformed(fmt.Errorf("line %d: alias *%s refers to its own anchor", nc.loop.Line, nc.loop.Value))
	} else if n > maxNodes {
		return nil, &Error{File: src.name, Err: fmt.Errorf("the document has more than %d YAML nodes, aliases counted at each use", maxNodes),
			Expected: "a smaller baseline (split it with extends:)"}
	}
	var doc map[string]any
	if root.Kind != 0 {
		if err := root.Decode(&doc); err != nil {
			return nil, malformed(err)
		}
	}
	return doc, nil
}

// nodeCounter counts the nodes of a document with every alias expanded.
type nodeCounter struct {
	// sizes memoises each node's expanded size, so nested aliases cost
	// their own size once; -1 marks a node being counted.
	sizes map[*yamlv3.Node]int
	// loop is an alias found inside its own anchor.
	loop *yamlv3.Node
}

// count returns the expanded size of n, at most maxNodes+1.
func (c *nodeCounter) count(n *yamlv3.Node) int {
	if s, ok := c.sizes[n]; ok {
		return s
	}
	c.sizes[n] = -1
	total := 1
	if n.Kind == yamlv3.AliasNode && n.Alias != nil {
		if c.sizes[n.Alias] < 0 {
			c.loop = n
			return maxNodes + 1
		}
		total = c.count(n.Alias)
	}
	for _, child := range n.Content {
		if total > maxNodes || c.loop != nil {
			break
		}
		total += c.count(child)
	}
	total = min(total, maxNodes+1)
	c.sizes[n] = total
	return total
}

// mapProvider hands koanf a map this package parsed and owns, sparing the
// deep copy confmap makes.
type mapProvider map[string]any

func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("mapProvider does not provide bytes")
}
func (m mapProvider) Read() (map[string]any, error) { return m, nil }

// wholeNumberHook rejects fractional numbers for integer fields, which
// mapstructure would otherwise truncate even without weak typing.
func wholeNumberHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Int || (from.Kind() != reflect.Float64 && from.Kind() != reflect.Float32) {
		return data, nil
	}
	f := reflect.ValueOf(data).Float()
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1e9 {
		return nil, fmt.Errorf("got %v, expected a whole number", f)
	}
	return int(f), nil
}

// timestampHook turns YAML timestamps (an unquoted 2026-12-31 is one) back
// into text for string fields such as exceptions[].expires.
func timestampHook(from, to reflect.Type, data any) (any, error) {
	t, ok := data.(time.Time)
	if !ok || to.Kind() != reflect.String {
		return data, nil
	}
	if t.Equal(t.Truncate(24*time.Hour)) && t.Location() == time.UTC {
		return t.Format(time.DateOnly), nil
	}
	return t.Format(time.RFC3339), nil
}

var rootTypeName = reflect.TypeOf(Baseline{}).String()

// decodeErrors turns mapstructure's joined errors into Errors with key paths.
func decodeErrors(err error, file string) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			out = append(out, &Error{File: file, Err: e})
			return
		}
		name := de.Name()
		if name == rootTypeName {
			name = ""
		}
		inner := de.Unwrap()
		if keys, ok := strings.CutPrefix(inner.Error(), "has invalid keys: "); ok {
			for _, key := range strings.Split(keys, ", ") {
				out = append(out, &Error{File: file, Key: join(name, key), Expected: "one of " + strings.Join(knownKeys(name), ", "), Err: errors.New("unknown key")})
			}
			return
		}
		var ut *mapstructure.UnconvertibleTypeError
		if errors.As(inner, &ut) {
			out = append(out, &Error{File: file, Key: name, Value: valueOrType(ut.Value), Expected: describeType(ut.Expected.Type())})
			return
		}
		out = append(out, &Error{File: file, Key: name, Err: inner})
	}
	walk(err)
	return out
}

func valueOrType(v any) any {
	if v == nil {
		return "null"
	}
	return v
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		if vals := enumValues(t); vals != "" {
			return "one of " + vals
		}
		return "a string"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(describeType(t.Elem()), "a ")
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return t.String()
}

// knownKeys lists the keys valid at a decoded path like "sharepoint" or
// "exceptions[0]".
func knownKeys(path string) []string {
	t := reflect.TypeOf(Baseline{})
	if path != "" {
		for _, part := range strings.Split(path, ".") {
			if i := strings.IndexByte(part, '['); i >= 0 {
				part = part[:i]
			}
			f, ok := fieldByTag(t, part)
			if !ok {
				return nil
			}
			t = f.Type
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
				t = t.Elem()
			}
		}
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("koanf"); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("koanf") == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// YAML renders the resolved baseline (after extends:) as YAML.
func (b *Baseline) YAML() ([]byte, error) {
	out, err := yaml.Parser().Marshal(b.raw)
	if err != nil {
		return nil, fmt.Errorf("render baseline %s: %w", b.Name, err)
	}
	return out, nil
}
