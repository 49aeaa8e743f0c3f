package email

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestComposeAttachment(t *testing.T) {
	data := bytes.Repeat([]byte("<p>report</p>"), 40)
	msg, err := ComposeAttachment("sharedrift <bot@example.org>", []string{"sec@example.org"}, "fabrikam review", "The weekly review.",
		"fabrikam.html", "text/html; charset=utf-8", data, time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("Subject"); got != "fabrikam review" {
		t.Errorf("subject %q", got)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("content type %q: %v", mt, err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		switch p.FileName() {
		case "":
			if !strings.Contains(string(b), "The weekly review.") {
				t.Errorf("text part %q", b)
			}
		case "fabrikam.html":
			// multipart.Part decodes quoted-printable only; base64 is ours.
			if p.Header.Get("Content-Transfer-Encoding") != "base64" || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
				t.Errorf("attachment headers %v", p.Header)
			}
		}
		parts = append(parts, p.FileName())
	}
	if len(parts) != 2 || parts[1] != "fabrikam.html" {
		t.Errorf("parts %q, want the text and fabrikam.html", parts)
	}
}
