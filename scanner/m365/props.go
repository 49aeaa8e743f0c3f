package m365

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// props is a decoded JSON object whose properties may be missing, null or
// of an unexpected type; every accessor answers nil for "unknown" rather
// than a zero value that would read as "disabled".
type props map[string]json.RawMessage

func decodeProps(endpoint string, raw []byte) (props, error) {
	var p props
	if err := decodeJSON(endpoint, raw, &p); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("%s: expected a JSON object, got null", endpoint)
	}
	return p, nil
}

func (p props) raw(k string) json.RawMessage {
	v := bytes.TrimSpace(p[k])
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

func (p props) str(k string) *string {
	v := p.raw(k)
	if v == nil {
		return nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil
	}
	return &s
}

func (p props) s(k string) string {
	if v := p.str(k); v != nil {
		return *v
	}
	return ""
}

func (p props) boolean(k string) *bool {
	v := p.raw(k)
	if v == nil {
		return nil
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return nil
	}
	return &b
}

func (p props) integer(k string) *int64 {
	v := p.raw(k)
	if v == nil {
		return nil
	}
	var f float64
	if json.Unmarshal(v, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return nil
	}
	n := int64(f)
	return &n
}

func (p props) intp(k string) *int {
	n := p.integer(k)
	if n == nil || *n > math.MaxInt32 || *n < math.MinInt32 {
		return nil
	}
	i := int(*n)
	return &i
}

// strings returns nil when the property is missing and [] when empty.
func (p props) strings(k string) []string {
	v := p.raw(k)
	if v == nil {
		return nil
	}
	var out []string
	if json.Unmarshal(v, &out) != nil {
		return nil
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func (p props) object(k string) props {
	v := p.raw(k)
	if v == nil || v[0] != '{' {
		return nil
	}
	var o props
	if json.Unmarshal(v, &o) != nil {
		return nil
	}
	return o
}

// time parses an ISO 8601 timestamp; Microsoft's "0001-01-01T00:00:00Z"
// (never) gives nil.
func (p props) time(k string) *time.Time {
	s := p.str(k)
	if s == nil || *s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil || t.Year() <= 1 {
		return nil
	}
	t = t.UTC()
	return &t
}

// odataType returns the short @odata.type ("#microsoft.graph.user" → "user").
func (p props) odataType() string {
	t := p.s("@odata.type")
	if i := strings.LastIndex(t, "."); i >= 0 {
		return t[i+1:]
	}
	return strings.TrimPrefix(t, "#")
}
