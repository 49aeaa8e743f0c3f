package m365test_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestGeneratedAnyoneFile: a file shared with an Anyone link on a
// generated drive labelled Confidential is notified, read by the next
// incremental scan like a full scan reads it, has its sharing-link group,
// and joins the ground truth.
func TestGeneratedAnyoneFile(t *testing.T) {
	spec := m365test.Spec{Seed: 5, Sites: 30, ItemsPerDrive: 300, SharedPerDrive: 20, LinksPerShared: 1, Guests: 40}
	srv, err := m365test.NewGenerated(spec, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gen := srv.Generated()
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	first := genScan(t, srv, st)
	st.commit(first)

	// One site in 20 carries the Confidential label, named from the catalogue.
	drive, ok := gen.ConfidentialDrive(0)
	if !ok {
		t.Fatal("no confidential drive")
	}
	var labelled []string
	for _, s := range first.Sites {
		if s.SensitivityLabel != "" {
			labelled = append(labelled, s.URL+" "+s.SensitivityLabel)
		}
	}
	if len(labelled) != 1 || !strings.HasSuffix(labelled[0], "/sites/s00010 Confidential") {
		t.Fatalf("labelled sites: %v", labelled)
	}
	if _, ok := gen.ConfidentialDrive(1); ok {
		t.Fatal("30 sites hold a second confidential site")
	}

	rcv := newReceiver(t)
	srv.SetNotifyOptions(m365test.NotifyOptions{Client: rcv.srv.Client(), MeanDelay: time.Millisecond, Seed: 1})
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(context.Background(), m365.SubscriptionRequest{DriveID: drive, NotificationURL: rcv.srv.URL + "/n",
		ClientState: "s", Expires: srv.Clock().Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before := gen.Count()
	item, perm, err := srv.AddAnyoneFile(drive, "Board minutes.docx")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.AddAnyoneFile("b!gen-99999", "x.docx"); err == nil {
		t.Error("a file added to a drive the tenant lacks")
	}
	srv.WaitDeliveries()
	if ds := srv.Deliveries(); len(ds) != 1 || ds[0].DriveID != drive || ds[0].Status != 202 {
		t.Fatalf("deliveries: %+v", ds)
	}
	after := gen.Count()
	if after.Links != before.Links+1 || after.SharedItems != before.SharedItems+1 || after.Items != before.Items+1 {
		t.Fatalf("count before %+v, after %+v", before, after)
	}
	key := "link:" + drive + "/" + item + "/" + perm
	var truth []string
	gen.EachLinkKey(func(k string) { truth = append(truth, k) })
	if !slices.Contains(truth, key) || !slices.IsSorted(truth) {
		t.Fatalf("ground truth lacks %s or is out of order", key)
	}
	var uid string
	for _, s := range gen.SiteGroupTitles(10) {
		if strings.HasSuffix(s, ".AnonymousView."+perm) {
			uid = s
		}
	}
	if uid == "" {
		t.Fatalf("site s00010 has no sharing-link group for %s", perm)
	}

	srv.ResetUsage()
	inc := genScan(t, srv, st)
	st.commit(inc)
	if u := srv.Usage(); u.ByKind["permissions"] != 1 {
		t.Errorf("incremental scan after one new file: %v", u.ByKind)
	}
	var got *tenant.Link
	for _, l := range allLinks(inc) {
		if l.Key() == key {
			got = &l
		}
	}
	if got == nil || got.Scope != "anonymous" || got.Type != "view" || got.ItemPath != "/Board minutes.docx" {
		t.Fatalf("incremental scan's link %s: %+v", key, got)
	}
	full := genScan(t, srv, nil)
	if il, fl := allLinks(inc), allLinks(full); !reflect.DeepEqual(il, fl) {
		t.Errorf("incremental links (%d) differ from a full scan (%d)", len(il), len(fl))
		diffKeys(t, linkKeys(il), linkKeys(fl))
	}
}

// TestClockSwitch: the clock continues from the moment it is switched to,
// never goes back, and converts durations at its new scale.
func TestClockSwitch(t *testing.T) {
	srv, err := m365test.NewGenerated(m365test.Spec{Seed: 1, Sites: 1, ItemsPerDrive: 10, SharedPerDrive: 1, LinksPerShared: 1}, m365test.Options{TimeScale: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	clk := srv.Clock()
	ahead := clk.Now().Add(6 * time.Hour)
	clk.Switch(ahead, 30)
	if now := clk.Now(); now.Before(ahead) || now.After(ahead.Add(time.Hour)) {
		t.Fatalf("after switching to %s: %s", ahead, now)
	}
	if clk.Scale() != 30 || clk.Real(30*time.Second) != time.Second || clk.Sim(time.Second) != 30*time.Second {
		t.Fatalf("scale %v, real(30s) %s, sim(1s) %s", clk.Scale(), clk.Real(30*time.Second), clk.Sim(time.Second))
	}
	before := clk.Now()
	clk.Switch(before.Add(-time.Hour), 1)
	if now := clk.Now(); now.Before(before) {
		t.Fatalf("switching to the past moved the clock back: %s, was %s", now, before)
	}
}
