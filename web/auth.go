package web

import (
	"html/template"
	"net/http"
	"sync"
	"time"
)

// One-time sign-in links: the demo (serve on the simulator, demo --web)
// prints one, since it has no identity provider. A link signs its holder in
// as the user it was made for, once, within oneTimeTTL.

// oneTimeTTL is how long a one-time sign-in link stays valid.
const oneTimeTTL = 15 * time.Minute

type oneTime struct {
	upn     string
	expires time.Time
}

// onceLinks are the one-time links not used yet, by token.
type onceLinks struct {
	mu sync.Mutex
	m  map[string]oneTime
}

// OneTimeLink returns the path (with its token) of a link that signs its
// holder in as upn once, within 15 minutes. upn must be a technician or a
// tenant admin of the configuration.
func (s *Server) OneTimeLink(upn string) (string, bool) {
	if _, ok := s.viewerOf(upn, ""); !ok {
		return "", false
	}
	tok := randomToken()
	s.links.mu.Lock()
	defer s.links.mu.Unlock()
	if s.links.m == nil {
		s.links.m = map[string]oneTime{}
	}
	now := s.cfg.Now()
	for k, o := range s.links.m {
		if !o.expires.After(now) {
			delete(s.links.m, k)
		}
	}
	s.links.m[tok] = oneTime{upn: upn, expires: now.Add(oneTimeTTL)}
	return Prefix + "/once?token=" + tok, true
}

// once shows a one-time link's page: whom it signs in as, and a button
// that does (onceSignIn). Opening the link spends nothing, so a chat
// client's link preview cannot use it up.
func (s *Server) once(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	s.links.mu.Lock()
	o, ok := s.links.m[tok]
	s.links.mu.Unlock()
	if !ok || tok == "" || !o.expires.After(s.cfg.Now()) {
		s.signInPage(w, r, http.StatusForbidden, "This sign-in link was used already or has expired. Ask for a new one.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	s.render(w, r, nil, "once", page{Title: "Sign in", Data: onceData{UPN: o.upn, Token: tok}})
}

type onceData struct{ UPN, Token string }

// onceSignIn signs in with a one-time link's token, which is then spent:
// a POST from the link's own page. One from another site is refused, so
// nobody can sign someone else's browser in as themselves with a link of
// their own.
func (s *Server) onceSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	if crossOrigin(r) {
		s.log.Warn("console refused a one-time sign-in from another site", "origin", r.Header.Get("Origin"))
		s.signInPage(w, r, http.StatusForbidden, "This sign-in did not come from the console's own page: open the link itself.")
		return
	}
	tok := r.PostForm.Get("token")
	s.links.mu.Lock()
	o, ok := s.links.m[tok]
	delete(s.links.m, tok)
	s.links.mu.Unlock()
	if !ok || tok == "" || !o.expires.After(s.cfg.Now()) {
		s.signInPage(w, r, http.StatusForbidden, "This sign-in link was used already or has expired. Ask for a new one.")
		return
	}
	v, ok := s.viewerOf(o.upn, "")
	if !ok {
		s.signInPage(w, r, http.StatusForbidden, "This account may no longer use the console.")
		return
	}
	s.begin(w, r, v, Prefix+"/")
}

// begin starts v's session (ending the one the browser sent, if any) and
// sends them to next. It answers 200 with a page that moves on by itself
// rather than a redirect: sign-in is reached by a cross-site navigation
// (from the provider, or a link opened in chat or mail), and a browser does
// not send a SameSite=Strict cookie on any request of a redirect chain a
// cross-site navigation started; the page's own navigation is same-site.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, v *Viewer, next string) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	s.sessions.start(v)
	s.setSession(w, v)
	s.log.Info("console sign-in", "user", v.UPN, "role", v.Role, "tenants", len(v.Tenants))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if err := continuePage.Execute(w, localNext(next)); err != nil {
		s.log.Error("render sign-in continue page", "err", err)
	}
}

// continuePage moves a browser just signed in on to the console, by a
// navigation of its own (a meta refresh: no script, the CSP forbids inline
// ones), with a link in case it does not.
var continuePage = template.Must(template.New("continue").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0;url={{.}}">
<title>Signed in · tierzero</title>
<link rel="stylesheet" href="/console/static/style.css">
</head>
<body>
<main>
<p>You are signed in. <a id="continue" href="{{.}}">Continue to the console</a>.</p>
</main>
</body>
</html>
`))

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *Viewer) {
	s.sessions.end(v.id)
	clearSession(w)
	s.signInPage(w, r, http.StatusOK, "You are signed out.")
}

// signInPage shows the sign-in page with a message.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	q := r.URL.Query()
	next := ""
	if n := q.Get("next"); n != "" {
		next = localNext(n)
	}
	// The page says only what the console says: no flash message from
	// the link that led here (anyone can send one to an anonymous page).
	if q.Has("flash") {
		q.Del("flash")
		u := *r.URL
		u.RawQuery = q.Encode()
		r = r.Clone(r.Context())
		r.URL = &u
	}
	s.render(w, r, nil, "signin", page{Title: "Sign in", Flash: msg, Data: signInData{OIDC: s.oidc != nil, Next: next}})
}

type signInData struct {
	OIDC bool
	Next string
}
