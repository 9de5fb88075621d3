package web

import "net/http"

func (s *Server) operations(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}

func (s *Server) operate(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}
