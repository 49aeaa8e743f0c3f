package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestLinksInChunks: a spooled links section (its links in key order) is
// written a chunk of stored objects at a time; a scan sequence recorded
// that way (chunks of 3 objects) leaves the same objects, versions
// written, changes and findings as the same scans recorded with the links
// held in a slice (one pairing of the whole section): links added,
// modified and removed at the start, within and between chunks, whole
// chunks removed, the section emptied and filled again, a duplicate key.
func TestLinksInChunks(t *testing.T) {
	store.SetPairChunk(t, 3)
	rng := rand.New(rand.NewPCG(11, 12))
	link := func(i int, v int) tenant.Link {
		scope := tenant.LinkScopeUsers
		if i%3 == 0 {
			scope = tenant.LinkScopeAnonymous
		}
		l := storetest.Link(fmt.Sprintf("%03d", i), scope)
		l.ItemPath = fmt.Sprintf("/Shared Documents/file%03d-v%d.docx", i, v)
		return l
	}
	// Each scan's links: index -> version (0: absent).
	var scans []map[int]int
	cur := map[int]int{}
	for i := 0; i < 40; i++ {
		cur[i] = 1
	}
	scans = append(scans, cur)
	for s := 0; s < 6; s++ {
		next := map[int]int{}
		for i := 0; i < 60; i++ {
			v := cur[i]
			switch r := rng.IntN(10); {
			case r == 0 && v > 0:
				v = 0 // removed
			case r == 1:
				v++ // modified or added
			case r == 2 && v == 0:
				v = 1
			}
			if s == 2 && i >= 10 && i < 20 {
				v = 0 // whole chunks removed
			}
			if v > 0 {
				next[i] = v
			}
		}
		cur = next
		scans = append(scans, cur)
	}
	scans = append(scans, map[int]int{}, scans[0]) // emptied, then filled again

	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			whole, chunked := be.open(t, store.Options{}), be.open(t, store.Options{})
			for n, m := range scans {
				at := storetest.T0.Add(time.Duration(n) * time.Hour)
				var ls []tenant.Link
				for i := 0; i < 60; i++ {
					if v := m[i]; v > 0 {
						ls = append(ls, link(i, v))
					}
				}
				if n == 3 && len(ls) > 0 {
					ls = append(ls, ls[len(ls)/2]) // a duplicate key
				}
				a := storetest.Snapshot(at).WithLinks(ls)
				b := storetest.Snapshot(at)
				b.Links = nil
				sp := tenant.NewLinkSpool(t.TempDir(), 2)
				for i := range ls {
					if err := sp.Add(&ls[i]); err != nil {
						t.Fatal(err)
					}
				}
				b.SetLinks(sp)
				if len(ls) > 3 && !b.LinksInKeyOrder() {
					t.Fatal("the spooled snapshot does not give its links in key order: the chunks are not tested")
				}
				ra := tenant.NewResultSpool("", 0)
				rb := tenant.NewResultSpool("", 0)
				for _, s := range []struct {
					snap *tenant.Snapshot
					rs   *tenant.ResultSpool
				}{{a, ra}, {b, rb}} {
					if err := s.snap.EachLink(func(l *tenant.Link) error {
						if l.Scope != tenant.LinkScopeAnonymous {
							return nil
						}
						return s.rs.Add(&tenant.Result{RuleID: storetest.RuleAnyoneLink, Section: tenant.SectionLinks, Outcome: tenant.Fail,
							Severity: tenant.SeverityHigh, ObjectKey: l.Key(), Expected: "no Anyone links", Actual: "anonymous"})
					}); err != nil {
						t.Fatal(err)
					}
				}
				sa, err := whole.RecordScan(ctx, store.ScanInput{Snapshot: a, ResultSet: ra})
				if err != nil {
					t.Fatal(err)
				}
				sb, err := chunked.RecordScan(ctx, store.ScanInput{Snapshot: b, ResultSet: rb})
				if err != nil {
					t.Fatalf("scan %d in chunks: %v", n, err)
				}
				ra.Close()
				rb.Close()
				b.Close()
				if sa.ObjectsSeen != sb.ObjectsSeen || sa.ObjectsWritten != sb.ObjectsWritten || sa.Changes != sb.Changes ||
					sa.FindingsNew != sb.FindingsNew || sa.FindingsResolved != sb.FindingsResolved || sa.FindingsOpen != sb.FindingsOpen {
					t.Fatalf("scan %d: whole seen %d written %d changes %d findings new %d resolved %d open %d; in chunks %d %d %d %d %d %d", n,
						sa.ObjectsSeen, sa.ObjectsWritten, sa.Changes, sa.FindingsNew, sa.FindingsResolved, sa.FindingsOpen,
						sb.ObjectsSeen, sb.ObjectsWritten, sb.Changes, sb.FindingsNew, sb.FindingsResolved, sb.FindingsOpen)
				}
				if n > 0 && sa.ObjectsWritten == 0 {
					t.Fatalf("scan %d wrote nothing: the sequence tests nothing", n)
				}
				objs := func(s store.Store) map[string]string {
					out := map[string]string{}
					if err := s.CurrentObjects(ctx, storetest.Tenant, tenant.SectionLinks, func(o drift.Object) error {
						out[o.Key] = string(o.Doc)
						return nil
					}); err != nil {
						t.Fatal(err)
					}
					return out
				}
				if oa, ob := objs(whole), objs(chunked); !reflect.DeepEqual(oa, ob) || len(oa) != len(m) {
					t.Fatalf("scan %d: stored links whole %d, in chunks %d, scanned %d", n, len(oa), len(ob), len(m))
				}
			}
		})
	}
}
