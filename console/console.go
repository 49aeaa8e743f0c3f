package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/report"
	"github.com/sharedrift/sharedrift/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Store is what the console reads from the store, and the marks it sets
// on findings (through the same functions the API uses).
type Store interface {
	report.History
	daemon.FindingMarks
	FindingsPage(ctx context.Context, f store.FindingFilter) (store.FindingPage, error)
	Finding(ctx context.Context, tenantName, fingerprint string) (store.Finding, error)
	FindingEvents(ctx context.Context, tenantName, fingerprint string) ([]store.FindingEvent, error)
	FindingCounts(ctx context.Context, tenantName string) ([]store.FindingCount, error)
	OutboxMessages(ctx context.Context, f store.OutboxFilter) ([]store.OutboxMessage, error)
}

// Remediation lists, approves and rejects fix plans (app.Remediations).
type Remediation interface {
	Plans(ctx context.Context, tenantName string, states ...store.RemediationState) ([]remediate.PlanRecord, error)
	Approve(ctx context.Context, tenantName, fp, by string) error
	Reject(ctx context.Context, tenantName, fp, by string) error
}

// Reports renders a tenant's latest security review (app.Reports).
type Reports interface {
	Render(ctx context.Context, tenantName string, f report.Format) ([]byte, error)
}

// PDFReports prints a tenant's latest security review to PDF (app's
// Chromium printer). A failure of the printer itself wraps ErrPrint.
type PDFReports interface {
	RenderPDF(ctx context.Context, tenantName string) ([]byte, error)
}

// ErrPrint marks a PDF that could not be printed (the browser is missing,
// failed or timed out): the console answers 503, not a broken download.
var ErrPrint = errors.New("the PDF printer is unavailable")

// Tenants are the configured tenants and their schedule (the daemon).
type Tenants interface {
	Status() []daemon.TenantStatus
	HasTenant(name string) bool
}

// Options configures the console.
type Options struct {
	Store       Store
	Remediation Remediation
	Reports     Reports
	// PDF prints reports to PDF; nil when the server has no Chromium, and
	// then the console offers no PDF download.
	PDF     PDFReports
	Tenants Tenants
	// Tokens are the API tokens people sign in with.
	Tokens  *daemon.TokenSet
	Console config.Console
	Logger  *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// TenantClock is a tenant's clock, for windows such as "changed in the
	// last day" (a fixture tenant's recorded time); default Now.
	TenantClock func(tenantName string) time.Time
}

// Console is the web console's HTTP handler.
type Console struct {
	o        Options
	log      *slog.Logger
	pages    map[string]*template.Template
	sessions *sessions
	proxy    *trustedHeader
	mux      *http.ServeMux
	// searchBudget is searchBudget; tests make it small.
	searchBudget int
}

// New builds the console. It fails when a template does not parse or the
// trusted-header settings are unusable.
func New(o Options) (*Console, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TenantClock == nil {
		o.TenantClock = func(string) time.Time { return o.Now() }
	}
	if o.Store == nil || o.Tenants == nil {
		return nil, errors.New("console: a store and the tenants are required")
	}
	ttl := o.Console.SessionTTL.D()
	if ttl <= 0 {
		ttl = config.DefaultSessionTTL
	}
	c := &Console{o: o, log: o.Logger, sessions: newSessions(ttl, o.Now), searchBudget: searchBudget}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if c.proxy, err = newTrustedHeader(o.Console.TrustedHeader); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	m := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	m.Handle("GET /assets/", http.StripPrefix("/assets/", assetServer(http.FileServerFS(assets))))
	m.HandleFunc("GET /login", c.loginForm)
	m.HandleFunc("POST /login", c.login)
	m.Handle("POST /logout", c.act(c.logout, false))
	m.Handle("GET /{$}", c.see(c.overview))
	m.Handle("GET /findings", c.see(c.findings))
	m.Handle("GET /tenants/{tenant}/findings/{fp}", c.see(c.finding))
	m.Handle("GET /tenants/{tenant}/changes", c.see(c.changes))
	m.Handle("GET /tenants/{tenant}/scans", c.see(c.scans))
	m.Handle("GET /tenants/{tenant}/report", c.see(c.report))
	m.Handle("POST /tenants/{tenant}/findings/{fp}/ack", c.act(c.ack, true))
	m.Handle("POST /tenants/{tenant}/findings/{fp}/snooze", c.act(c.snooze, true))
	m.Handle("POST /tenants/{tenant}/findings/{fp}/accept", c.act(c.accept, true))
	m.Handle("POST /tenants/{tenant}/findings/{fp}/plan/approve", c.act(c.approve, true))
	m.Handle("POST /tenants/{tenant}/findings/{fp}/plan/reject", c.act(c.reject, true))
	m.Handle("/", c.see(func(w http.ResponseWriter, r *http.Request, _ principal) {
		c.errorPage(w, r, http.StatusNotFound, "There is no page at this address.")
	}))
	c.mux = m
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Every asset is served from here; nothing may load from anywhere else.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

func assetServer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// principal is who a request acts as; by is what the audit records.
type principal struct {
	daemon.Principal
	// csrf is the token every form of this principal carries.
	csrf string
	// viaProxy is set for a trusted-header sign-in (no logout: the proxy
	// owns the session).
	viaProxy bool
}

// by names the principal in the audit: the token's name or the proxy's user.
func (p principal) by() string {
	if p.viaProxy {
		return "console:user:" + p.Name
	}
	return "console:token:" + p.Name
}

type pageFunc func(w http.ResponseWriter, r *http.Request, p principal)

// see admits a signed-in principal of any scope; others go to the login
// form (GET) or get a 401 page.
func (c *Console) see(next pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := c.who(w, r)
		if !ok {
			return
		}
		next(w, r, p)
	})
}

// act admits a POST from a signed-in principal whose form carries its
// CSRF token; admin scope when admin is set. A refused action changes
// nothing.
func (c *Console) act(next pageFunc, admin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := c.who(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			c.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if !tokenEqual(r.PostForm.Get("csrf"), p.csrf) {
			c.log.Warn("console form without a valid CSRF token", "path", r.URL.Path, "principal", p.by())
			c.errorPage(w, r, http.StatusForbidden, "This form has expired or did not come from this console. Reload the page and try again.")
			return
		}
		if admin && !p.CanAct() {
			c.log.Warn("console action refused: read scope", "path", r.URL.Path, "principal", p.by())
			c.errorPage(w, r, http.StatusForbidden, "Your sign-in can look but not act: this needs an admin token.")
			return
		}
		next(w, r, p)
	})
}

// who finds the request's principal: a trusted proxy's user, else the
// session cookie. Without either it answers (redirect or 401) and
// returns false.
func (c *Console) who(w http.ResponseWriter, r *http.Request) (principal, bool) {
	if p, matched, allowed := c.proxy.identify(r); matched {
		if !allowed {
			c.errorPage(w, r, http.StatusForbidden, "Your account is not on this console's allow list.")
			return principal{}, false
		}
		return p, true
	}
	if s, ok := c.sessions.get(r); ok {
		return principal{Principal: s.principal, csrf: s.csrf}, true
	}
	if r.Method == http.MethodGet {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return principal{}, false
	}
	c.errorPage(w, r, http.StatusUnauthorized, "Sign in first.")
	return principal{}, false
}

// secure reports whether the client reached us over TLS, directly or
// through a proxy that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
