package web

import (
	"errors"
	"net/http"
)

// oidcClient signs staff in with OpenID Connect (to be written: coreos/go-oidc).
type oidcClient struct{}

func newOIDC(OIDC) (*oidcClient, error) {
	return nil, errors.New("web: OpenID Connect sign-in is not built yet")
}

// login starts a sign-in.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	s.signInPage(w, r, http.StatusOK, "")
}

// callback completes a sign-in.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	s.signInPage(w, r, http.StatusForbidden, "Sign-in failed.")
}
