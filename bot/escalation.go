package bot

import (
	"context"
	"log/slog"

	"github.com/tierzero/tierzero"
)

// LogSink is the escalation sink when no ticketing system is configured:
// the agent has written the escalation to the tenant's audit, and LogSink
// puts it in the operator's log, where monitoring picks it up.
type LogSink struct{ Logger *slog.Logger }

var _ Escalations = LogSink{}

// Escalate logs the escalation (no secret: escalations hold none).
func (s LogSink) Escalate(ctx context.Context, e tierzero.Escalation) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	log.LogAttrs(ctx, slog.LevelWarn, "escalated to IT support",
		slog.String("tenant", string(e.Tenant)), slog.String("conversation", string(e.Conversation)),
		slog.String("requester", e.Requester.UPN), slog.String("cause", string(e.Cause)),
		slog.String("reason", e.Reason), slog.String("summary", e.Summary),
		slog.Int("checked", len(e.Checked)), slog.Int("tried", len(e.Tried)))
	return nil
}
