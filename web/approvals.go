package web

import "net/http"

func (s *Server) approvals(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}
