package email

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/tenant"
)

// testCert makes a self-signed certificate for 127.0.0.1.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// smtpServer is a minimal SMTP server: EHLO, STARTTLS, AUTH PLAIN, MAIL,
// RCPT, DATA, QUIT. It records what happened.
type smtpServer struct {
	ln       net.Listener
	cert     tls.Certificate
	starttls bool
	rcptCode string // reply to RCPT, default "250 ok"

	mu       sync.Mutex
	tlsUsed  bool
	authUser string
	from     string
	to       []string
	data     string
}

func (s *smtpServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpServer) session(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), c
	say := func(l string) { _, _ = io.WriteString(w, l+"\r\n") }
	say("220 smtp.test ESMTP")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		up := strings.ToUpper(cmd)
		switch {
		case strings.HasPrefix(up, "EHLO"):
			if s.starttls && !secure {
				say("250-smtp.test")
				say("250 STARTTLS")
			} else {
				say("250-smtp.test")
				say("250 AUTH PLAIN")
			}
		case up == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, w, r, secure = tc, tc, bufio.NewReader(tc), true
			s.mu.Lock()
			s.tlsUsed = true
			s.mu.Unlock()
		case strings.HasPrefix(up, "AUTH PLAIN"):
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(cmd[len("AUTH PLAIN"):]))
			parts := strings.Split(string(raw), "\x00")
			s.mu.Lock()
			if len(parts) == 3 {
				s.authUser = parts[1] + ":" + parts[2]
			}
			s.mu.Unlock()
			say("235 ok")
		case strings.HasPrefix(up, "MAIL FROM:"):
			s.mu.Lock()
			s.from = strings.Trim(cmd[len("MAIL FROM:"):], "<> ")
			s.mu.Unlock()
			say("250 ok")
		case strings.HasPrefix(up, "RCPT TO:"):
			if s.rcptCode != "" {
				say(s.rcptCode)
				continue
			}
			s.mu.Lock()
			s.to = append(s.to, strings.Trim(cmd[len("RCPT TO:"):], "<> "))
			s.mu.Unlock()
			say("250 ok")
		case up == "DATA":
			say("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.data = b.String()
			s.mu.Unlock()
			say("250 queued")
		case up == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func start(t *testing.T, starttls bool) (*smtpServer, *x509.CertPool) {
	cert, pool := testCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, cert: cert, starttls: starttls}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s, pool
}

func notifier(t *testing.T, s *smtpServer, pool *x509.CertPool) *Notifier {
	port := s.ln.Addr().(*net.TCPAddr).Port
	n, err := New("sec-mail", &notify.EmailConfig{Host: "127.0.0.1", Port: port, Username: "relay", Password: "pw-123",
		From: "sharedrift <sharedrift@example.com>", To: []string{"sec@example.com", "ops@example.com"}},
		Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func note() *notify.Notification {
	f := notify.Finding{Fingerprint: "fp1", Tenant: "fabrikam", RuleID: "ENTRA-INVITE-EVERYONE", Title: "Anyone may invite guests",
		Severity: tenant.SeverityHigh, ObjectKey: "entra:authorizationPolicy", Expected: "adminsAndGuestInviters", Actual: "everyone",
		Remediation: "Set guest invite settings to admins & guest inviters.", FirstSeen: time.Unix(1741080600, 0)}
	return &notify.Notification{Kind: notify.KindNew, Key: "new/sec-mail/fp1/s1", Tenant: "fabrikam", Finding: &f}
}

func TestSendOverStartTLS(t *testing.T) {
	s, pool := start(t, true)
	if _, err := notifier(t, s, pool).Notify(context.Background(), note()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tlsUsed || s.authUser != "relay:pw-123" || s.from != "sharedrift@example.com" || len(s.to) != 2 {
		t.Fatalf("session: tls=%v auth=%q from=%q to=%v", s.tlsUsed, s.authUser, s.from, s.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(s.data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subj != "[sharedrift] [high] New drift: Anyone may invite guests (fabrikam)" {
		t.Errorf("subject = %q", subj)
	}
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("content type %q", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(quotedprintable.NewReader(p))
		types = append(types, p.Header.Get("Content-Type"))
		if !strings.Contains(string(b), "everyone") || !strings.Contains(string(b), "guest inviters") {
			t.Errorf("%s part lacks the finding:\n%s", p.Header.Get("Content-Type"), b)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") && !strings.Contains(string(b), "admins &amp; guest inviters") {
			t.Errorf("html part not escaped:\n%s", b)
		}
	}
	if strings.Join(types, ",") != "text/plain; charset=utf-8,text/html; charset=utf-8" {
		t.Errorf("parts = %v", types)
	}
}

func TestRefusesPlaintextAndReportsRejections(t *testing.T) {
	s, pool := start(t, false)
	retry, err := notifier(t, s, pool).Notify(context.Background(), note())
	if err == nil || !retry || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("no STARTTLS: retry=%v err=%v", retry, err)
	}
	s2, pool2 := start(t, true)
	s2.rcptCode = "550 5.1.1 mailbox unavailable"
	retry, err = notifier(t, s2, pool2).Notify(context.Background(), note())
	if err == nil || retry || !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "mailbox unavailable") {
		t.Fatalf("550: retry=%v err=%v", retry, err)
	}
}
