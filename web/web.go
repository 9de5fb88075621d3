// Package web is the web console for MSP staff and client admins, served by
// `tierzero serve` under /console: sign-in with OpenID Connect (or a
// one-time link in the demo), the approvals waiting for the viewer, the
// conversations and escalations of each tenant, the audit trail with its
// chain's verification, the tenants' health and policy, cross-tenant
// operations, and the economics report.
//
// Pages are rendered on the server with html/template; the only script is
// one small embedded file. Every page is behind a session (a random id in a
// Secure, HttpOnly, SameSite=Strict cookie, kept on the server, with an
// expiry); every form carries the session's CSRF token; every response
// carries a strict Content-Security-Policy. What a viewer may see and do is
// decided here from configuration (a technician: the tenants policy admits
// them to; a tenant admin: their own tenant) and again by the desk and the
// Guard when they act: a decision goes through bot.Desk.Decide, an
// operation through bot.Desk.Handle, exactly as from chat.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// Prefix is where the console is mounted.
const Prefix = "/console"

// Desk is what the console asks of the conversation engine (bot.Desk).
type Desk interface {
	// Decide records an approver's vote through the Guard's checks.
	Decide(ctx context.Context, v bot.Vote) (bot.Verdict, error)
	// Handle answers a message synchronously (operations).
	Handle(ctx context.Context, in tierzero.Inbound) (tierzero.Reply, error)
	// Problems are the tenants whose Graph credentials fail.
	Problems() map[tierzero.TenantID]string
}

// Store is what the console reads of the tenants' files (store.DB).
type Store interface {
	ListApprovals(ctx context.Context, tenant tierzero.TenantID, state tierzero.ApprovalState) ([]tierzero.Approval, error)
	Approval(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Approval, error)
	Audit(ctx context.Context, tenant tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error
	Tickets(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.TicketRecord, error)
	// Verify checks a tenant's audit chain and returns how many records
	// it holds.
	Verify(ctx context.Context, tenant tierzero.TenantID) (int, error)
}

// Policy is the policy set in effect (policy.Set, adapted in cmd).
type Policy interface {
	// Check decides a request written as `tierzero policy check` reads
	// it (JSON or YAML): the decision with the facts it used.
	Check(request []byte) (tierzero.Decision, error)
	// Layers names the policy layers in effect for a tenant, outermost
	// first (global, tenant, department files).
	Layers(tenant tierzero.TenantID) []string
}

// Graph is what the console reads of the tenants through Microsoft Graph
// (graph.Client, adapted in cmd).
type Graph interface {
	// Capabilities reports whether the tenant has Entra ID P1 and P2.
	Capabilities(ctx context.Context, tenant tierzero.TenantID) (p1, p2 bool, err error)
	// Seats is the number of licensed, enabled users of the tenant.
	Seats(ctx context.Context, tenant tierzero.TenantID) (int, error)
}

// Baselines is what the console shows of the tenants' baselines: serve's
// drift watch (cmd/tierzero drift.go).
type Baselines interface {
	// Baseline is tenant's baseline state; ok is false before the first
	// check (and with nothing reported before).
	Baseline(tenant tierzero.TenantID) (s BaselineState, ok bool)
}

// BaselineState is a tenant's baseline as last checked.
type BaselineState struct {
	// Checked is when the last check ran (zero: none since the start;
	// what is shown was reported at Since).
	Checked time.Time
	// Since is when the drift shown (or being back in line) was first
	// reported.
	Since time.Time
	// Known: Drift is what the tenant differs in (none: in line).
	Known bool
	Drift []BaselineDrift
	// Awaiting are the items that await the enable phase (report-only
	// policies to switch on while security defaults still protect the
	// tenant): not drift; a tenant with only these is in line.
	Awaiting []BaselineDrift
	// Problem is why the last check failed, "" when it did not.
	Problem string
}

// BaselineDrift is one difference from the baseline.
type BaselineDrift struct {
	Kind, Resource, Name, Why string
}

// OIDC is the OpenID Connect provider staff sign in with: the MSP's Entra
// ID tenant, or any provider.
type OIDC struct {
	// Issuer is the provider's issuer URL; its discovery document and
	// signing keys are fetched from it.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this console's callback as registered with the
	// provider: https://HOST/console/callback.
	RedirectURL string
	// UsernameClaim is the ID token claim that holds the user principal
	// name (default preferred_username; then upn, then email).
	UsernameClaim string
	// HTTPClient reaches the provider (nil: http.DefaultClient).
	HTTPClient *http.Client
}

// ReportConfig prices what tierzero saves, for the economics report.
type ReportConfig struct {
	// MinutesPerCategory is the technician time a ticket of each category
	// takes by hand; DefaultMinutes when a category has none.
	MinutesPerCategory map[string]float64
	DefaultMinutes     float64
	// SeatPrice is what the MSP charges per seat a month; TechnicianCost
	// what a technician costs a month; TechnicianHours the hours a month a
	// technician works tickets. Currency is whatever the MSP bills in.
	SeatPrice       float64
	TechnicianCost  float64
	TechnicianHours float64
	Currency        string
	// TicketsPerSeatMonth is the MSP's own ticket volume, tickets a seat
	// a month, for the MSP model; 0: the volume the audit shows (which
	// understates it while tierzero serves only some of the users).
	TicketsPerSeatMonth float64
}

// Config is what a Server needs.
type Config struct {
	Desk   Desk
	Store  Store
	Staff  bot.Staff
	Reach  bot.Reach
	Policy Policy
	Graph  Graph // nil: capabilities and seats are unknown
	// Baselines is serve's baseline drift watch; nil: the tenants page
	// shows no baseline state.
	Baselines Baselines
	// Channels names the chat channels installed in each tenant.
	Channels map[tierzero.TenantID][]tierzero.Channel
	// OIDC is the sign-in provider; nil: only one-time links (the demo).
	OIDC *OIDC
	// SessionTTL is how long a session lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	Report     ReportConfig
	Now        func() time.Time
	Logger     *slog.Logger
}

// DefaultSessionTTL is how long a console session lasts by default.
const DefaultSessionTTL = 8 * time.Hour

// Server is the web console.
type Server struct {
	cfg      Config
	log      *slog.Logger
	pages    map[string]*template.Template
	sessions *sessions
	oidc     *oidcClient
	links    onceLinks
	web      *responder
}

//go:embed templates/*.html static/*
var assets embed.FS

// New returns the console for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Desk == nil || cfg.Store == nil || cfg.Policy == nil {
		return nil, errors.New("web: the console needs a desk, a store and the policy")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	s := &Server{cfg: cfg, log: cfg.Logger, sessions: newSessions(cfg.Now, cfg.SessionTTL), web: newResponder()}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	if cfg.OIDC != nil {
		o, err := newOIDC(*cfg.OIDC)
		if err != nil {
			return nil, err
		}
		s.oidc = o
	}
	return s, nil
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// Mount adds the console's routes under Prefix to mux.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.Handle(Prefix+"/", s.Handler())
	mux.Handle(Prefix, http.RedirectHandler(Prefix+"/", http.StatusFound))
}

// Handler serves the console (paths start with Prefix).
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	m.Handle("GET "+Prefix+"/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // files only, no listing
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	// Sign-in (auth.go): open to anonymous requests.
	m.HandleFunc("GET "+Prefix+"/login", s.login)
	m.HandleFunc("GET "+Prefix+"/callback", s.callback)
	m.HandleFunc("GET "+Prefix+"/once", s.once)
	m.HandleFunc("POST "+Prefix+"/once", s.onceSignIn)
	m.HandleFunc("POST "+Prefix+"/logout", s.signedIn(s.logout))
	// Pages: signed in; a POST needs the session's CSRF token.
	m.HandleFunc("GET "+Prefix+"/{$}", s.signedIn(func(w http.ResponseWriter, r *http.Request, v *Viewer) {
		http.Redirect(w, r, Prefix+"/approvals", http.StatusFound)
	}))
	m.HandleFunc("GET "+Prefix+"/approvals", s.signedIn(s.approvals))
	m.HandleFunc("POST "+Prefix+"/approvals/decide", s.signedIn(s.decide))
	m.HandleFunc("GET "+Prefix+"/conversations", s.signedIn(s.conversations))
	m.HandleFunc("GET "+Prefix+"/conversations/{tenant}/{id}", s.signedIn(s.conversation))
	m.HandleFunc("GET "+Prefix+"/audit", s.signedIn(s.audit))
	m.HandleFunc("GET "+Prefix+"/audit/export", s.signedIn(s.auditExport))
	m.HandleFunc("GET "+Prefix+"/tenants", s.signedIn(s.tenants))
	m.HandleFunc("POST "+Prefix+"/tenants/check", s.signedIn(s.policyCheck))
	m.HandleFunc("GET "+Prefix+"/operations", s.signedIn(s.operations))
	m.HandleFunc("POST "+Prefix+"/operations", s.signedIn(s.operate))
	m.HandleFunc("GET "+Prefix+"/report", s.signedIn(s.report))
	return s.secure(m)
}

// Responder delivers the console's channel (tierzero.ChannelWeb): replies
// and private notes to the technician's operations page.
func (s *Server) Responder() bot.Responder { return s.web }

// secure sets the headers every response carries: a strict CSP (scripts,
// styles and images from the console only; no framing, no plugins; forms
// post only here), no sniffing, no referrer, no caching of pages that hold
// tenant data.
func (s *Server) secure(h http.Handler) http.Handler {
	const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, Prefix+"/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// page is what every page template gets: the viewer, the page's name (for
// the navigation), its CSRF token, a flash message and the page's data.
type page struct {
	Title  string
	Nav    string
	Viewer *Viewer
	CSRF   string
	Flash  string
	Error  string
	Data   any
}

// render writes a page with the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *Viewer, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		s.fail(w, r, fmt.Errorf("no page %q", name))
		return
	}
	p.Viewer, p.Nav = v, name
	if v != nil {
		p.CSRF = v.csrf
	}
	if p.Flash == "" && v != nil {
		p.Flash = v.message(r, "flash")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

// maxMessage bounds a message carried in a link (signedURL).
const maxMessage = 300

// signedURL is path with a message for v under key, signed with a secret
// of v's session: a message that a link made elsewhere carries is not shown
// (message), so nobody can put their words on a viewer's page.
func signedURL(v *Viewer, path, key, msg string) string {
	msg = opTruncate(tierzero.PrintableLine(msg), maxMessage)
	return path + "?" + url.Values{key: {msg}, key + "_mac": {v.mac(key, msg)}}.Encode()
}

// message returns the message under key in r's query when v's session
// signed it (signedURL), else "".
func (v *Viewer) message(r *http.Request, key string) string {
	q := r.URL.Query()
	msg := q.Get(key)
	if msg == "" || len(msg) > 4*maxMessage || !hmac.Equal([]byte(q.Get(key+"_mac")), []byte(v.mac(key, msg))) {
		return ""
	}
	return msg
}

// mac is the signature of a message of v's session.
func (v *Viewer) mac(key, msg string) string {
	h := hmac.New(sha256.New, []byte(v.csrf))
	h.Write([]byte("message\x00" + key + "\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// fail answers an internal error: the detail goes to the log, the viewer
// sees a safe message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("console", "path", r.URL.Path, "err", err)
	http.Error(w, "Something went wrong; it has been logged.", http.StatusInternalServerError)
}

// refuse answers a request the viewer may not make, without saying whether
// what they named exists.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, v *Viewer, msg string) {
	user := ""
	if v != nil {
		user = v.UPN
	}
	s.log.Warn("console refused", "path", r.URL.Path, "user", user, "reason", msg)
	http.Error(w, msg, http.StatusForbidden)
}

// writeJSON answers with a JSON document.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// funcs are the template helpers every page may use.
var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"printable": tierzero.PrintableLine,
	"join":      strings.Join,
	"has":       slices.Contains[[]string],
}
