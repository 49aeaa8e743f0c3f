package m365test_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

const tokenCursor = "sites/properties-cursor"

// pageRecorder notes the site URLs of each GetSitePropertiesFromSharePoint
// answer the client received, so that a test sees which sites a scan read.
type pageRecorder struct {
	mu    sync.Mutex
	pages [][]string
}

func (r *pageRecorder) Record(rec m365.Recording) {
	if !bytes.Contains(rec.RequestBody, []byte("GetSitePropertiesFromSharePoint")) {
		return
	}
	var arr []json.RawMessage
	if json.Unmarshal(rec.Body, &arr) != nil {
		return
	}
	for _, el := range arr {
		var obj struct {
			Items []struct {
				URL string `json:"Url"`
			} `json:"_Child_Items_"`
		}
		if json.Unmarshal(el, &obj) != nil || obj.Items == nil {
			continue
		}
		var page []string
		for _, it := range obj.Items {
			page = append(page, it.URL)
		}
		r.mu.Lock()
		r.pages = append(r.pages, page)
		r.mu.Unlock()
	}
}

// take returns the pages recorded since the last take.
func (r *pageRecorder) take() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pages
	r.pages = nil
	return p
}

// windowTenant is a fake tenant of five pages of site properties, its
// client recording those pages, and a state.
type windowTenant struct {
	srv *m365test.Server
	c   *m365.Client
	rec *pageRecorder
	st  *memState
	gen bool
}

// requests counts the requests the fake received: by endpoint key for a
// fixture tenant, by kind ("sites delta", "csom") for a generated one.
func (w *windowTenant) requests() map[string]int {
	if !w.gen {
		return w.srv.Calls()
	}
	out := map[string]int{}
	for k, v := range w.srv.Usage().ByKind {
		out[k] = int(v)
	}
	return out
}

// newWindowTenant starts the named tenant: "fixture" is fabrikam grown to
// 10 sites served 2 to a page, "generated" 2,500 generated sites (the
// generated fake serves 500 to a page).
func newWindowTenant(t *testing.T, kind string) *windowTenant {
	t.Helper()
	var srv *m365test.Server
	var err error
	switch kind {
	case "fixture":
		srv, err = m365test.New("../../../testdata/tenants/fabrikam", m365test.Options{PageSize: 2})
		if err == nil {
			for i := range 4 {
				addFixtureSite(srv, i)
			}
		}
	case "generated":
		srv, err = m365test.NewGenerated(m365test.Spec{Seed: 7, Sites: 2500, ItemsPerDrive: 3, SharedPerDrive: 1, LinksPerShared: 1}, m365test.Options{})
	default:
		t.Fatalf("unknown tenant kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	rec := &pageRecorder{}
	o := srv.ClientOptions()
	o.Recorder = rec
	c, err := m365.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &windowTenant{srv: srv, c: c, rec: rec, st: &memState{tokens: map[string]string{}, pending: map[string]string{}}, gen: kind == "generated"}
}

func addFixtureSite(srv *m365test.Server, i int) {
	guid := fmt.Sprintf("7b1c2d3e-0000-4000-8000-%012d", i)
	u := fmt.Sprintf("https://fabrikam.sharepoint.com/sites/Window%d", i)
	srv.AddSite(map[string]any{
		"id": "fabrikam.sharepoint.com," + guid + ",5c4f1229-7f9d-5ccd-8fed-e9fd69c34388", "name": fmt.Sprintf("Window%d", i),
		"webUrl": u, "displayName": fmt.Sprintf("Window %d", i), "root": map[string]any{},
		"sharepointIds":  map[string]any{"siteId": guid},
		"siteCollection": map[string]any{"hostname": "fabrikam.sharepoint.com"},
	}, map[string]any{
		"Url": u, "Title": fmt.Sprintf("Window %d", i), "Template": "STS#3",
		"GroupId": "/Guid(00000000-0000-0000-0000-000000000000)/", "LockState": "Unlock", "SharingCapability": i % 4,
		"SharingDomainRestrictionMode": 0, "SharingAllowedDomainList": "", "SharingBlockedDomainList": "",
		"SensitivityLabel": "/Guid(00000000-0000-0000-0000-000000000000)/",
	})
}

// scan collects the sites section with pages as the window (-1: no
// state, a full read) and returns the snapshot, the requests by endpoint
// key and the pages of site properties read. A complete section is
// committed to the state as a store would; an incomplete one is not.
func (w *windowTenant) scan(t *testing.T, pages int) (*tenant.Snapshot, map[string]int, [][]string) {
	t.Helper()
	o := m365.SourceOptions{State: w.st, SitePropertiesPages: pages}
	if pages < 0 {
		o = m365.SourceOptions{}
	}
	srcs, err := m365.SourcesFor(w.c, o, tenant.SectionSites)
	if err != nil {
		t.Fatal(err)
	}
	w.rec.take()
	before := w.requests()
	snap := scanner.Scan(context.Background(), srcs, scanner.Options{Tenant: w.srv.Meta().Tenant})
	calls := map[string]int{}
	for k, v := range w.requests() {
		if d := v - before[k]; d > 0 {
			calls[k] = d
		}
	}
	if snap.Complete(tenant.SectionSites) && pages >= 0 {
		w.st.commit(snap)
	}
	return snap, calls, w.rec.take()
}

// full reads the sites without state.
func (w *windowTenant) full(t *testing.T) []tenant.Site {
	t.Helper()
	snap, _, _ := w.scan(t, -1)
	if !snap.Complete(tenant.SectionSites) {
		t.Fatalf("full read: %+v", snap.Status[tenant.SectionSites])
	}
	return snap.Sites
}

func siteURLs(sites []tenant.Site) []string {
	var out []string
	for _, s := range sites {
		out = append(out, s.URL)
	}
	sort.Strings(out)
	return out
}

// TestSitePropertiesWindow: unchanged incremental scans read exactly the
// window's pages of site properties, never a page twice in a scan, wrap
// around after the last page, and read every site within
// ceil(pages/window) scans; their sites always equal a full read.
func TestSitePropertiesWindow(t *testing.T) {
	const totalPages = 5
	for _, kind := range []string{"fixture", "generated"} {
		for _, tt := range []struct {
			window, perScan, cover int
		}{
			{window: 0, perScan: 5, cover: 1}, // every page each scan
			{window: 2, perScan: 2, cover: 3},
			{window: 3, perScan: 3, cover: 2},
			{window: 5, perScan: 5, cover: 1},
			{window: 6, perScan: 5, cover: 1}, // more than the tenant has
		} {
			t.Run(fmt.Sprintf("%s/window %d", kind, tt.window), func(t *testing.T) {
				w := newWindowTenant(t, kind)
				want := w.full(t)
				all := siteURLs(want)

				snap, _, pages := w.scan(t, tt.window)
				if !snap.Complete(tenant.SectionSites) || len(pages) != totalPages {
					t.Fatalf("first scan with a state: %d pages (want every one, %d), status %+v", len(pages), totalPages, snap.Status[tenant.SectionSites])
				}
				if w.st.tokens[tokenCursor] != "" {
					t.Errorf("a full read left the cursor %q", w.st.tokens[tokenCursor])
				}

				seen := map[string]bool{}
				for scan := 1; scan <= 2*tt.cover+1; scan++ {
					snap, calls, pages := w.scan(t, tt.window)
					if !snap.Complete(tenant.SectionSites) {
						t.Fatalf("scan %d: %+v", scan, snap.Status[tenant.SectionSites])
					}
					delete(calls, "GET /beta/security/informationProtection/sensitivityLabels")
					wantCalls := map[string]int{"GET /v1.0/sites/delta": 1, callSitesPage: tt.perScan}
					if w.gen {
						// Every page holds sites labelled Confidential:
						// the label catalogue names them, once a scan.
						wantCalls = map[string]int{"sites delta": 1, "csom": tt.perScan, "security": 1}
					}
					if !reflect.DeepEqual(calls, wantCalls) {
						t.Errorf("scan %d: requests %v, want %v", scan, calls, wantCalls)
					}
					inScan := map[string]bool{}
					for _, p := range pages {
						for _, u := range p {
							if inScan[u] {
								t.Errorf("scan %d read %s twice", scan, u)
							}
							inScan[u] = true
							seen[u] = true
						}
					}
					if !reflect.DeepEqual(snap.Sites, want) {
						t.Errorf("scan %d: sites differ from a full read", scan)
					}
					// Every cycle of `cover` scans reads every site.
					if scan%tt.cover == 0 {
						if len(seen) != len(all) {
							t.Errorf("scans %d-%d read %d of %d sites' properties", scan-tt.cover+1, scan, len(seen), len(all))
						}
						seen = map[string]bool{}
					}
				}
			})
		}
	}
}

// TestSitePropertiesWindowSharingChange: a sharing change on an existing
// site, which the sites delta does not report, is kept out until the scan
// whose window covers the site, then seen, and not reverted by the scans
// whose windows do not cover it.
func TestSitePropertiesWindowSharingChange(t *testing.T) {
	w := newWindowTenant(t, "fixture")
	w.full(t)
	if _, _, pages := w.scan(t, 0); len(pages) != 5 {
		t.Fatalf("first scan with a state read %d pages, want 5", len(pages))
	}
	// Window 2 over 5 pages: the scans read pages 1-2, 3-4, 5-1, 2-3, 4-5.
	_, _, pages := w.scan(t, 2)
	if len(pages) != 2 || len(pages[0]) == 0 {
		t.Fatalf("first window read %v", pages)
	}
	site := pages[0][0]
	level := func(sites []tenant.Site) tenant.SharingLevel {
		for _, s := range sites {
			if s.URL == site {
				return s.SharingCapability
			}
		}
		t.Fatalf("site %s missing", site)
		return ""
	}
	before := level(w.full(t))
	after := tenant.SharingAnyone
	if before == after {
		after = tenant.SharingDisabled
	}
	if err := w.c.SetSiteSharing(context.Background(), site, after); err != nil {
		t.Fatal(err)
	}
	want := w.full(t)
	if level(want) != after {
		t.Fatalf("fake did not apply the change: %q", level(want))
	}
	for _, tt := range []struct {
		name string
		want tenant.SharingLevel
	}{
		{"window without the site", before},
		{"window wrapping onto the site", after},
		{"next window without the site", after},
		{"window of the last pages", after},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap, _, _ := w.scan(t, 2)
			if !snap.Complete(tenant.SectionSites) {
				t.Fatalf("%+v", snap.Status[tenant.SectionSites])
			}
			if got := level(snap.Sites); got != tt.want {
				t.Errorf("site sharing %q, want %q", got, tt.want)
			}
			if tt.want == after && !reflect.DeepEqual(snap.Sites, want) {
				t.Error("sites differ from a full read")
			}
		})
	}
}

// TestSitePropertiesWindowRefusedCursor: a stored start index the
// service refuses makes the window start over from the first page, once;
// refused again, the section fails and leaves the stored sites and tokens
// as they were.
func TestSitePropertiesWindowRefusedCursor(t *testing.T) {
	for _, tt := range []struct {
		name   string
		refuse func(w *windowTenant)
		// complete: the section completes, reading the first window again.
		complete bool
	}{
		{"fault on the stored start's page", func(w *windowTenant) {
			w.srv.Faults.Add(callSitesPage, m365test.Fault{Status: http.StatusBadRequest, Times: 1})
		}, true},
		{"start index the fake does not know", func(w *windowTenant) {
			w.st.tokens[tokenCursor] = "not-an-index"
		}, true},
		{"refused from the first page too", func(w *windowTenant) {
			w.srv.Faults.Add(callSitesPage, m365test.Fault{Status: http.StatusBadRequest, Times: 2})
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindowTenant(t, "fixture")
			want := w.full(t)
			w.scan(t, 2) // a full read: no cursor
			_, _, firstWindow := w.scan(t, 2)
			firstCursor := w.st.tokens[tokenCursor]
			if firstCursor == "" || len(firstWindow) != 2 {
				t.Fatalf("first window: cursor %q, pages %v", firstCursor, firstWindow)
			}
			w.scan(t, 2)
			stored := map[string]string{}
			for k, v := range w.st.tokens {
				stored[k] = v
			}
			storedSites := w.st.sites

			tt.refuse(w)
			snap, calls, pages := w.scan(t, 2)
			if got := snap.Complete(tenant.SectionSites); got != tt.complete {
				t.Fatalf("complete = %v, want %v (%+v)", got, tt.complete, snap.Status[tenant.SectionSites])
			}
			if !tt.complete {
				if len(w.st.pending) != 0 {
					t.Errorf("a failed section handed over tokens %v", w.st.pending)
				}
				if !reflect.DeepEqual(w.st.tokens, stored) || !reflect.DeepEqual(w.st.sites, storedSites) {
					t.Error("a failed section changed the stored tokens or sites")
				}
				if calls[callSitesPage] != 2 {
					t.Errorf("%d pages asked, want 2 (the stored start, then the first page)", calls[callSitesPage])
				}
				return
			}
			if !reflect.DeepEqual(pages, firstWindow) {
				t.Errorf("pages read %v, want the first window again %v", pages, firstWindow)
			}
			if got := w.st.tokens[tokenCursor]; got != firstCursor {
				t.Errorf("cursor %q, want %q (after the first window)", got, firstCursor)
			}
			if !reflect.DeepEqual(snap.Sites, want) {
				t.Error("sites differ from a full read")
			}
			if calls[callSitesPage] != 3 {
				t.Errorf("%d pages asked, want 3 (the refused one and the first window)", calls[callSitesPage])
			}
		})
	}
}
