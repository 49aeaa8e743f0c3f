package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
)

// Cookie names. The login cookie carries the login form's CSRF token
// (double submit) before there is a session.
const (
	sessionCookie = "sharedrift_session"
	loginCookie   = "sharedrift_login"
)

// maxSessions bounds memory: the oldest sessions are dropped beyond it.
const maxSessions = 10000

type session struct {
	principal daemon.Principal
	csrf      string
	expires   time.Time
}

// sessions live in this process's memory: a restart signs everyone out,
// and several replicas need sticky sessions or the trusted header.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, now: now}
}

// randomToken is 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("console: no randomness: %v", err)) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenEqual compares two secrets in constant time; empty never matches.
func tokenEqual(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (s *sessions) create(p daemon.Principal) (id string, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxSessions {
		var oldest string
		for k, v := range s.m {
			if oldest == "" || v.expires.Before(s.m[oldest].expires) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	id = randomToken()
	sess = &session{principal: p, csrf: randomToken(), expires: now.Add(s.ttl)}
	s.m[id] = sess
	return id, sess
}

func (s *sessions) get(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[ck.Value]
	if !ok {
		return nil, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.m, ck.Value)
		return nil, false
	}
	return sess, true
}

func (s *sessions) drop(r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.m, ck.Value)
		s.mu.Unlock()
	}
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)}
	if value == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
	}
	http.SetCookie(w, ck)
}

type loginView struct {
	CSRF  string
	Error string
	Proxy bool
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, matched, allowed := c.proxy.identify(r); matched && allowed {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if _, ok := c.sessions.get(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	// An existing login token is kept: the browser's other requests (a
	// favicon, a second tab) must not invalidate the form on screen.
	tok := ""
	if ck, err := r.Cookie(loginCookie); err == nil && len(ck.Value) == 43 {
		tok = ck.Value
	} else {
		tok = randomToken()
	}
	setCookie(w, r, loginCookie, tok, c.o.Now().Add(time.Hour))
	c.render(w, r, code, "login", principal{}, "Sign in", loginView{CSRF: tok, Error: msg, Proxy: c.proxy != nil})
}

// login checks the form's API token against the configured tokens and
// starts a session with its name and scope.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.showLogin(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !tokenEqual(r.PostForm.Get("csrf"), ck.Value) {
		c.showLogin(w, r, http.StatusForbidden, "The sign-in form expired. Try again.")
		return
	}
	p, ok := c.o.Tokens.Check(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok {
		c.log.Warn("console sign-in refused", "remote", r.RemoteAddr)
		c.showLogin(w, r, http.StatusUnauthorized, "That token is not valid.")
		return
	}
	id, sess := c.sessions.create(p)
	setCookie(w, r, sessionCookie, id, sess.expires)
	setCookie(w, r, loginCookie, "", time.Time{})
	c.log.Info("console sign-in", "principal", "token:"+p.Name, "scope", string(p.Scope))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p principal) {
	if p.viaProxy {
		c.errorPage(w, r, http.StatusBadRequest, "You are signed in through the proxy; sign out there.")
		return
	}
	c.sessions.drop(r)
	setCookie(w, r, sessionCookie, "", time.Time{})
	c.log.Info("console sign-out", "principal", p.by())
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// trustedHeader signs in the user an authenticating proxy names in a
// header, when the request comes from one of the proxy's addresses.
type trustedHeader struct {
	header  string
	proxies []netip.Prefix
	users   map[string]config.Scope
	// key derives each user's CSRF token (no session is stored).
	key []byte
}

func newTrustedHeader(c config.TrustedHeader) (*trustedHeader, error) {
	if !c.Enabled {
		return nil, nil
	}
	t := &trustedHeader{header: c.Header, users: map[string]config.Scope{}, key: []byte(randomToken())}
	for _, p := range c.Proxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("http.console.trusted_header.proxies: %q: %w", p, err)
		}
		t.proxies = append(t.proxies, pfx)
	}
	for _, u := range c.Users {
		t.users[strings.ToLower(strings.TrimSpace(u.Name))] = u.Scope
	}
	if t.header == "" || len(t.proxies) == 0 || len(t.users) == 0 {
		return nil, fmt.Errorf("http.console.trusted_header: header, proxies and users are required when enabled")
	}
	return t, nil
}

// identify returns matched when the request came from a trusted proxy
// with the header set, and allowed when its user is on the allow list.
func (t *trustedHeader) identify(r *http.Request) (p principal, matched, allowed bool) {
	if t == nil {
		return principal{}, false, false
	}
	user := strings.ToLower(strings.TrimSpace(r.Header.Get(t.header)))
	if user == "" || !t.fromProxy(r) {
		return principal{}, false, false
	}
	scope, ok := t.users[user]
	if !ok {
		return principal{}, true, false
	}
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(user))
	return principal{Principal: daemon.Principal{Name: user, Scope: scope},
		csrf: base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), viaProxy: true}, true, true
}

func (t *trustedHeader) fromProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range t.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
