package daemon

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLockStateDir holds the lock in a child process (flock is per open
// file, so a second lock in this process would not show the conflict the
// way a second daemon sees it).
func TestLockStateDir(t *testing.T) {
	// The child exits without cleaning up: it makes no directory of its own.
	if os.Getenv("SHAREDRIFT_LOCK_CHILD") != "" {
		if _, err := LockStateDir(os.Getenv("SHAREDRIFT_LOCK_CHILD")); err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = os.Stdin.Read(make([]byte, 1)) // hold until the parent closes stdin
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockStateDir$")
	cmd.Env = append(os.Environ(), "SHAREDRIFT_LOCK_CHILD="+dir)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("child did not lock: %q %v", buf, err)
	}
	_, err := LockStateDir(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another sharedrift daemon") || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("second lock: %v", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	release, err := LockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after the holder exited: %v", err)
	}
	release()
}
