package web

import "net/http"

func (s *Server) conversations(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}

func (s *Server) conversation(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}
