package app

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
)

// TestRunReloads: a reload with a valid file brings in its tenants; one
// with a broken file leaves the running configuration serving.
func TestRunReloads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "sharedrift.yaml")
	tenantsDir, _ := filepath.Abs(filepath.Join("..", "testdata", "tenants"))
	write := func(tenants ...string) {
		body := "store: {state_dir: " + filepath.Join(dir, "state") + "}\nhttp: {listen: \"" + addr + "\", tokens: [{name: r, scope: read, secret: \"env:RTOK\"}]}\nscheduler: {startup_scan: false}\ntenants:\n"
		for _, tn := range tenants {
			body += "  " + tn + ": {fixture: " + filepath.Join(tenantsDir, tn) + ", baseline: recommended, schedule: \"@every 1h\"}\n"
		}
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	load := func() (*config.Config, error) {
		return config.Load(config.Options{File: file, Env: []string{"RTOK=read-token-0123456789"}, RequireTenants: true})
	}
	write("fabrikam")
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reload := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, load, reload, ServiceOptions{OpenFixture: openFixture}) }()
	tenants := func(want int) []string {
		t.Helper()
		var names []string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/tenants", nil)
			req.Header.Set("Authorization", "Bearer read-token-0123456789")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			var body struct {
				Tenants []struct {
					Name string `json:"name"`
				} `json:"tenants"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				continue
			}
			names = names[:0]
			for _, tn := range body.Tenants {
				names = append(names, tn.Name)
			}
			sort.Strings(names)
			if len(names) == want {
				break
			}
		}
		return names
	}
	if got := tenants(1); len(got) != 1 || got[0] != "fabrikam" {
		t.Fatalf("before reload: tenants %v", got)
	}
	// A broken file: logged, the running configuration stays.
	if err := os.WriteFile(file, []byte("tenants: [nonsense\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	if got := tenants(1); len(got) != 1 || got[0] != "fabrikam" {
		t.Fatalf("after a broken reload: tenants %v", got)
	}
	write("contoso", "fabrikam")
	reload <- struct{}{}
	if got := tenants(2); len(got) != 2 || got[0] != "contoso" || got[1] != "fabrikam" {
		t.Fatalf("after reload: tenants %v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
