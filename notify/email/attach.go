package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
)

// SendFile mails a file as an attachment with a plain-text note (scheduled
// reports).
func (n *Notifier) SendFile(ctx context.Context, name, contentType, title, text string, data []byte) error {
	msg, err := ComposeAttachment(n.cfg.From, n.cfg.To, title, text, name, contentType, data, n.now())
	if err != nil {
		return fmt.Errorf("destination %q: compose %s: %w", n.name, name, err)
	}
	if err := n.send(ctx, msg); err != nil {
		return fmt.Errorf("destination %q: send %s: %w", n.name, name, err)
	}
	return nil
}

// ComposeAttachment builds a multipart/mixed message: the text, then the
// file base64-encoded as an attachment.
func ComposeAttachment(from string, to []string, subject, text, name, contentType string, data []byte, now time.Time) ([]byte, error) {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	var buf bytes.Buffer
	for _, h := range []string{
		"From: " + from,
		"To: " + strings.Join(to, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(id) + "@sharedrift>",
		"MIME-Version: 1.0",
		"Content-Type: multipart/mixed; boundary=" + mw.Boundary(),
	} {
		buf.WriteString(h + "\r\n")
	}
	buf.WriteString("\r\n")

	pw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}

	aw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(strings.SplitN(contentType, ";", 2)[0], map[string]string{"name": name})},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return nil, err
	}
	// Lines of 76 characters, as MIME requires.
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		if _, err := aw.Write([]byte(enc[:76] + "\r\n")); err != nil {
			return nil, err
		}
		enc = enc[76:]
	}
	if _, err := aw.Write([]byte(enc + "\r\n")); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	buf.Write(body.Bytes())
	return buf.Bytes(), nil
}
