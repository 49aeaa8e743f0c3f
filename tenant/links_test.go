package tenant_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// spoolLinks makes n links whose insertion order is not their key order,
// with one duplicate key.
func spoolLinks(n int) []tenant.Link {
	if n == 0 {
		return nil
	}
	out := make([]tenant.Link, 0, n+1)
	for i := 0; i < n; i++ {
		j := (i * 7919) % n // a permutation when n is not a multiple of 7919
		l := tenant.Link{DriveID: fmt.Sprintf("d%02d", j%5), ItemID: fmt.Sprintf("i%05d", j), PermissionID: "p",
			Scope: tenant.LinkScopeAnonymous, Type: tenant.LinkTypeView, Roles: []string{"read"}}
		if j%3 == 0 {
			l.Expires = tenant.Ptr(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			l.HasPassword = tenant.Ptr(false)
		}
		out = append(out, l)
	}
	dup := out[n/2]
	dup.WebURL = "second"
	return append(out, dup)
}

func sortedKeys(links []tenant.Link) []string {
	keys := make([]string, len(links))
	for i := range links {
		keys[i] = links[i].Key()
	}
	slices.Sort(keys)
	return keys
}

func TestLinkSpool(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, run  int
		spilled bool
	}{
		{"in memory", 50, 0, false},
		{"one run on disk", 50, 50, true},
		{"many runs", 1000, 64, true},
		{"empty", 0, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := spoolLinks(tc.n)
			sp := tenant.NewLinkSpool(dir, tc.run)
			for i := range in {
				if err := sp.Add(&in[i]); err != nil {
					t.Fatal(err)
				}
			}
			if sp.Len() != len(in) {
				t.Errorf("Len %d, want %d", sp.Len(), len(in))
			}
			read := func() []tenant.Link {
				var out []tenant.Link
				if err := sp.Each(func(l *tenant.Link) error { out = append(out, *l); return nil }); err != nil {
					t.Fatal(err)
				}
				return out
			}
			got := read()
			if sp.Spilled() != tc.spilled {
				t.Errorf("Spilled %v, want %v", sp.Spilled(), tc.spilled)
			}
			if len(got) != len(in) {
				t.Fatalf("read %d links, want %d", len(got), len(in))
			}
			keys := make([]string, len(got))
			for i := range got {
				keys[i] = got[i].Key()
			}
			if !reflect.DeepEqual(keys, sortedKeys(in)) && len(in) > 0 {
				t.Errorf("links not in key order")
			}
			// The duplicate comes after the link it repeats, as added.
			for i := 1; i < len(got); i++ {
				if keys[i] == keys[i-1] && (got[i-1].WebURL != "" || got[i].WebURL != "second") {
					t.Errorf("duplicates out of insertion order: %q then %q", got[i-1].WebURL, got[i].WebURL)
				}
			}
			// Content survives the round trip.
			byKey := map[string]tenant.Link{}
			for _, l := range in {
				if _, ok := byKey[l.Key()]; !ok {
					byKey[l.Key()] = l
				}
			}
			for _, l := range got {
				if w := byKey[l.Key()]; l.WebURL == "" && !reflect.DeepEqual(l, w) {
					t.Errorf("link %s: got %+v, want %+v", l.Key(), l, w)
				}
			}
			if again := read(); !reflect.DeepEqual(again, got) {
				t.Errorf("a second read differs from the first")
			}
			if err := sp.Add(&tenant.Link{DriveID: "x"}); !errors.Is(err, tenant.ErrSpoolSealed) {
				t.Errorf("Add after reading: %v, want ErrSpoolSealed", err)
			}
			// The file is unlinked from the start: nothing is left behind.
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("spool left %d files in its directory", len(ents))
			}
			if err := sp.Close(); err != nil {
				t.Fatal(err)
			}
			if n := len(read()); n != 0 {
				t.Errorf("closed spool reads %d links", n)
			}
		})
	}
}

func TestSnapshotSetLinks(t *testing.T) {
	small := tenant.NewLinkSpool(t.TempDir(), 100)
	big := tenant.NewLinkSpool(t.TempDir(), 10)
	in := spoolLinks(40)
	for i := range in {
		if err := small.Add(&in[i]); err != nil {
			t.Fatal(err)
		}
		if err := big.Add(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	var a, b tenant.Snapshot
	a.SetLinks(small)
	b.SetLinks(big)
	if len(a.Links) != len(in) {
		t.Errorf("a spool that stayed in memory gives Links %d, want %d", len(a.Links), len(in))
	}
	if len(b.Links) != 0 || b.LinkCount() != len(in) {
		t.Errorf("a spilled spool: Links %d, LinkCount %d, want 0 and %d", len(b.Links), b.LinkCount(), len(in))
	}
	var c tenant.Snapshot
	c.TakeLinks(&b)
	if b.LinkCount() != 0 || c.LinkCount() != len(in) {
		t.Errorf("TakeLinks: source %d, destination %d", b.LinkCount(), c.LinkCount())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.LinkCount() != 0 {
		t.Errorf("closed snapshot counts %d links", c.LinkCount())
	}
}

// Encoding a snapshot whose links are spooled gives the same bytes as
// encoding it with the links in memory.
func TestEncodeStreamsSpooledLinks(t *testing.T) {
	base, err := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(s *tenant.Snapshot)
	}{
		{"every section", func(*tenant.Snapshot) {}},
		{"links only", func(s *tenant.Snapshot) {
			s.TenantID, s.SharePoint, s.Sites, s.Guests, s.Entra, s.Groups, s.Exchange = "", nil, nil, nil, nil, nil, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := *base
			tc.edit(&mem)
			links := append([]tenant.Link(nil), mem.Links...)
			links = append(links, spoolLinks(30)...)
			mem.Links = links
			sp := tenant.NewLinkSpool(t.TempDir(), 4)
			for i := range links {
				if err := sp.Add(&links[i]); err != nil {
					t.Fatal(err)
				}
			}
			spooled := mem
			spooled.SetLinks(sp)
			defer spooled.Close()
			if !sp.Spilled() || len(spooled.Links) != 0 {
				t.Fatalf("the test needs spilled links")
			}
			// In memory, the links in the spool's (key) order.
			var ordered []tenant.Link
			if err := spooled.EachLink(func(l *tenant.Link) error { ordered = append(ordered, *l); return nil }); err != nil {
				t.Fatal(err)
			}
			mem.Links = ordered
			var want, got bytes.Buffer
			if err := tenant.Encode(&want, &mem); err != nil {
				t.Fatal(err)
			}
			if err := tenant.Encode(&got, &spooled); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("streamed encoding differs:\n%s\nwant:\n%s", head(got.String()), head(want.String()))
			}
			back, err := tenant.Decode(&got, "streamed")
			if err != nil {
				t.Fatal(err)
			}
			if len(back.Links) != len(ordered) {
				t.Errorf("decoded %d links, want %d", len(back.Links), len(ordered))
			}
		})
	}
}

func head(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}
