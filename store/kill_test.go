package store_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// Environment of the child process that TestKill re-executes.
const (
	killDSNEnv   = "SHAREDRIFT_KILL_CHILD_DSN"
	killLinksEnv = "SHAREDRIFT_KILL_CHILD_LINKS"
	killHookEnv  = "SHAREDRIFT_KILL_CHILD_HOOK"
)

// bigSnapshot is the fixture with n generated links; variant changes every
// link so that a re-scan has n versions and n changes to write.
func bigSnapshot(n int, at time.Time, variant bool) *tenant.Snapshot {
	s := storetest.Snapshot(at)
	s.Links = make([]tenant.Link, n)
	for i := range s.Links {
		l := storetest.Link(strconv.Itoa(i), tenant.LinkScopeUsers)
		if variant {
			l.Scope = tenant.LinkScopeOrganization
			l.GrantedTo = []string{"user" + strconv.Itoa(i) + "@contoso.example"}
		}
		s.Links[i] = l
	}
	return s
}

// TestKillChild is the child half of TestKill: it records a large scan and
// is killed with SIGKILL while the transaction is open. It does nothing in
// a normal run.
func TestKillChild(t *testing.T) {
	dsn := os.Getenv(killDSNEnv)
	if dsn == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv(killLinksEnv))
	s, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		fmt.Println("OPEN-FAILED", err)
		os.Exit(2)
	}
	if os.Getenv(killHookEnv) != "" {
		store.SetMidScanHook(s, func() {
			fmt.Println("MID-WRITE")
			time.Sleep(time.Hour) // wait for the kill
		})
	}
	snap := bigSnapshot(n, storetest.T0.Add(time.Hour), true)
	fmt.Println("BEGIN")
	if _, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap)}); err != nil {
		fmt.Println("RECORD-FAILED", err)
		os.Exit(2)
	}
	fmt.Println("DONE")
}

// TestKill kills a process with SIGKILL in the middle of RecordScan and
// checks that the previous state is intact and the next scan completes.
func TestKill(t *testing.T) {
	if os.Getenv(killDSNEnv) != "" {
		return // inside the child
	}
	const links = 30000
	for _, b := range backends {
		for _, mode := range []string{"parked-mid-write", "timed"} {
			t.Run(b.name+"/"+mode, func(t *testing.T) {
				ctx := context.Background()
				dsn := b.dsn(t)
				s, err := store.Open(ctx, dsn, store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				base := bigSnapshot(links, storetest.T0, false)
				first, err := s.RecordScan(ctx, store.ScanInput{Snapshot: base, Results: storetest.Evaluate(base)})
				if err != nil {
					t.Fatal(err)
				}

				cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), killDSNEnv+"="+dsn, killLinksEnv+"="+strconv.Itoa(links))
				if mode == "parked-mid-write" {
					cmd.Env = append(cmd.Env, killHookEnv+"=1")
				}
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				lines := bufio.NewScanner(out)
				wait := "BEGIN"
				if mode == "parked-mid-write" {
					wait = "MID-WRITE"
				}
				var seen []string
				for lines.Scan() {
					seen = append(seen, lines.Text())
					if strings.HasPrefix(lines.Text(), wait) {
						break
					}
				}
				if len(seen) == 0 || !strings.HasPrefix(seen[len(seen)-1], wait) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("child never reached %s: %q", wait, seen)
				}
				if mode == "timed" {
					time.Sleep(150 * time.Millisecond) // somewhere inside the transaction
				}
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				go func() {
					for lines.Scan() {
						seen = append(seen, lines.Text())
					}
				}()
				cmd.Wait()
				for _, l := range seen {
					if l == "DONE" {
						t.Fatalf("child finished before the kill; make the scan larger")
					}
				}

				// The killed scan is invisible and the state is the first scan's.
				scans, err := s.Scans(ctx, store.ScanFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if len(scans) != 1 || scans[0].ID != first.ID {
					t.Fatalf("scans after kill = %+v", scans)
				}
				count, org := 0, 0
				err = s.CurrentObjects(ctx, storetest.Tenant, tenant.SectionLinks, func(o drift.Object) error {
					count++
					if strings.Contains(string(o.Doc), `"organization"`) {
						org++
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if count != links || org != 0 {
					t.Fatalf("links after kill: %d objects, %d from the killed scan", count, org)
				}
				cs, _ := s.Changes(ctx, store.ChangeFilter{})
				if len(cs) != 0 {
					t.Fatalf("%d changes leaked from the killed scan", len(cs))
				}

				// The next scan completes and sees every change.
				next := bigSnapshot(links, storetest.T0.Add(2*time.Hour), true)
				sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: next, Results: storetest.Evaluate(next)})
				if err != nil {
					t.Fatalf("scan after kill: %v", err)
				}
				if sc.ObjectsWritten != links || sc.Changes != links {
					t.Errorf("scan after kill wrote %d objects and %d changes, want %d each", sc.ObjectsWritten, sc.Changes, links)
				}
			})
		}
	}
}
