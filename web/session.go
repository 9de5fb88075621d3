package web

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
)

// sessionCookie names the console's session cookie. Its value is a random
// id; the session itself is kept here, so signing out ends it everywhere.
const sessionCookie = "tierzero_console"

// maxSessions bounds the sessions kept; the oldest is dropped past it.
const maxSessions = 10000

// Viewer is who is signed in, and what configuration lets them see: an MSP
// technician, the tenants policy admits them to; a client's tenant admin,
// their own tenant.
type Viewer struct {
	UPN  string
	Name string
	Role tierzero.Role // RoleMSPTechnician or RoleTenantAdmin
	// Home is where the viewer votes and acts from: the MSP's tenant for a
	// technician, their own tenant for an admin.
	Home tierzero.TenantID
	// Tenants are the client tenants the viewer may see, sorted.
	Tenants []tierzero.TenantID

	csrf    string
	id      string
	expires time.Time
}

// Sees reports whether the viewer may see tenant t.
func (v *Viewer) Sees(t tierzero.TenantID) bool { return slices.Contains(v.Tenants, t) }

// displayName is the viewer's name as a platform would give it: "" when
// only their user name is known.
func (v *Viewer) displayName() string {
	if v.Name == v.UPN {
		return ""
	}
	return v.Name
}

// Technician reports whether the viewer is an MSP technician.
func (v *Viewer) Technician() bool { return v.Role == tierzero.RoleMSPTechnician }

// viewerOf returns the viewer a verified user name is, from configuration:
// a technician of the MSP, or an admin of one or more client tenants. A
// user who is neither is not let in.
func (s *Server) viewerOf(upn, name string) (*Viewer, bool) {
	st := s.cfg.Staff
	if req, ok := st.Technician(upn); ok {
		v := &Viewer{UPN: req.UPN, Name: req.DisplayName, Role: tierzero.RoleMSPTechnician, Home: st.Home}
		if s.cfg.Reach != nil {
			v.Tenants = slices.Clone(s.cfg.Reach.Across(req))
		}
		slices.Sort(v.Tenants)
		v.Name = cmp.Or(v.Name, name, v.UPN)
		return v, true
	}
	if name == "" {
		name = upn // a one-time link knows no display name
	}
	v := &Viewer{UPN: upn, Name: name, Role: tierzero.RoleTenantAdmin}
	for _, t := range st.Clients {
		if slices.ContainsFunc(st.Admins[t], func(a string) bool { return strings.EqualFold(a, upn) }) {
			v.Tenants = append(v.Tenants, t)
		}
	}
	if len(v.Tenants) == 0 {
		return nil, false
	}
	slices.Sort(v.Tenants)
	v.Home = v.Tenants[0]
	return v, true
}

// sessions are the signed-in viewers, by session id.
type sessions struct {
	now func() time.Time
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*Viewer
}

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	return &sessions{now: now, ttl: ttl, m: map[string]*Viewer{}}
}

// start begins a session for v and returns its id.
func (ss *sessions) start(v *Viewer) string {
	v.id, v.csrf = randomToken(), randomToken()
	v.expires = ss.now().Add(ss.ttl)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.m) >= maxSessions {
		var oldest *Viewer
		for id, o := range ss.m {
			if !o.expires.After(now) {
				delete(ss.m, id)
				continue
			}
			if oldest == nil || o.expires.Before(oldest.expires) {
				oldest = o
			}
		}
		if len(ss.m) >= maxSessions && oldest != nil {
			delete(ss.m, oldest.id)
		}
	}
	ss.m[v.id] = v
	return v.id
}

// get returns the live session id names.
func (ss *sessions) get(id string) (*Viewer, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	v, ok := ss.m[id]
	if !ok {
		return nil, false
	}
	if !v.expires.After(ss.now()) {
		delete(ss.m, id)
		return nil, false
	}
	return v, true
}

// end ends a session.
func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// setSession sets the session cookie: Secure (browsers treat
// http://localhost as a secure origin, so the demo works over plain http
// on loopback), HttpOnly, SameSite=Strict, for the console's path only,
// expiring with the session.
func (s *Server) setSession(w http.ResponseWriter, v *Viewer) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: v.id, Path: Prefix + "/", Expires: v.expires,
		MaxAge: int(s.cfg.SessionTTL / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// clearSession removes the session cookie.
func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: Prefix + "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// viewerHandler is a page handler for a signed-in viewer.
type viewerHandler func(w http.ResponseWriter, r *http.Request, v *Viewer)

// signedIn serves h to a signed-in viewer. An anonymous GET is redirected
// to sign-in (and back here after it); anything else is refused. A POST
// must carry the session's CSRF token in the form field csrf, and come from
// this origin when the browser says where it comes from.
func (s *Server) signedIn(h viewerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var v *Viewer
		if c, err := r.Cookie(sessionCookie); err == nil {
			v, _ = s.sessions.get(c.Value)
		}
		if v == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "The form could not be read.", http.StatusBadRequest)
				return
			}
			if !validCSRF(v, r.PostForm.Get("csrf")) || crossOrigin(r) {
				s.refuse(w, r, v, "This form has expired or did not come from this console: reload the page and try again.")
				return
			}
		}
		h(w, r, v)
	}
}

// maxForm bounds a form's body.
const maxForm = 256 << 10

// validCSRF reports whether token is the session's CSRF token.
func validCSRF(v *Viewer, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(v.csrf)) == 1
}

// crossOrigin reports whether the browser says the request comes from
// another site (Sec-Fetch-Site, else Origin against Host).
func crossOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	case "same-origin", "none":
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == "null"
	}
	u, err := url.Parse(o)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}

// localNext returns next when it is a path of the console, else the
// console's start page: sign-in never redirects elsewhere. Next must start
// with the console's prefix, name no scheme or host, and hold no dot
// segment (also escaped: browsers resolve %2e%2e as ..), backslash or
// control character, which browsers could resolve outside the console.
func localNext(next string) string {
	home := Prefix + "/"
	if len(next) > 2048 || !strings.HasPrefix(next, home) || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return home
	}
	for _, c := range next {
		if c < 0x21 || c == 0x7f {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, home) {
		return home
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." || strings.ContainsRune(seg, '\\') {
			return home
		}
	}
	return next
}
