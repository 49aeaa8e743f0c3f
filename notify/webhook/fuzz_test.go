package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify checks Verify against arbitrary headers and bodies: it never
// panics, it accepts only a MAC of exactly what was signed (the timestamp
// as Sign writes it and the body) with a delivery header, if any, equal to
// the signed id, and it accepts what Sign produced in any hex case.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1741080600, 0)
	body := []byte(`{"schema":"sharedrift.notification/v1","id":"new/siem/fp1/s1","kind":"new","tenant":"fabrikam","at":"2025-03-04T09:30:00Z"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add(body, ts, Sign([]byte(secret), now.Unix(), body), "new/siem/fp1/s1", []byte{0})
	f.Add(body, ts, Sign([]byte(secret), now.Unix(), body), "", []byte{0xff})
	f.Add(body, "+"+ts, Sign([]byte(secret), now.Unix(), body), "new/siem/fp1/s2", []byte{0x0f})
	f.Add([]byte(`{}`), "0", "v1=00", "x", []byte{})
	f.Add([]byte(`not json`), "-1", "", "", []byte{1})
	f.Fuzz(func(t *testing.T, body []byte, tsText, sig, delivery string, mask []byte) {
		h := http.Header{}
		h.Set(HeaderTimestamp, tsText)
		h.Set(HeaderSignature, sig)
		h.Set(HeaderDelivery, delivery)
		if err := Verify([]byte(secret), h, body, now, 5*time.Minute); err == nil {
			n, perr := strconv.ParseInt(tsText, 10, 64)
			if perr != nil || strconv.FormatInt(n, 10) != tsText || strings.ToLower(sig) != Sign([]byte(secret), n, body) {
				t.Fatalf("accepted timestamp %q signature %q", tsText, sig)
			}
			var b struct {
				ID string `json:"id"`
			}
			if delivery != "" && (json.Unmarshal(body, &b) != nil || b.ID != delivery) {
				t.Fatalf("accepted delivery %q for a body without that id", delivery)
			}
		}

		// What Sign writes verifies, whatever the case of its hex.
		good := Sign([]byte(secret), now.Unix(), body)
		spelled := []byte(good)
		for i := 3; i < len(spelled); i++ {
			if len(mask) > 0 && mask[i%len(mask)]&1 != 0 {
				spelled[i] = strings.ToUpper(string(spelled[i]))[0]
			}
		}
		h = http.Header{}
		h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(HeaderSignature, string(spelled))
		if err := Verify([]byte(secret), h, body, now, 5*time.Minute); err != nil {
			t.Fatalf("Sign's own signature %q refused: %v", spelled, err)
		}
		if err := Verify([]byte(secret), h, append(body[:len(body):len(body)], ' '), now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("a changed body: %v, want ErrBadSignature", err)
		}
		if err := Verify([]byte("another-secret-entirely"), h, body, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("another secret: %v, want ErrBadSignature", err)
		}
	})
}
