package web

import "net/http"

func (s *Server) audit(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}
