package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
	"github.com/sharedrift/sharedrift/store"
)

func writeNotifyConfig(t *testing.T, apiURL, channel string) (path, stateDir string) {
	t.Helper()
	dir := t.TempDir()
	stateDir = filepath.Join(dir, "state")
	path = filepath.Join(dir, "sharedrift.yaml")
	cfg := `store:
  state_dir: ` + stateDir + `
notify:
  destinations:
    - name: ops-slack
      type: slack
      slack:
        token: env:SHAREDRIFT_TEST_SLACK_TOKEN
        channel: ` + channel + `
        api_url: ` + apiURL + `
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, stateDir
}

func TestNotifyTest(t *testing.T) {
	srv := slackfake.New()
	defer srv.Close()
	srv.SetChannels("C0ALERTS1")
	t.Setenv("SHAREDRIFT_TEST_SLACK_TOKEN", "xoxb-test-token")

	cfg, _ := writeNotifyConfig(t, srv.APIURL(), "C0ALERTS1")
	out, errOut, code := cli(t, "notify", "test", "--config", cfg, "--destination", "ops-slack")
	if code != 0 || !strings.Contains(out, "sent a test notification to ops-slack") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Blocks, "Test notification") {
		t.Fatalf("messages: %+v", msgs)
	}

	tests := []struct {
		name    string
		channel string
		dest    string
		want    string
	}{
		{"unknown destination", "C0ALERTS1", "pager", `"pager" is not configured`},
		{"unknown channel", "C0NOPE999", "ops-slack", "channel_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := writeNotifyConfig(t, srv.APIURL(), tc.channel)
			_, errOut, code := cli(t, "notify", "test", "--config", cfg, "--destination", tc.dest)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
			if tc.dest == "ops-slack" && !strings.Contains(errOut, `destination "ops-slack"`) {
				t.Errorf("error does not name the destination: %s", errOut)
			}
		})
	}
}

func TestNotifyStatus(t *testing.T) {
	t.Setenv("SHAREDRIFT_TEST_SLACK_TOKEN", "xoxb-test-token")
	cfg, stateDir := writeNotifyConfig(t, "http://127.0.0.1:1/api/", "C0ALERTS1")
	ctx := context.Background()
	st, err := store.OpenStateDir(ctx, stateDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.Enqueue(ctx,
		store.OutboxMessage{IdempotencyKey: "new/ops-slack/a/1", Destination: "ops-slack", Kind: string(notify.KindNew), Payload: []byte("{}")},
		store.OutboxMessage{IdempotencyKey: "new/ops-slack/b/1", Destination: "ops-slack", Kind: string(notify.KindNew), Payload: []byte("{}")})
	if err != nil || n != 2 {
		t.Fatalf("enqueue: %d %v", n, err)
	}
	ms, err := st.ClaimDue(ctx, "test", 1, 60e9)
	if err != nil || len(ms) != 1 {
		t.Fatal(err)
	}
	if err := st.MarkDead(ctx, ms[0].ID, `destination "ops-slack": slack chat.postMessage: rejected by destination: invalid_blocks`); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, errOut, code := cli(t, "notify", "status", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"ops-slack dead 1", "ops-slack pending 1", "invalid_blocks"} {
		if !strings.Contains(flat, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, _, code = cli(t, "notify", "status", "--config", cfg, "--format", "json")
	var got notifyStatus
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Destinations) != 2 || len(got.DeadLetters) != 1 {
		t.Fatalf("json status (exit %d): %s", code, out)
	}
}
