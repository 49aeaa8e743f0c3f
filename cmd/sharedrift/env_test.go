package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the package's tests a HOME and state directory of their
// own: a command run without --state-dir uses the default store, which
// must never be the real user's.
func TestMain(m *testing.M) {
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
