package tenant

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sharedrift/sharedrift/internal/readcap"
)

// ErrSchema is returned when a snapshot carries an unsupported schema tag.
var ErrSchema = errors.New("unsupported snapshot schema")

// Decode reads one snapshot strictly: unknown fields, a wrong schema tag,
// trailing data or an unknown section state are errors. name labels errors
// (usually the file path).
func Decode(r io.Reader, name string) (*Snapshot, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, readcap.ErrTooLarge) {
			return nil, err // it names the file and the cap
		}
		return nil, fmt.Errorf("%s: %w", name, describeJSONError(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the snapshot object", name)
	}
	if s.Schema != SchemaV1 {
		return nil, fmt.Errorf("%s: schema: %w %q, expected %q", name, ErrSchema, s.Schema, SchemaV1)
	}
	for sec, st := range s.Status {
		if !knownSection(sec) {
			return nil, fmt.Errorf("%s: status.%s: unknown section, expected one of %v", name, sec, AllSections)
		}
		switch st.State {
		case StateComplete, StatePartial, StateFailed:
		default:
			return nil, fmt.Errorf("%s: status.%s.state: %q, expected complete, partial or failed", name, sec, st.State)
		}
	}
	return &s, nil
}

// ReadFile decodes the snapshot at path, refusing a file larger than
// readcap.Snapshot bytes. The file is streamed into the decoder, so a
// device such as /dev/zero is refused at its first byte.
func ReadFile(path string) (*Snapshot, error) {
	f, err := readcap.Open(path, readcap.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer f.Close()
	s, err := Decode(f, path)
	if errors.Is(err, readcap.ErrTooLarge) {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	return s, err
}

// Encode writes s as indented JSON, setting the schema tag. Spooled links
// are streamed, one at a time.
func Encode(w io.Writer, s *Snapshot) error {
	s.Schema = SchemaV1
	if s.spool != nil {
		return encodeStreaming(w, s)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// encodeStreaming writes what Encode writes, field by field in the order
// of Snapshot's declaration, so that the links never sit in memory.
func encodeStreaming(w io.Writer, s *Snapshot) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	// A bufio.Writer keeps its first error; Flush reports it.
	put := func(s string) { _, _ = bw.WriteString(s) }
	first := true
	field := func(name string, v any) error {
		if !first {
			put(",")
		}
		first = false
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return fmt.Errorf("encode snapshot: %s: %w", name, err)
		}
		put("\n  \"" + name + "\": ")
		_, err = bw.Write(b)
		return err
	}
	put("{")
	type entry struct {
		name string
		v    any
		omit bool
	}
	head := []entry{
		{"schema", s.Schema, false}, {"tenant", s.Tenant, false}, {"tenantId", s.TenantID, s.TenantID == ""},
		{"collectedAt", s.CollectedAt, false}, {"status", s.Status, false},
		{"sharepoint", s.SharePoint, s.SharePoint == nil}, {"sites", s.Sites, len(s.Sites) == 0},
	}
	tail := []entry{
		{"guests", s.Guests, len(s.Guests) == 0}, {"entra", s.Entra, s.Entra == nil},
		{"groups", s.Groups, s.Groups == nil}, {"exchange", s.Exchange, s.Exchange == nil},
		{"teams", s.Teams, s.Teams == nil}, {"powerbi", s.PowerBI, s.PowerBI == nil},
	}
	for _, e := range head {
		if !e.omit {
			if err := field(e.name, e.v); err != nil {
				return err
			}
		}
	}
	if s.LinkCount() > 0 {
		put(",\n  \"links\": [")
		n := 0
		err := s.EachLink(func(l *Link) error {
			if n > 0 {
				put(",")
			}
			n++
			b, err := json.MarshalIndent(l, "    ", "  ")
			if err != nil {
				return fmt.Errorf("encode snapshot: link %s: %w", l.Key(), err)
			}
			put("\n    ")
			_, err = bw.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		put("\n  ]")
	}
	for _, e := range tail {
		if !e.omit {
			if err := field(e.name, e.v); err != nil {
				return err
			}
		}
	}
	put("\n}\n")
	return bw.Flush()
}

func knownSection(s Section) bool {
	for _, k := range AllSections {
		if k == s {
			return true
		}
	}
	return false
}

// describeJSONError turns encoding/json errors into "path: value, expected" text.
func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: got JSON %s, expected %s", te.Field, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d: %w", se.Offset, err)
	}
	return err
}
