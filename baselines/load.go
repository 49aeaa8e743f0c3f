package baselines

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
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

func describeValue(v any) string {
	switch x := v.(type) {
	case string:
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
	b, err := os.ReadFile(path)
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
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(src.data), yaml.Parser()); err != nil {
		return nil, nil, &Error{File: src.name, Err: fmt.Errorf("malformed YAML (expected a mapping of baseline keys): %w", err)}
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
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

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
