package main

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// TestMain gives the package's tests a HOME and state directory of their
// own: a command run without --state-dir uses the default store, which
// must never be the real user's.
func TestMain(m *testing.M) {
	if os.Getenv(envRunAsCLI) == "1" {
		// Run as the sharedrift binary, for tests that need a process.
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	home, err := os.MkdirTemp("", "sharedrift-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("HOME", home)
	os.Unsetenv("XDG_STATE_HOME")
	for _, v := range []string{envStoreDSN, envStateDir, envConfig} {
		os.Unsetenv(v)
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}
