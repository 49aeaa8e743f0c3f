package store_test

import (
	"testing"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, opts store.Options) store.Store { return b.open(t, opts) })
		})
	}
}
