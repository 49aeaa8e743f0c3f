package config

import (
	"fmt"
	"log/slog"
	"strings"
)

// SecretRef points at a secret: an environment variable or a file. The
// secret itself never appears in the configuration.
type SecretRef struct {
	Env  string `koanf:"env"`
	File string `koanf:"file"`
	// value is the resolved secret, filled in by Load.
	value Secret
}

// IsSet reports whether the reference names a source.
func (r SecretRef) IsSet() bool { return r.Env != "" || r.File != "" }

// Value returns the resolved secret (empty if the reference is unset).
func (r SecretRef) Value() Secret { return r.value }

// String describes where the secret comes from, never its value.
func (r SecretRef) String() string {
	switch {
	case r.Env != "":
		return "env " + r.Env
	case r.File != "":
		return "file " + r.File
	}
	return "unset"
}

// GoString keeps %#v from printing the resolved value.
func (r SecretRef) GoString() string { return "config.SecretRef{" + r.String() + "}" }

// resolve reads the secret; getenv and readFile are injectable for tests.
func (r *SecretRef) resolve(getenv func(string) (string, bool), readFile func(string) ([]byte, error)) error {
	switch {
	case r.Env != "" && r.File != "":
		return fmt.Errorf("set either env or file, not both")
	case r.Env != "":
		v, ok := getenv(r.Env)
		if !ok || v == "" {
			return fmt.Errorf("environment variable %s is not set", r.Env)
		}
		r.value = Secret(v)
	case r.File != "":
		b, err := readFile(r.File)
		if err != nil {
			// The path is config, not secret; the os error names it.
			return fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return fmt.Errorf("secret file %s is empty", r.File)
		}
		r.value = Secret(v)
	}
	return nil
}

// Secret is a resolved secret value. Every way of printing it is redacted;
// call Reveal where the raw value is really needed.
type Secret string

const redacted = "[redacted]"

// Reveal returns the raw secret.
func (s Secret) Reveal() string { return string(s) }

// String redacts.
func (s Secret) String() string { return redacted }

// GoString redacts %#v too.
func (s Secret) GoString() string { return redacted }

// LogValue redacts in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON redacts in JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts in text encodings (YAML, flags).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
