package web

import "net/http"

func (s *Server) report(w http.ResponseWriter, r *http.Request, v *Viewer) {
	http.Error(w, "not built yet", http.StatusNotImplemented)
}

// DefaultReport is the report's pricing when the configuration says
// nothing: minutes per ticket by category from typical MSP service desk
// figures, and a seat price, technician cost and ticket hours of a small
// MSP. Every figure is a configuration key (report.*).
func DefaultReport() ReportConfig {
	return ReportConfig{
		MinutesPerCategory: map[string]float64{},
		DefaultMinutes:     15,
		SeatPrice:          120,
		TechnicianCost:     6000,
		TechnicianHours:    120,
		Currency:           "USD",
	}
}
