package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is written by the demo and read by the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoCycles: without --once the demo scans on its schedule, changes
// the fake tenant after the first scan, and the second cycle shows exactly
// one new and one resolved finding, also through the API it serves.
func TestDemoCycles(t *testing.T) {
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	fixture := filepath.Join("..", "..", "testdata", "tenants", "fabrikam")
	go func() {
		code <- run(ctx, []string{"demo", "--interval", "1s", "--listen", "127.0.0.1:0", "--state-dir", t.TempDir(), "--fixture", fixture}, &out, &errb)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "See the drift") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	got := out.String()
	cycle2 := regexp.MustCompile(`Cycle 2 \(scan 2, complete\): (\d+) open, 1 new, 0 reopened, 1 resolved`)
	if !cycle2.MatchString(got) {
		cancel()
		<-code
		t.Fatalf("no second cycle with one new and one resolved finding:\n%s\nstderr:\n%s", got, errb.String())
	}
	for _, want := range []string{"links.anyone_on_confidential", "new Anyone link", "removed gmail.com",
		"entra.invitation_allowed_domains", "links.anyone_link"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	api := regexp.MustCompile(`API listening on (http://\S+) \(admin token ([0-9a-f]+)\)`).FindStringSubmatch(got)
	if api == nil {
		t.Fatalf("no API address printed:\n%s", got)
	}
	req, _ := http.NewRequest("GET", api[1]+"/api/v1/tenants/fabrikam/changes", nil)
	req.Header.Set("Authorization", "Bearer "+api[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "gmail.com") {
		t.Errorf("changes API: %d %s", resp.StatusCode, body)
	}

	// The console answers at / and signs in with the printed token.
	if !strings.Contains(got, "Console: open "+api[1]+"/ in a browser") {
		t.Errorf("demo does not print the console address:\n%s", got)
	}
	resp, err = http.Get(api[1] + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `name="token"`) {
		t.Errorf("console login page: %d", resp.StatusCode)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("demo exited %d after cancel; stderr:\n%s", c, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15s of cancel")
	}
}
