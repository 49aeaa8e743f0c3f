// Package email sends notifications as multipart (plain text + HTML) mail
// over SMTP, upgrading the connection with STARTTLS before authenticating.
package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/notify"
)

// Notifier sends to one email destination.
type Notifier struct {
	name     string
	cfg      notify.EmailConfig
	password string
	tls      *tls.Config
	now      func() time.Time
}

// Options are optional dependencies.
type Options struct {
	// TLSConfig overrides the STARTTLS settings (tests use a private CA).
	TLSConfig *tls.Config
	Now       func() time.Time
}

// New builds the notifier for the destination named name.
func New(name string, cfg *notify.EmailConfig, o Options) (*Notifier, error) {
	dc := notify.DestinationConfig{Name: name, Type: notify.TypeEmail, Email: cfg}
	if err := dc.Validate(); err != nil {
		return nil, err
	}
	c := *cfg
	if c.Port == 0 {
		c.Port = 587
	}
	pw, _ := c.Password.Resolve()
	t := o.TLSConfig
	if t == nil {
		t = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t = t.Clone()
	if t.ServerName == "" {
		t.ServerName = c.Host
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Notifier{name: name, cfg: c, password: pw, tls: t, now: o.Now}, nil
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	msg, err := Compose(note, n.cfg.From, n.cfg.To, n.now())
	if err != nil {
		return false, fmt.Errorf("%w: compose: %w", notify.ErrRejected, err)
	}
	if err := n.send(ctx, msg); err != nil {
		return classify(err)
	}
	return false, nil
}

func (n *Notifier) send(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(n.cfg.Host, strconv.Itoa(n.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp connect %s: %w", addr, err)
	}
	// net/smtp has no context support; the deadline bounds the session.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := smtp.NewClient(conn, n.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("sharedrift"); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(n.tls); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	} else if !n.cfg.AllowPlaintext {
		return errNoTLS
	}
	if n.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.cfg.Username, n.password, n.cfg.Host)); err != nil {
			return fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	if err := c.Mail(bareAddress(n.cfg.From)); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	for _, to := range n.cfg.To {
		if err := c.Rcpt(bareAddress(to)); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", bareAddress(to), err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	return c.Quit()
}

var errNoTLS = errors.New("smtp server does not offer STARTTLS (set allow_plaintext only for a local relay)")

// classify: SMTP 5xx replies reject the message for good; 4xx replies,
// network errors and a missing STARTTLS are retried.
func classify(err error) (bool, error) {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return false, fmt.Errorf("%w: %w", notify.ErrRejected, err)
	}
	return true, err
}

func bareAddress(a string) string {
	if i := strings.LastIndex(a, "<"); i >= 0 {
		return strings.TrimSuffix(a[i+1:], ">")
	}
	return a
}

// Subject is the mail subject line of a notification.
func Subject(note *notify.Notification) string {
	if note.Digest != nil {
		return fmt.Sprintf("[sharedrift] %d findings in %s", note.Digest.Size(), note.Tenant)
	}
	if note.Finding == nil {
		return "[sharedrift] test notification"
	}
	f := note.Finding
	return fmt.Sprintf("[sharedrift] [%s] %s: %s (%s)", f.Severity, headline[note.Kind], title(f), f.Tenant)
}

var headline = map[notify.Kind]string{
	notify.KindNew:       "New drift",
	notify.KindEscalated: "Drift escalated",
	notify.KindReopened:  "Drift is back",
	notify.KindReminder:  "Still open",
	notify.KindResolved:  "Resolved",
	notify.KindTest:      "Test notification",
	// Remediation announcements.
	notify.KindRemediationCap:     "Remediation stopped",
	notify.KindRemediationApplied: "Fix applied",
}

func title(f *notify.Finding) string {
	if f.Title != "" {
		return f.Title
	}
	return f.RuleID
}

// Compose builds the RFC 5322 message: multipart/alternative with a
// plain-text and an HTML part, both quoted-printable UTF-8.
func Compose(note *notify.Notification, from string, to []string, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	sum := sha256.Sum256([]byte(note.Key + "|" + strings.Join(to, ",")))
	hdr := []string{
		"From: " + from,
		"To: " + strings.Join(to, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", Subject(note)),
		"Date: " + now.Format(time.RFC1123Z),
		// The same notification always gets the same Message-ID, so a
		// retried delivery can be spotted as a duplicate by mail clients.
		"Message-ID: <" + hex.EncodeToString(sum[:12]) + "@sharedrift>",
		"MIME-Version: 1.0",
		"Content-Type: multipart/alternative; boundary=" + mw.Boundary(),
	}
	for _, h := range hdr {
		buf.WriteString(h + "\r\n")
	}
	buf.WriteString("\r\n")
	for _, part := range []struct{ ctype, content string }{
		{"text/plain; charset=utf-8", plainText(note)},
		{"text/html; charset=utf-8", ""},
	} {
		content := part.content
		if strings.HasPrefix(part.ctype, "text/html") {
			var hb bytes.Buffer
			if err := htmlTmpl.Execute(&hb, view(note)); err != nil {
				return nil, fmt.Errorf("render html: %w", err)
			}
			content = hb.String()
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(content)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	buf.Write(body.Bytes())
	return buf.Bytes(), nil
}

type row struct{ K, V string }

type viewModel struct {
	Heading  string
	Message  string
	Rows     []row
	Fix      string
	Link     string
	LinkText string
	Items    []string
	Footer   string
}

func view(note *notify.Notification) viewModel {
	v := viewModel{Heading: Subject(note)}
	if note.Digest != nil {
		for _, f := range note.Digest.Findings {
			v.Items = append(v.Items, fmt.Sprintf("[%s] %s — %s", f.Severity, title(&f), objName(&f)))
		}
		if more := note.Digest.Size() - len(note.Digest.Findings); more > 0 {
			v.Items = append(v.Items, fmt.Sprintf("…and %d more.", more))
		}
		v.Footer = "Run `sharedrift findings list --tenant " + note.Tenant + "` for details."
		return v
	}
	if f := note.Finding; f != nil {
		v.Message = f.Message
		v.Rows = []row{{"Tenant", f.Tenant}, {"Severity", string(f.Severity)}, {"Rule", f.RuleID}, {"Section", string(f.Section)},
			{"Object", objName(f)}, {"Key", f.ObjectKey}, {"Expected", f.Expected}, {"Actual", f.Actual},
			{"First seen", f.FirstSeen.UTC().Format("2006-01-02 15:04 UTC")}}
		if note.Kind == notify.KindEscalated {
			v.Rows = append(v.Rows, row{"Previous severity", string(f.PreviousSeverity)})
		}
		if note.Kind != notify.KindResolved {
			v.Fix = f.Remediation
		}
		v.Link, v.LinkText = f.ObjectURL, objName(f)
	}
	return v
}

func objName(f *notify.Finding) string {
	if f.ObjectName != "" {
		return f.ObjectName
	}
	return f.ObjectKey
}

func plainText(note *notify.Notification) string {
	v := view(note)
	var b strings.Builder
	b.WriteString(v.Heading + "\n\n")
	if v.Message != "" {
		b.WriteString(v.Message + "\n\n")
	}
	for _, r := range v.Rows {
		if r.V != "" {
			fmt.Fprintf(&b, "%-12s %s\n", r.K+":", r.V)
		}
	}
	for _, it := range v.Items {
		b.WriteString("- " + it + "\n")
	}
	if v.Fix != "" {
		b.WriteString("\nFix: " + v.Fix + "\n")
	}
	if v.Link != "" {
		b.WriteString("\n" + v.Link + "\n")
	}
	if v.Footer != "" {
		b.WriteString("\n" + v.Footer + "\n")
	}
	return b.String()
}

var htmlTmpl = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif">
<h2>{{.Heading}}</h2>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Rows}}<table cellpadding="4">{{range .Rows}}{{if .V}}<tr><th align="left">{{.K}}</th><td>{{.V}}</td></tr>{{end}}{{end}}</table>{{end}}
{{if .Items}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Fix}}<p><strong>Fix:</strong> {{.Fix}}</p>{{end}}
{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
{{if .Footer}}<p style="color:#666">{{.Footer}}</p>{{end}}
</body></html>
`))
