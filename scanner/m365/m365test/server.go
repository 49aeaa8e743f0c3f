package m365test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/internal/readcap"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/graphschema"
)

// Options configures a fake tenant.
type Options struct {
	// PageSize caps every collection page (default 100); small values
	// exercise paging.
	PageSize int
	// Now is the server clock for token expiry (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Latency delays every HTTP request ($batch sub-requests add none). It
	// is simulated time: with a TimeScale the real delay is that much
	// shorter, like every other wait of the simulation.
	Latency time.Duration
	// Budget is SharePoint's budget in resource units per minute and
	// EntraBudget Entra's per 10 seconds; 0 means unlimited. A request the
	// budget cannot pay is answered 429 with Retry-After.
	Budget      int
	EntraBudget int
	// TimeScale makes budgets refill that many times faster than real
	// time; the client should then use Clock() for its waits.
	TimeScale float64
	// RESTCost is the RU a SharePoint REST read (a site's groups or users) costs:
	// Microsoft publishes none (default 2, a multi-item query).
	RESTCost int
	// Observe, when set, is called after every request and $batch
	// sub-request is answered; tests use it to see every request a client
	// sent and what it was answered.
	Observe func(Exchanged)
	// ShiftTo, when set and the fixture has a recorded moment (Meta.Now),
	// moves every RFC 3339 timestamp of the fixture forward or back by the
	// whole number of days that puts the recorded moment within the day
	// before ShiftTo, and drops Meta.Now: the fixture then runs on the wall
	// clock, with every age (link expiry, last sign-in) as recorded, give or
	// take that day. Whole days keep the shift the same for every ShiftTo
	// of one day, so the same anchor always serves the same timestamps. The
	// demo uses it so that its scans carry real times.
	ShiftTo time.Time
}

// Exchanged is one request the fake answered: its method, its URI (path
// and query; a $batch sub-request's relative to the version root, as
// sent), whether it came inside a $batch, and the answer's status and
// body.
type Exchanged struct {
	Method string
	URI    string
	Batch  bool
	Status int
	Body   []byte
}

// Meta is the fixture's tenant.json.
type Meta struct {
	// Tenant is the name snapshots of this tenant carry (usually the
	// initial domain); it defaults to SharePointTenant.
	Tenant           string `json:"tenant,omitempty"`
	TenantID         string `json:"tenantId"`
	SharePointTenant string `json:"sharepointTenant"`
	// Now is the fixture's clock: when it was recorded. Scans of the
	// fixture use it as their collection time so that age-based rules give
	// the same answers on every run.
	Now *time.Time `json:"now,omitempty"`
	// Roles, when set, are the application roles per audience ("graph",
	// "sharepoint", "exchange") that the default client's tokens carry, and
	// DirectoryRoles the Entra role template ids (the wids claim); doctor
	// reads both.
	Roles          map[m365.Audience][]string `json:"roles,omitempty"`
	DirectoryRoles []string                   `json:"directoryRoles,omitempty"`
}

// Server is a running fake tenant.
type Server struct {
	// Faults injects failures per endpoint.
	Faults *Faults

	opts Options
	meta Meta
	srv  *httptest.Server

	meter *meterState
	clock *Clock
	gen   *Generated

	schema *graphschema.Schema

	mu     sync.Mutex
	docs   map[string]any // fixture key (path without .json) → decoded body
	delta  map[string]*driveDelta
	calls  map[string]int
	nextID int

	// siteStates are the sites as each sites delta link saw them.
	siteStates []map[string]string

	// Change notification subscriptions (subscriptions.go).
	subOnce  sync.Once
	subState *subscriptions
}

// New loads the fixture directory and starts the server.
func New(dir string, opts Options) (*Server, error) {
	return start(dirFixture(dir), opts)
}

// NewFS is New for a fixture held in fsys (its root is the fixture
// directory), such as one embedded in the binary; name labels errors.
func NewFS(fsys fs.FS, name string, opts Options) (*Server, error) {
	return start(fsFixture{files: fsys, name: name}, opts)
}

func start(src fixtureSource, opts Options) (*Server, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := newServer(opts)
	if err := s.load(src); err != nil {
		return nil, err
	}
	if !opts.ShiftTo.IsZero() && s.meta.Now != nil {
		d := wholeDays(opts.ShiftTo.Sub(*s.meta.Now))
		for k, v := range s.docs {
			s.docs[k] = shiftTimes(v, d)
		}
		s.meta.Now = nil
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s, nil
}

func newServer(opts Options) *Server {
	s := &Server{Faults: &Faults{}, opts: opts, schema: graphschema.MustLoad(), docs: map[string]any{}, delta: map[string]*driveDelta{}, calls: map[string]int{}}
	s.clock = newClock(opts.TimeScale)
	s.meter = newMeterState(opts, s.clock)
	return s
}

// Clock is the server's clock for budgets (faster than real time when
// Options.TimeScale is set).
func (s *Server) Clock() *Clock { return s.clock }

// Usage returns what the server served and charged since the start or
// the last ResetUsage.
func (s *Server) Usage() Usage { return s.meter.snapshot() }

// ResetUsage zeroes the usage counters (budgets keep their state).
func (s *Server) ResetUsage() { s.meter.reset() }

// fixtureSource is where a fixture's files come from: a directory on disk
// or a file system such as an embedded one.
type fixtureSource interface {
	fsys() fs.FS
	// open opens a file by its slash-separated path in the fixture.
	open(p string) (io.ReadCloser, error)
	// label names the fixture, or one of its files, in errors.
	label(p string) string
}

// dirFixture is a fixture directory. Each file is streamed into the
// decoder through the readcap.FixtureBody cap, since a directory dropped in
// from elsewhere may hold anything: a device is refused at its first byte, a
// huge file at the cap.
type dirFixture string

func (d dirFixture) fsys() fs.FS { return os.DirFS(string(d)) }
func (d dirFixture) open(p string) (io.ReadCloser, error) {
	return readcap.Open(d.label(p), readcap.FixtureBody)
}
func (d dirFixture) label(p string) string {
	if p == "." {
		return string(d)
	}
	return filepath.Join(string(d), filepath.FromSlash(p))
}

// fsFixture is a fixture in a file system, under the same cap.
type fsFixture struct {
	files fs.FS
	name  string
}

func (f fsFixture) fsys() fs.FS { return f.files }
func (f fsFixture) open(p string) (io.ReadCloser, error) {
	r, err := f.files.Open(p)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{readcap.NewReader(r, f.label(p), readcap.FixtureBody), r}, nil
}
func (f fsFixture) label(p string) string {
	if p == "." {
		return f.name
	}
	return f.name + "/" + p
}

// load reads the fixture.
func (s *Server) load(src fixtureSource) error {
	dir := src.label(".")
	metaPath := src.label("tenant.json")
	mf, err := src.open("tenant.json")
	if err != nil {
		return fmt.Errorf("fixture %s: %w", dir, err)
	}
	data, err := io.ReadAll(mf)
	mf.Close()
	if err != nil {
		return fmt.Errorf("fixture %s: %w", dir, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s.meta); err != nil {
		return fmt.Errorf("%s: %w", metaPath, err)
	}
	if s.meta.TenantID == "" || s.meta.SharePointTenant == "" {
		return fmt.Errorf("%s: tenantId and sharepointTenant are required", metaPath)
	}
	if s.meta.Tenant == "" {
		s.meta.Tenant = s.meta.SharePointTenant
	}
	return fs.WalkDir(src.fsys(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("fixture %s: %w", dir, err)
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") || p == "tenant.json" {
			return nil
		}
		key := strings.TrimSuffix(p, ".json")
		f, err := src.open(p)
		if err != nil {
			return fmt.Errorf("fixture %s: %w", dir, err)
		}
		v, err := decodeAnyFrom(f)
		f.Close()
		if errors.Is(err, readcap.ErrTooLarge) {
			return fmt.Errorf("fixture %s: %w", dir, err)
		}
		if err != nil {
			return fmt.Errorf("fixture %s: %w", src.label(p), err)
		}
		if err := s.checkFixture(key, v); err != nil {
			return fmt.Errorf("fixture %s: %w", src.label(p), err)
		}
		s.docs[key] = v
		return nil
	})
}

// wholeDays rounds d down to whole days.
func wholeDays(d time.Duration) time.Duration {
	const day = 24 * time.Hour
	n := d / day
	if d < 0 && d%day != 0 {
		n--
	}
	return n * day
}

// shiftTimes returns v with every string that is an RFC 3339 time moved by
// d, in the same layout (UTC, seconds or fractions as written). Other
// strings, such as CSOM's /Date(…)/ placeholders, are left alone.
func shiftTimes(v any, d time.Duration) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = shiftTimes(e, d)
		}
	case []any:
		for i, e := range x {
			x[i] = shiftTimes(e, d)
		}
	case string:
		if len(x) < 20 || x[4] != '-' || x[10] != 'T' {
			return x
		}
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return x
		}
		layout := time.RFC3339
		if strings.Contains(x, ".") {
			layout = time.RFC3339Nano
		}
		return t.Add(d).UTC().Format(layout)
	}
	return v
}

// decodeAny decodes JSON keeping numbers exact.
func decodeAny(raw []byte) (any, error) { return decodeAnyFrom(bytes.NewReader(raw)) }

// decodeAnyFrom decodes the one JSON value r holds, keeping numbers exact.
func decodeAnyFrom(r io.Reader) (any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL; all three services live under it.
func (s *Server) URL() string { return s.srv.URL }

// Meta returns the fixture's tenant identity.
func (s *Server) Meta() Meta { return s.meta }

// Endpoints points every service at the server while keeping the real
// token audiences of the global cloud.
func (s *Server) Endpoints() m365.Endpoints {
	c, _ := m365.LookupCloud("global")
	e := c.Endpoints(s.meta.SharePointTenant)
	e.Graph, e.SharePointAdmin, e.Exchange = s.srv.URL, s.srv.URL, s.srv.URL
	e.Teams, e.Fabric = s.srv.URL, s.srv.URL
	e.SharePoint, e.OneDrive = s.srv.URL, s.srv.URL
	return e
}

// ClientOptions returns client options aimed at the server with a static
// token; callers may change any field before m365.New.
func (s *Server) ClientOptions() m365.Options {
	var tokens m365.TokenProvider = m365.StaticToken("fake-token")
	if s.meta.Roles != nil {
		tokens = s.Tokens(s.meta.Roles)
	}
	return m365.Options{
		TenantID:   s.meta.TenantID,
		Endpoints:  s.Endpoints(),
		Tokens:     tokens,
		HTTPClient: s.srv.Client(),
	}
}

// Client returns a collector client aimed at the server.
func (s *Server) Client() (*m365.Client, error) { return m365.New(s.ClientOptions()) }

// Calls returns how many requests each endpoint key received (batched
// sub-requests included).
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Credential is how an application proved itself to Entra when it got a
// token; the token carries it (appidacr: "1" client secret, "2"
// certificate).
type Credential string

// Credentials.
const (
	CredentialCertificate Credential = "2"
	CredentialSecret      Credential = "1"
)

// Token mints an unsigned JWT for aud carrying roles, as Entra would for an
// application authenticated with a certificate; the server checks its
// audience and expiry.
func (s *Server) Token(aud m365.Audience, ttl time.Duration, roles ...string) string {
	return s.TokenWith(CredentialCertificate, aud, ttl, roles...)
}

// TokenWith is Token for an application that authenticated with cred.
// SharePoint refuses app-only tokens got with a client secret.
func (s *Server) TokenWith(cred Credential, aud m365.Audience, ttl time.Duration, roles ...string) string {
	e := s.Endpoints()
	var audURL string
	switch aud {
	case m365.AudienceSharePoint:
		audURL = e.SharePointAudience
	case m365.AudienceExchange:
		audURL = e.ExchangeAudience
	case m365.AudienceTeams:
		audURL = e.TeamsAudience
	case m365.AudienceFabric:
		audURL = e.FabricAudience
	default:
		audURL = e.GraphAudience
	}
	claims := map[string]any{"aud": audURL, "tid": s.meta.TenantID, "exp": s.opts.Now().Add(ttl).Unix(), "roles": roles, "appidacr": string(cred)}
	if len(s.meta.DirectoryRoles) > 0 {
		claims["wids"] = s.meta.DirectoryRoles
	}
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "."
}

// Tokens is a token provider minting certificate-based tokens with the
// given roles per audience, one hour long.
func (s *Server) Tokens(roles map[m365.Audience][]string) m365.TokenProvider {
	return s.TokensWith(CredentialCertificate, roles)
}

// TokensWith is Tokens for an application that authenticates with cred.
func (s *Server) TokensWith(cred Credential, roles map[m365.Audience][]string) m365.TokenProvider {
	return tokenFunc(func(scope string) string {
		e := s.Endpoints()
		for _, a := range m365.Audiences {
			if e.Scope(a) == scope {
				return s.TokenWith(cred, a, time.Hour, roles[a]...)
			}
		}
		return s.TokenWith(cred, m365.AudienceGraph, time.Hour, roles[m365.AudienceGraph]...)
	})
}

// Doc returns a copy of the fixture document at key (e.g.
// "graph/v1.0/policies/authorizationPolicy"), reflecting writes.
func (s *Server) Doc(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.docs[key]
	if !ok {
		return nil, false
	}
	b, _ := json.Marshal(v)
	c, _ := decodeAny(b)
	return c, true
}

// serveHTTP authenticates, applies faults and routes a request.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if s.opts.Latency > 0 {
		time.Sleep(s.clock.Real(s.opts.Latency))
	}
	rr := s.handle(r.Method, r.URL.RequestURI(), r.Header, body)
	s.write(w, rr)
}

// reply is a response before it is written; faults may alter it.
type reply struct {
	status   int
	header   http.Header
	body     []byte
	truncate bool
	delay    time.Duration
}

func (s *Server) write(w http.ResponseWriter, rr *reply) {
	if rr.delay > 0 {
		time.Sleep(rr.delay)
	}
	for k, v := range rr.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" && len(rr.body) > 0 {
		w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8")
	}
	w.Header().Set("request-id", "00000000-0000-0000-0000-000000000001")
	if rr.truncate {
		// Promise the whole body, send half and drop the connection.
		w.Header().Set("Content-Length", fmt.Sprint(len(rr.body)))
		w.WriteHeader(rr.status)
		_, _ = w.Write(rr.body[:len(rr.body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	w.WriteHeader(rr.status)
	_, _ = w.Write(rr.body)
}

// handle serves one HTTP request.
func (s *Server) handle(method, uri string, h http.Header, body []byte) *reply {
	return s.handleReq(method, uri, h, body, false)
}

// handleReq serves one request or $batch sub-request.
func (s *Server) handleReq(method, uri string, h http.Header, body []byte, sub bool) *reply {
	rr := s.answer(method, uri, h, body, sub)
	if s.opts.Observe != nil {
		s.opts.Observe(Exchanged{Method: method, URI: uri, Batch: sub, Status: rr.status, Body: rr.body})
	}
	return rr
}

// answer serves one request or $batch sub-request.
func (s *Server) answer(method, uri string, h http.Header, body []byte, sub bool) *reply {
	path, rawQuery, _ := strings.Cut(uri, "?")
	kind := serviceOf(path)
	if kind == svcToken {
		return s.tokenEndpoint(method, path, h, body)
	}
	key := s.endpointKey(kind, method, path, body)
	if s.gen == nil {
		// A generated tenant has millions of distinct paths: Usage counts
		// its requests by kind instead.
		s.mu.Lock()
		s.calls[key]++
		s.mu.Unlock()
	}
	if rr := s.authenticate(kind, h); rr != nil {
		return rr
	}
	f, hit := s.Faults.take(key)
	if hit && f.before() {
		return s.faultReply(kind, key, f)
	}
	throttled, budget := s.meter.charge(kind, method, path, rawQuery, sub)
	if throttled != nil {
		return throttled
	}
	var rr *reply
	switch {
	case kind == svcGraph && method == http.MethodGet:
		rr = s.checkGraphGet(path, rawQuery, h)
	case kind == svcGraph && (method == http.MethodPatch || method == http.MethodPost) && !strings.HasSuffix(path, "/$batch"):
		rr = s.checkGraphWrite(path, body)
	}
	switch {
	case rr != nil:
	case kind == svcGraph && isSubscriptionPath(path):
		rr = s.subscriptionRequest(method, path, h, body)
	case kind == svcGraph && s.gen != nil:
		rr = s.gen.graph(s, method, path, rawQuery, h, body)
		if rr == nil {
			rr = s.graph(method, path, rawQuery, h, body)
		}
	case kind == svcGraph:
		rr = s.graph(method, path, rawQuery, h, body)
	case kind == svcCSOM:
		rr = s.csom(method, body)
	case kind == svcExchange:
		rr = s.exchange(method, path, rawQuery, h, body)
	case kind == svcSPREST:
		rr = s.spREST(method, path, rawQuery, h, body)
	case kind == svcTeams:
		rr = s.teams(method, path, rawQuery, h)
	case kind == svcFabric:
		rr = s.fabric(method, path, rawQuery)
	default:
		rr = graphError(http.StatusNotFound, "UnknownEndpoint", "no such endpoint: "+path)
	}
	if hit {
		f.after(key, rr)
	}
	for k, v := range budget {
		rr.header[k] = v
	}
	return rr
}

type service int

const (
	svcUnknown service = iota
	svcGraph
	svcCSOM
	svcExchange
	svcSPREST
	svcToken
	svcTeams
	svcFabric
)

func serviceOf(path string) service {
	switch {
	case strings.HasPrefix(path, "/v1.0/"), strings.HasPrefix(path, "/beta/"):
		return svcGraph
	case path == "/_vti_bin/client.svc/ProcessQuery":
		return svcCSOM
	case strings.HasPrefix(path, "/adminapi/"):
		return svcExchange
	case strings.Contains(path, "/_api/"):
		return svcSPREST
	case strings.HasSuffix(path, "/oauth2/v2.0/token"):
		return svcToken
	case strings.HasPrefix(path, "/Skype.Policy/"):
		return svcTeams
	case strings.HasPrefix(path, "/v1/"):
		return svcFabric
	}
	return svcUnknown
}

// endpointKey names a request for faults and counters: "GET /v1.0/users",
// "CSOM Tenant", "CSOM GetSitePropertiesFromSharePoint", "EXO Get-SharingPolicy".
func (s *Server) endpointKey(kind service, method, path string, body []byte) string {
	switch kind {
	case svcCSOM:
		return "CSOM " + csomOperation(body)
	case svcExchange:
		var in cmdletInput
		_ = json.Unmarshal(body, &in)
		return "EXO " + in.CmdletInput.CmdletName
	}
	return method + " " + path
}

// authenticate enforces a bearer token; a JWT must be for the service's
// audience and unexpired.
func (s *Server) authenticate(kind service, h http.Header) *reply {
	auth := h.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return authError(kind, "InvalidAuthenticationToken", "Access token is empty.")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil // opaque test token
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return authError(kind, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
	}
	var c struct {
		Aud      string   `json:"aud"`
		Exp      int64    `json:"exp"`
		AppIDACR string   `json:"appidacr"`
		Scp      string   `json:"scp"`
		Roles    []string `json:"roles"`
		Wids     []string `json:"wids"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return authError(kind, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
	}
	if c.Exp != 0 && s.opts.Now().Unix() >= c.Exp {
		return authError(kind, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	}
	e := s.Endpoints()
	want := map[service]string{svcGraph: e.GraphAudience, svcCSOM: e.SharePointAudience, svcSPREST: e.SharePointAudience, svcExchange: e.ExchangeAudience,
		svcTeams: e.TeamsAudience, svcFabric: e.FabricAudience}[kind]
	if c.Aud != "" && want != "" && strings.TrimRight(c.Aud, "/") != want {
		return authError(kind, "InvalidAuthenticationToken", "Invalid audience.")
	}
	if (kind == svcCSOM || kind == svcSPREST) && c.Scp == "" && c.AppIDACR == string(CredentialSecret) {
		return unsupportedAppOnly()
	}
	// The Teams admin API authorizes an application by its directory role.
	if kind == svcTeams && c.Scp == "" && !slices.ContainsFunc(c.Wids, func(w string) bool { return slices.Contains(teamsRoleIDs, strings.ToLower(w)) }) {
		return teamsError(http.StatusForbidden, "Forbidden", msgTeamsNoRole)
	}
	return nil
}

func authError(kind service, code, msg string) *reply {
	rr := graphError(http.StatusUnauthorized, code, msg)
	if kind == svcCSOM {
		rr.header.Set("x-ms-diagnostics", "3000003;reason=\""+msg+"\";category=\"invalid_client\"")
	}
	rr.header.Set("WWW-Authenticate", `Bearer realm="", error="invalid_token", error_description="`+msg+`"`)
	return rr
}

// graphError is Graph's error body (also used by the Exchange admin API).
func graphError(status int, code, msg string) *reply {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"date": "2025-01-01T00:00:00", "request-id": "00000000-0000-0000-0000-000000000001", "client-request-id": "00000000-0000-0000-0000-000000000002"},
	}})
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

func jsonReply(status int, v any) *reply {
	b, err := json.Marshal(v)
	if err != nil {
		return graphError(http.StatusInternalServerError, "generalException", err.Error())
	}
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json; odata.metadata=minimal"}}, body: b}
}

func noContent() *reply { return &reply{status: http.StatusNoContent, header: http.Header{}} }

func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.nextID)
}

type tokenFunc func(scope string) string

func (f tokenFunc) Token(_ context.Context, scope string) (string, error) {
	return f(scope), nil
}
