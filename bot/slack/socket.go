package slack

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Socket Mode: for an MSP without a public URL, Slack delivers the same
// events and clicks over a websocket that tierzero opens with the
// app-level token (apps.connections.open). slack-go reconnects when Slack
// asks (disconnect) or the socket drops or goes without pings; when it gives
// up (an invalid token, say), it is started again after a backoff. An event
// is acked once the desk has it (or it is ignored or refused): an event not
// acked is delivered again (retry_attempt), and the desk dedupes it on its
// event_id, as over HTTP.

// maxSocketBackoff bounds the wait before Socket Mode is started again.
const maxSocketBackoff = 5 * time.Minute

func (a *Adapter) runSocket(ctx context.Context) error {
	api := slack.New("", slack.OptionAPIURL(a.api), slack.OptionAppLevelToken(a.cfg.AppToken), slack.OptionHTTPClient(a.cfg.HTTPClient))
	opts := []socketmode.Option{socketmode.OptionLog(slog.NewLogLogger(a.log.Handler(), slog.LevelDebug))}
	if a.cfg.PingInterval > 0 {
		opts = append(opts, socketmode.OptionPingInterval(a.cfg.PingInterval))
	}
	sm := socketmode.New(api, opts...)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		wait := time.Second
		for {
			err := sm.RunContext(ctx)
			if ctx.Err() != nil {
				return
			}
			a.log.Error("slack socket mode stopped; starting it again", "err", err, "in", wait)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			wait = min(wait*2, maxSocketBackoff)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			<-stopped
			return nil
		case ev := <-sm.Events:
			a.socketEvent(ctx, sm, ev)
		}
	}
}

// socketEvent handles one event of the Socket Mode client.
func (a *Adapter) socketEvent(ctx context.Context, sm *socketmode.Client, ev socketmode.Event) {
	switch ev.Type {
	case socketmode.EventTypeConnecting:
		a.log.Debug("slack socket mode connecting")
	case socketmode.EventTypeConnected:
		a.log.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError:
		a.log.Warn("slack socket mode", "event", ev.Type, "detail", ev.Data)
	case socketmode.EventTypeEventsAPI:
		if ev.Request != nil {
			req := *ev.Request
			a.goBackground(func() { a.socketEventsAPI(ctx, sm, req.EnvelopeID, req.Payload) })
		}
	case socketmode.EventTypeErrorBadMessage:
		// An envelope slack-go could not parse (an inner event it does
		// not know): acked like over HTTP, after the same reading.
		bad, ok := ev.Data.(*socketmode.ErrorBadMessage)
		if !ok {
			return
		}
		var req socketmode.Request
		if err := json.Unmarshal(bad.Message, &req); err != nil || req.EnvelopeID == "" {
			a.log.Warn("slack socket mode: unreadable message", "err", bad.Cause)
			return
		}
		if req.Type == socketmode.RequestTypeEventsAPI {
			a.goBackground(func() { a.socketEventsAPI(ctx, sm, req.EnvelopeID, req.Payload) })
			return
		}
		a.ack(ctx, sm, req.EnvelopeID)
	case socketmode.EventTypeInteractive:
		if ev.Request == nil {
			return
		}
		a.ack(ctx, sm, ev.Request.EnvelopeID)
		if ic, ok := ev.Data.(slack.InteractionCallback); ok {
			a.goBackground(func() { a.interact(ctx, ic) })
		}
	case socketmode.EventTypeSlashCommand:
		if ev.Request != nil {
			a.ack(ctx, sm, ev.Request.EnvelopeID)
		}
	}
}

// socketEventsAPI handles an Events API envelope: acked once handled; on
// a failure it is not acked, and Slack delivers it again.
func (a *Adapter) socketEventsAPI(ctx context.Context, sm *socketmode.Client, envelopeID string, payload json.RawMessage) {
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		a.log.Warn("slack socket mode: malformed event; acked and ignored", "err", err)
		a.ack(ctx, sm, envelopeID)
		return
	}
	if env.Type == "event_callback" {
		if err := a.event(ctx, env, payload); err != nil {
			a.log.Error("slack event not accepted; slack will deliver it again", "event", env.EventID, "team", env.TeamID, "err", err)
			return
		}
	}
	a.ack(ctx, sm, envelopeID)
}

func (a *Adapter) ack(ctx context.Context, sm *socketmode.Client, envelopeID string) {
	if err := sm.AckCtx(ctx, envelopeID, nil); err != nil {
		a.log.Warn("slack socket mode ack", "envelope", envelopeID, "err", err)
	}
}
