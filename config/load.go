package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/sharedrift/sharedrift/config/notifyconf"
	"github.com/sharedrift/sharedrift/internal/readcap"
)

// EnvPrefix starts every environment variable that sets a configuration key.
// Nesting uses a double underscore: SHAREDRIFT_HTTP__LISTEN sets http.listen.
// Variables with the prefix but no double underscore are left alone, so
// secrets can live in variables like SHAREDRIFT_API_TOKEN.
const EnvPrefix = "SHAREDRIFT_"

// Options says where configuration comes from.
type Options struct {
	// File is the YAML file; empty means none.
	File string
	// Env is the process environment in os.Environ form. It supplies both
	// SHAREDRIFT_... overrides and the variables secrets refer to.
	Env []string
	// Overrides are flat keys (e.g. "http.listen") set from flags; they win
	// over the file and the environment.
	Overrides map[string]any
	// RequireTenants makes an empty tenant list an error (the daemon needs one).
	RequireTenants bool
	// ReadFile reads file:PATH secrets; when nil, a read capped at
	// readcap.Secret bytes (readcap.Certificate for a certificate).
	ReadFile func(string) ([]byte, error)
}

// Problem is one configuration error.
type Problem struct {
	// Source is the file path, "environment VAR" or "flag --name".
	Source string
	// Key is the dotted key path, e.g. tenants.fabrikam.schedule.
	Key string
	// Tenant is the tenant the key belongs to, if any.
	Tenant string
	Msg    string
}

// Error formats the problem as "source: key: tenant \"t\": message".
func (p Problem) Error() string {
	var b strings.Builder
	if p.Source != "" {
		b.WriteString(p.Source)
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	if p.Tenant != "" {
		fmt.Fprintf(&b, "tenant %q: ", p.Tenant)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem found while loading.
type Error struct {
	Problems []Problem
}

// Error lists the problems, one a line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	if len(lines) == 1 {
		return "invalid configuration: " + lines[0]
	}
	return fmt.Sprintf("invalid configuration (%d problems):\n  %s", len(lines), strings.Join(lines, "\n  "))
}

type problems struct{ list []Problem }

func (ps *problems) add(source, key, msg string) {
	ps.list = append(ps.list, Problem{Source: source, Key: key, Tenant: tenantOf(key), Msg: msg})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &Error{Problems: ps.list}
}

// tenantOf extracts the tenant name from a key under tenants.
func tenantOf(key string) string {
	rest, ok := strings.CutPrefix(key, "tenants.")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, ".")
	name, _, _ = strings.Cut(name, "[")
	return name
}

// Load reads, merges, checks and validates the configuration, resolving
// every secret reference. On error nothing is returned but the problems.
func Load(opts Options) (*Config, error) {
	var ps problems
	k := koanf.New(".")
	cfgType := reflect.TypeOf(Config{})

	fileSrc := "config"
	if opts.File != "" {
		fileSrc = opts.File
		raw, err := readcap.ReadFile(opts.File, readcap.Config)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		m, err := yaml.Parser().Unmarshal(raw)
		if err != nil {
			return nil, &Error{Problems: []Problem{{Source: opts.File, Msg: "invalid YAML: " + err.Error()}}}
		}
		checkValue(&ps, opts.File, "", m, cfgType)
		if ps.err() == nil {
			if err := k.Load(confmap.Provider(m, ""), nil); err != nil {
				return nil, fmt.Errorf("merge %s: %w", opts.File, err)
			}
		}
	}

	envMap := envOverrides(&ps, opts.Env, cfgType)
	flagMap := map[string]any{}
	for _, key := range sortedKeys(opts.Overrides) {
		src := "flag for " + key
		t, err := typeAt(cfgType, strings.Split(key, "."))
		if err != nil {
			ps.add(src, key, err.Error())
			continue
		}
		checkValue(&ps, src, key, opts.Overrides[key], t)
		setPath(flagMap, strings.Split(key, "."), opts.Overrides[key])
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	for _, m := range []map[string]any{envMap, flagMap} {
		if err := k.Load(confmap.Provider(m, ""), nil); err != nil {
			return nil, fmt.Errorf("merge overrides: %w", err)
		}
	}

	cfg := defaults()
	if err := decodeStrict(k, cfg); err != nil {
		// checkValue should have caught everything; this is the backstop.
		return nil, &Error{Problems: []Problem{{Source: fileSrc, Msg: err.Error()}}}
	}
	baseDir := ""
	if opts.File != "" {
		baseDir = filepath.Dir(opts.File)
	}
	readFile := readcap.ReadFile
	if opts.ReadFile != nil {
		readFile = func(p string, _ int64) ([]byte, error) { return opts.ReadFile(p) }
	}
	own := applyDefaults(cfg, baseDir)
	validate(&ps, fileSrc, cfg, own, lookupFunc(opts.Env), readFile, baseDir, opts.RequireTenants)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func defaults() *Config {
	return &Config{
		Log:   Log{Level: "info", Format: "json"},
		Store: Store{StateDir: DefaultStateDir},
		HTTP:  HTTP{Listen: DefaultListen, Console: Console{SessionTTL: Duration(DefaultSessionTTL), TrustedHeader: TrustedHeader{Header: DefaultTrustedHeader}}},
		Scheduler: Scheduler{
			Jitter:        Duration(DefaultJitter),
			StartupScan:   true,
			ScanTimeout:   Duration(DefaultScanTimeout),
			GracePeriod:   Duration(DefaultGrace),
			LeaseTTL:      Duration(DefaultLeaseTTL),
			MaxConcurrent: 4,
		},
		Changes:  ChangeNotifications{Debounce: Duration(DefaultChangeDebounce), Lifetime: Duration(DefaultChangeLifetime), Interval: Duration(DefaultChangeInterval)},
		Defaults: Defaults{Schedule: DefaultSchedule, FullScanEvery: Duration(DefaultFullScanEvery), Remediation: Remediation{Mode: ModeDryRun}},
	}
}

// decodeStrict decodes with unknown keys and type mismatches as errors;
// koanf's own default decoder converts types silently.
func decodeStrict(k *koanf.Koanf, cfg *Config) error {
	return k.UnmarshalWithConf("", cfg, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:       decodeHook,
			ErrorUnused:      true,
			WeaklyTypedInput: false,
		},
	})
}

var (
	durationType    = reflect.TypeOf(Duration(0))
	stdDurationType = reflect.TypeOf(time.Duration(0))
	secretRefType   = reflect.TypeOf(SecretRef{})
	notifySecret    = reflect.TypeOf(notifyconf.Secret(""))
)

// decodeHook converts the string forms checkValue has already vetted:
// durations, and secret references written as "env:VAR" or "file:PATH".
func decodeHook(_, to reflect.Type, data any) (any, error) {
	switch to {
	case durationType, stdDurationType:
		s, ok := data.(string)
		if !ok {
			return nil, fmt.Errorf("want a duration string like 30s or 7d, got %v", data)
		}
		d, err := ParseDuration(s)
		if to == stdDurationType {
			return time.Duration(d), err
		}
		return d, err
	case secretRefType:
		if s, ok := data.(string); ok {
			return parseSecretRef(s)
		}
	}
	return data, nil
}

// parseSecretRef reads the short form of a secret reference.
func parseSecretRef(s string) (SecretRef, error) {
	if v, ok := strings.CutPrefix(s, "env:"); ok && v != "" {
		return SecretRef{Env: v}, nil
	}
	if v, ok := strings.CutPrefix(s, "file:"); ok && v != "" {
		return SecretRef{File: v}, nil
	}
	return SecretRef{}, errors.New("secrets are references, not values: write env:VAR or file:PATH")
}

// checkValue walks a raw value against the type it will decode into and
// records unknown keys and wrong types with their full path.
func checkValue(ps *problems, src, path string, v any, t reflect.Type) {
	if v == nil {
		return // an empty YAML node leaves the default in place
	}
	switch {
	case t == durationType || t == stdDurationType:
		s, ok := v.(string)
		if !ok {
			ps.add(src, path, fmt.Sprintf("want a duration string like 30s or 7d, got %s", describe(v)))
			return
		}
		if _, err := ParseDuration(s); err != nil {
			ps.add(src, path, err.Error())
		}
		return
	case t == secretRefType:
		if str, ok := v.(string); ok {
			if _, err := parseSecretRef(str); err != nil {
				ps.add(src, path, err.Error())
			}
			return
		}
	case t == notifySecret:
		str, ok := v.(string)
		if !ok || !(strings.HasPrefix(str, "env:") || strings.HasPrefix(str, "file:")) {
			ps.add(src, path, "secrets are references, not values: write env:VAR or file:PATH")
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkValue(ps, src, path, v, t.Elem())
	case reflect.Struct:
		m, ok := asMap(v)
		if !ok {
			ps.add(src, path, fmt.Sprintf("want a mapping, got %s", describe(v)))
			return
		}
		for _, key := range sortedKeys(m) {
			f, ok := fieldByTag(t, key)
			sub := join(path, key)
			if !ok {
				ps.add(src, sub, "unknown key"+suggest(t, key))
				continue
			}
			checkValue(ps, src, sub, m[key], f.Type)
		}
	case reflect.Map:
		m, ok := asMap(v)
		if !ok {
			ps.add(src, path, fmt.Sprintf("want a mapping, got %s", describe(v)))
			return
		}
		for _, key := range sortedKeys(m) {
			sub := join(path, key)
			if path == "tenants" && !tenantNameRE.MatchString(key) {
				ps.add(src, sub, fmt.Sprintf("invalid name %q: use lowercase letters, digits, - and _", key))
				continue
			}
			checkValue(ps, src, sub, m[key], t.Elem())
		}
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			ps.add(src, path, fmt.Sprintf("want a list, got %s", describe(v)))
			return
		}
		for i, item := range items {
			checkValue(ps, src, fmt.Sprintf("%s[%d]", path, i), item, t.Elem())
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			ps.add(src, path, fmt.Sprintf("want a string, got %s", describe(v)))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			ps.add(src, path, fmt.Sprintf("want true or false, got %s", describe(v)))
		}
	case reflect.Int, reflect.Int64:
		switch v.(type) {
		case int, int64, uint64:
		default:
			ps.add(src, path, fmt.Sprintf("want an integer, got %s", describe(v)))
		}
	default:
		ps.add(src, path, fmt.Sprintf("unsupported type %s", t))
	}
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			s, ok := k.(string)
			if !ok {
				return nil, false
			}
			out[s] = x
		}
		return out, true
	}
	return nil, false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case int, int64, uint64, float64:
		return fmt.Sprintf("number %v", x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && f.Tag.Get("koanf") == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// suggest names the valid keys so a typo is a one-look fix.
func suggest(t reflect.Type, key string) string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("koanf"); tag != "" && tag != "-" && t.Field(i).IsExported() {
			names = append(names, tag)
		}
	}
	return fmt.Sprintf(" %q (valid: %s)", key, strings.Join(names, ", "))
}

// typeAt resolves the Go type a dotted key path decodes into.
func typeAt(t reflect.Type, path []string) (reflect.Type, error) {
	for i, p := range path {
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, p)
			if !ok {
				return nil, fmt.Errorf("unknown key%s", suggest(t, p))
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		default:
			return nil, fmt.Errorf("unknown key: %s is not a section", strings.Join(path[:i], "."))
		}
	}
	return t, nil
}

// envOverrides turns SHAREDRIFT_A__B=v variables into a nested map, with
// each value converted to the type of its key.
func envOverrides(ps *problems, env []string, cfgType reflect.Type) map[string]any {
	out := map[string]any{}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		rest := strings.TrimPrefix(name, EnvPrefix)
		if !strings.Contains(rest, "__") {
			continue
		}
		path := strings.Split(strings.ToLower(rest), "__")
		key := strings.Join(path, ".")
		src := "environment " + name
		t, err := typeAt(cfgType, path)
		if err != nil {
			ps.add(src, key, err.Error())
			continue
		}
		v, err := fromEnv(val, t)
		if err != nil {
			ps.add(src, key, err.Error())
			continue
		}
		checkValue(ps, src, key, v, t)
		setPath(out, path, v)
	}
	return out
}

func fromEnv(s string, t reflect.Type) (any, error) {
	if t == durationType || t == stdDurationType || t == secretRefType {
		return s, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return fromEnv(s, t.Elem())
	case reflect.String:
		return s, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", s)
		}
		return b, nil
	case reflect.Int, reflect.Int64:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", s)
		}
		return n, nil
	case reflect.Slice:
		if t.Elem().Kind() != reflect.String {
			return nil, errors.New("this list cannot be set from the environment; use the file")
		}
		var items []any
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		return items, nil
	}
	return nil, errors.New("a section cannot be set from one variable; set its keys with __ (e.g. ..._DSN__ENV)")
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func lookupFunc(env []string) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FlagOverrides maps the flags the user actually set to configuration keys.
// keys maps flag name to key path; flags not in it are ignored.
func FlagOverrides(fs *pflag.FlagSet, keys map[string]string) map[string]any {
	out := map[string]any{}
	fs.Visit(func(f *pflag.Flag) {
		key, ok := keys[f.Name]
		if !ok {
			return
		}
		switch f.Value.Type() {
		case "bool":
			b, _ := fs.GetBool(f.Name)
			out[key] = b
		case "int":
			n, _ := fs.GetInt(f.Name)
			out[key] = n
		default:
			out[key] = f.Value.String()
		}
	})
	return out
}
