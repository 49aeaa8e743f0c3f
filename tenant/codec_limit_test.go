package tenant

import (
	"errors"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/internal/readcap"
)

// TestDecodeOverLimit: a snapshot cut off by its size cap is refused with
// the cap's error, which names the file, not taken for malformed JSON.
func TestDecodeOverLimit(t *testing.T) {
	doc := strings.Replace(minimal, `"status":{}`, `"status":{},"sites":[`+strings.Repeat(`{"id":"s","url":"https://x/sites/a"},`, 1000)+`{"id":"t","url":"https://x/sites/b"}]`, 1)
	limit := int64(len(doc) / 2)
	s, err := Decode(readcap.NewReader(strings.NewReader(doc), "big.json", limit), "big.json")
	if s != nil || !errors.Is(err, readcap.ErrTooLarge) || err.Error() != "big.json: larger than the "+readcap.Size(limit)+" size limit" {
		t.Fatalf("Decode = %v, %v; want the size limit error", s, err)
	}
	if _, err := Decode(readcap.NewReader(strings.NewReader(minimal), "small.json", int64(len(minimal))), "small.json"); err != nil {
		t.Fatalf("a snapshot at exactly the limit: %v", err)
	}
}
