package drift

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

// FuzzDiff decodes two snapshots from arbitrary bytes and diffs them. For
// any pair the decoder accepts: Diff does not fail or panic; changes come
// in section order then key order, once per key, only for sections
// complete in both; an added key is only in the current snapshot, a
// removed one only in the previous, a modified one in both with fields
// named; and, when no section repeats a key, a snapshot diffed with itself
// yields nothing and diffing the other way round swaps added and removed.
func FuzzDiff(f *testing.F) {
	var snaps [][]byte
	for _, p := range []string{"../testdata/snapshots/contoso.json", "../testdata/snapshots/fabrikam.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		snaps = append(snaps, b)
	}
	contoso, fabrikam := snaps[0], snaps[1]
	f.Add(contoso, fabrikam)
	f.Add(fabrikam, contoso)
	f.Add(contoso, contoso)
	// The same tenant with a section partial on one side.
	f.Add(contoso, bytes.Replace(contoso, []byte(`"complete"`), []byte(`"partial"`), 1))
	f.Add([]byte(`{"schema":"sharedrift.snapshot/v1","tenant":"t","collectedAt":"2025-03-01T00:00:00Z","status":{"links":{"state":"complete"}},"links":[{"driveId":"d","itemId":"i","permissionId":"p","scope":"users","type":"view"}]}`),
		[]byte(`{"schema":"sharedrift.snapshot/v1","tenant":"t","collectedAt":"2025-03-02T00:00:00Z","status":{"links":{"state":"complete"}},"links":[{"driveId":"d","itemId":"i","permissionId":"p","scope":"anonymous","type":"edit"}]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		prev, err := tenant.Decode(bytes.NewReader(a), "prev.json")
		if err != nil {
			return
		}
		cur, err := tenant.Decode(bytes.NewReader(b), "cur.json")
		if err != nil {
			return
		}
		changes, err := Diff(prev, cur)
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		prevKeys, prevDup := keys(t, prev)
		curKeys, curDup := keys(t, cur)
		for i, c := range changes {
			if !prev.Complete(c.Section) || !cur.Complete(c.Section) {
				t.Fatalf("change in a section incomplete on one side: %+v", c)
			}
			if i > 0 {
				p := changes[i-1]
				si, pi := slices.Index(tenant.AllSections, c.Section), slices.Index(tenant.AllSections, p.Section)
				if si < pi || si == pi && c.Key <= p.Key {
					t.Fatalf("changes out of order or repeated: %s %s after %s %s", c.Section, c.Key, p.Section, p.Key)
				}
			}
			inPrev, inCur := prevKeys[c.Section][c.Key], curKeys[c.Section][c.Key]
			switch c.Kind {
			case Added:
				if inPrev || !inCur || len(c.Object) == 0 {
					t.Fatalf("added %s: in previous %v, in current %v", c.Key, inPrev, inCur)
				}
			case Removed:
				if !inPrev || inCur || len(c.Object) == 0 {
					t.Fatalf("removed %s: in previous %v, in current %v", c.Key, inPrev, inCur)
				}
			case Modified:
				if !inPrev || !inCur || len(c.Fields) == 0 {
					t.Fatalf("modified %s: in previous %v, in current %v, %d fields", c.Key, inPrev, inCur, len(c.Fields))
				}
				for _, fc := range c.Fields {
					if fc.Path == "" && len(fc.Old) == 0 && len(fc.New) == 0 {
						t.Fatalf("modified %s: a field change without path or values", c.Key)
					}
				}
			default:
				t.Fatalf("change of kind %q", c.Kind)
			}
		}
		if prevDup || curDup {
			return // which duplicate stands for a key is the diff's choice
		}
		for _, s := range []*tenant.Snapshot{prev, cur} {
			if self, err := Diff(s, s); err != nil || len(self) != 0 {
				t.Fatalf("a snapshot diffed with itself: %v, %d changes (%+v)", err, len(self), self)
			}
		}
		back, err := Diff(cur, prev)
		if err != nil {
			t.Fatalf("Diff the other way: %v", err)
		}
		if len(back) != len(changes) {
			t.Fatalf("%d changes one way, %d the other", len(changes), len(back))
		}
		swap := map[Kind]Kind{Added: Removed, Removed: Added, Modified: Modified}
		for i, c := range changes {
			if r := back[i]; r.Section != c.Section || r.Key != c.Key || r.Kind != swap[c.Kind] {
				t.Fatalf("one way %s %s %s, the other %s %s %s", c.Section, c.Key, c.Kind, r.Section, r.Key, r.Kind)
			}
		}
	})
}

// keys lists the object keys of every section of s and reports whether a
// section repeats one.
func keys(t *testing.T, s *tenant.Snapshot) (map[tenant.Section]map[string]bool, bool) {
	out := map[tenant.Section]map[string]bool{}
	dup := false
	for _, sec := range tenant.AllSections {
		out[sec] = map[string]bool{}
		err := Objects(s, sec, func(o Object) error {
			if out[sec][o.Key] {
				dup = true
			}
			if o.Key == "" {
				t.Fatalf("object without a key in %s", sec)
			}
			out[sec][o.Key] = true
			return nil
		})
		if err != nil {
			t.Fatalf("Objects %s: %v", sec, err)
		}
	}
	return out, dup
}
