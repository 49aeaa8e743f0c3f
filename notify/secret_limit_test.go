package notify

import (
	"errors"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/internal/readcap"
)

func TestSecretFileCapped(t *testing.T) {
	_, err := Secret("file:/dev/zero").Resolve()
	if !errors.Is(err, readcap.ErrTooLarge) || !strings.Contains(err.Error(), "/dev/zero") {
		t.Fatalf("Resolve = %v; want the size limit naming the file", err)
	}
}
