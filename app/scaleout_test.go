package app

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq" // the test creates its own schema

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/internal/pgtest"
	"github.com/sharedrift/sharedrift/store"
)

// childEnv makes the test binary run one daemon replica instead of tests.
const childEnv = "SHAREDRIFT_TEST_DAEMON_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

// runChild is one replica: the real service, with each scan slowed down so
// a kill lands mid-scan.
func runChild(path string) int {
	cfg, err := config.Load(config.Options{File: path, Env: os.Environ(), RequireTenants: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := newJSONLogger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	svc, err := Open(ctx, cfg, ServiceOptions{Logger: log, OpenFixture: openFixture, WrapScan: func(next daemon.ScanFunc) daemon.ScanFunc {
		return func(ctx context.Context, req daemon.ScanRequest) (daemon.ScanResult, error) {
			select {
			// Longer than the kill's offset into the slot (0.9s), so every
			// scan started before the kill is still running when it lands.
			case <-time.After(1200 * time.Millisecond):
			case <-ctx.Done():
				return daemon.ScanResult{}, ctx.Err()
			}
			return next(ctx, req)
		}
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer svc.Close()
	if err := svc.Serve(ctx, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testDSN returns the PostgreSQL the test command started, in a fresh schema.
func testDSN(t *testing.T) string { return pgtest.Schema(t) }

type replica struct {
	cmd *exec.Cmd
	log string
}

func startReplica(t *testing.T, cfgPath, logPath string, env []string) *replica {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+cfgPath), env...)
	cmd.Stderr = f
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := &replica{cmd: cmd, log: logPath}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return r
}

func (r *replica) waitLog(t *testing.T, substr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(r.log)
		if strings.Contains(string(b), substr) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(r.log)
	t.Fatalf("replica never logged %q:\n%s", substr, b)
}

// inFlight lists the tenant scans a replica's log shows started and not ended.
func inFlight(t *testing.T, logPath string) []string {
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	open := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		tn := field(line, "tenant")
		switch {
		case strings.Contains(line, `"msg":"scan started"`):
			open[tn] = true
		case strings.Contains(line, `"msg":"scan finished"`), strings.Contains(line, `"msg":"scan ended"`):
			delete(open, tn)
		}
	}
	var out []string
	for tn := range open {
		out = append(out, tn)
	}
	return out
}

func field(line, key string) string {
	i := strings.Index(line, `"`+key+`":"`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(key)+4:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// TestReplicasOnPostgres runs three daemon processes on one PostgreSQL
// with 20 tenants on a 6s schedule for several cycles and kills one of
// them in the middle of its scans: every slot of every tenant is scanned
// exactly once, the killed replica's tenants included.
func TestReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; runs in the full suite")
	}
	dsn := testDSN(t)
	dir := t.TempDir()
	if d := os.Getenv("SHAREDRIFT_TEST_KEEP_LOGS"); d != "" {
		dir = d
	}
	fixture, err := filepath.Abs(filepath.Join("..", "testdata", "tenants", "contoso"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		tenants  = 20
		interval = 6 * time.Second
	)
	var b strings.Builder
	fmt.Fprintf(&b, `log: {level: info, format: json}
store:
  dsn: env:DAEMON_TEST_DSN
http:
  listen: ""
scheduler:
  jitter: 1s
  startup_scan: false
  scan_timeout: 30s
  grace_period: 3s
  lease_ttl: 2s
  max_concurrent: 8
tenants:
`)
	for i := 0; i < tenants; i++ {
		fmt.Fprintf(&b, "  t%02d: {fixture: %q, baseline: recommended, schedule: \"@every %s\"}\n", i, fixture, interval)
	}
	cfgPath := filepath.Join(dir, "sharedrift.yaml")
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Migrate once up front so replicas start together.
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	env := []string{"DAEMON_TEST_DSN=" + dsn}
	var reps []*replica
	for i := 0; i < 3; i++ {
		reps = append(reps, startReplica(t, cfgPath, filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)), env))
	}
	for _, r := range reps {
		r.waitLog(t, `"msg":"daemon started"`)
	}
	started := time.Now()
	// The first slot every replica was up for.
	first := started.Truncate(interval).Add(interval)

	// Kill replica 0 0.9s into the third slot, when scans are in flight.
	killAt := first.Add(2*interval + 900*time.Millisecond)
	time.Sleep(time.Until(killAt))
	victim := reps[0]
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	lost := inFlight(t, victim.log)
	t.Logf("killed replica 0 at %s with scans in flight for %v", killAt.Format("15:04:05.000"), lost)

	// Two more full cycles after the kill.
	last := first.Add(4 * interval)
	time.Sleep(time.Until(last.Add(interval)))
	for _, r := range reps[1:] {
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range reps[1:] {
		if err := r.cmd.Wait(); err != nil {
			b, _ := os.ReadFile(r.log)
			t.Fatalf("replica %d did not exit 0 on SIGTERM: %v\n%s", i+1, err, b)
		}
	}

	// Count recorded scans per tenant and slot.
	counts := map[string]map[int64]int{} // tenant -> slot (unix s) -> scans
	total := 0
	for i := 0; i < tenants; i++ {
		name := fmt.Sprintf("t%02d", i)
		scans, err := st.Scans(context.Background(), store.ScanFilter{Tenant: name})
		if err != nil {
			t.Fatal(err)
		}
		counts[name] = map[int64]int{}
		for _, sc := range scans {
			counts[name][sc.StartedAt.Truncate(interval).Unix()]++
			total++
		}
	}
	slots := 0
	for s := first; !s.After(last); s = s.Add(interval) {
		slots++
		for name, bySlot := range counts {
			if n := bySlot[s.Unix()]; n != 1 {
				t.Errorf("tenant %s slot %s: %d scans, want exactly 1", name, s.Format("15:04:05"), n)
			}
		}
	}
	for name, bySlot := range counts {
		for s, n := range bySlot {
			if n > 1 {
				t.Errorf("tenant %s slot %s: %d scans", name, time.Unix(s, 0).Format("15:04:05"), n)
			}
		}
	}
	if len(lost) == 0 {
		t.Error("the kill hit no scan in flight; the takeover path was not exercised")
	}
	t.Logf("%d tenants x %d slots checked, %d scans recorded in total, %d taken over after the kill", tenants, slots, total, len(lost))
}
