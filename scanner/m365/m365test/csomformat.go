package m365test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// csomEncode writes a ProcessQuery answer as the service formats it (as
// in the recorded answers): a line break after every opening bracket and
// before every closing one, slashes escaped as \u002f, GUIDs and dates as
// "\/Guid(…)\/" and "\/Date(…)\/", properties in case-insensitive order
// after _ObjectType_ and _ObjectIdentity_.
func csomEncode(v any) []byte {
	// A pooled buffer keeps its size between answers: a page of 500 sites
	// is then written without growing it again and again.
	b := csomBuffers.Get().(*bytes.Buffer)
	b.Reset()
	writeCSOM(b, v)
	out := bytes.Clone(b.Bytes())
	csomBuffers.Put(b)
	return out
}

var csomBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeCSOM(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			b.WriteString(strconv.FormatInt(int64(x), 10))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case string:
		writeCSOMString(b, x)
	case []any:
		b.WriteString("[\n")
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCSOM(b, e)
		}
		b.WriteString("\n]")
	case map[string]any:
		b.WriteString("{\n")
		for i, k := range csomKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCSOMString(b, k)
			b.WriteByte(':')
			writeCSOM(b, x[k])
		}
		b.WriteString("\n}")
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			raw = []byte(fmt.Sprintf("%q", fmt.Sprint(x)))
		}
		b.Write(raw)
	}
}

// csomKeys orders an object's keys as the service does.
func csomKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := csomRank(a), csomRank(b); ra != rb {
			return ra - rb
		}
		if c := compareFold(a, b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}

// csomRank puts the header's and an object's own keys first.
func csomRank(k string) int {
	switch k {
	case "SchemaVersion", "_ObjectType_":
		return 0
	case "LibraryVersion", "_ObjectIdentity_":
		return 1
	case "ErrorInfo":
		return 2
	}
	return 3
}

// compareFold compares ASCII case-insensitively without allocating.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	return len(a) - len(b)
}

// writeCSOMString writes a JSON string the service's way.
func writeCSOMString(b *bytes.Buffer, s string) {
	if (strings.HasPrefix(s, "/Guid(") || strings.HasPrefix(s, "/Date(")) && strings.HasSuffix(s, ")/") {
		b.WriteString(`"\/`)
		b.WriteString(s[1 : len(s)-2])
		b.WriteString(`)\/"`)
		return
	}
	b.WriteByte('"')
	if plainCSOM(s) {
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/':
			b.WriteString(`\u002f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// plainCSOM reports whether s needs no escaping.
func plainCSOM(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '/' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
