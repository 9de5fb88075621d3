package bot

import (
	"context"
	"time"

	"github.com/tierzero/tierzero"
)

// maxBackoff bounds the wait between two delivery attempts.
const maxBackoff = 10 * time.Minute

// send delivers o now; when that fails (the platform is down, the channel
// is not served by this process), o is kept in its tenant's durable outbox
// and tried again later, until OutboxTTL.
func (d *Desk) send(ctx context.Context, o tierzero.Outbound) {
	if o.ID == "" {
		o.ID = newID()
	}
	if o.Created.IsZero() {
		o.Created = d.cfg.Now()
	}
	err := d.attempt(ctx, o)
	if err == nil {
		return
	}
	d.log.Warn("delivery failed; kept for retry", "tenant", o.Tenant, "channel", o.Channel, "err", err)
	d.later(context.WithoutCancel(ctx), o)
}

// later records a failed attempt and keeps o for the next one.
func (d *Desk) later(ctx context.Context, o tierzero.Outbound) {
	o.Attempts++
	wait := time.Second << min(o.Attempts, 10)
	o.Next = d.cfg.Now().Add(min(wait, maxBackoff))
	if err := d.cfg.Store.PutOutbound(ctx, o.Tenant, o); err != nil {
		d.log.Error("keep undelivered message", "tenant", o.Tenant, "err", err)
		return
	}
	time.AfterFunc(min(wait, maxBackoff), func() {
		select {
		case d.kick <- struct{}{}:
		default:
		}
	})
}

// attempt delivers o through its channel's responder.
func (d *Desk) attempt(ctx context.Context, o tierzero.Outbound) error {
	r, ok := d.responder(o.Channel)
	if !ok {
		d.obs.Delivery(o.Channel, "no_channel")
		return tierzero.Errorf(tierzero.EUnavailable, "no responder for channel %q in this process", o.Channel)
	}
	to := Address{Tenant: o.Tenant, Channel: o.Channel, Conversation: o.Conversation, Ref: o.Ref, To: o.To}
	var err error
	if o.Private() {
		if ref, ok, rerr := d.cfg.Store.Ref(ctx, o.Tenant, userKey(o.Channel, o.To.UPN)); rerr == nil && ok {
			to.Ref = ref // the requester's own conversation with the bot
		}
		err = r.Private(ctx, to, tierzero.PrivateNote{To: o.To, Secret: o.Secret})
	} else {
		err = r.Reply(ctx, to, o.Text)
	}
	if err != nil {
		d.obs.Delivery(o.Channel, "failed")
		return err
	}
	d.obs.Delivery(o.Channel, "ok")
	return nil
}

// retry tries the outbox of every tenant again: what is due, until it is
// too old.
func (d *Desk) retry(ctx context.Context) {
	now := d.cfg.Now()
	for _, t := range d.tenants() {
		box, err := d.cfg.Store.Outbox(ctx, t)
		if err != nil {
			d.log.Warn("read outbox", "tenant", t, "err", err)
			continue
		}
		for _, o := range box {
			if ctx.Err() != nil {
				return
			}
			if now.Sub(o.Created) > d.cfg.OutboxTTL {
				d.undeliverable(ctx, o)
				continue
			}
			if now.Before(o.Next) {
				continue
			}
			if err := d.attempt(ctx, o); err != nil {
				d.log.Warn("delivery failed again", "tenant", t, "channel", o.Channel, "attempts", o.Attempts+1, "err", err)
				d.later(ctx, o)
				continue
			}
			if err := d.cfg.Store.DeleteOutbound(ctx, t, o.ID); err != nil {
				d.log.Error("remove delivered message", "tenant", t, "err", err)
			}
		}
	}
}

// undeliverable gives up on o, on the record.
func (d *Desk) undeliverable(ctx context.Context, o tierzero.Outbound) {
	what := "a message"
	if o.Private() {
		what = "a private " + o.Secret.Label
	}
	ev := tierzero.AuditEvent{Kind: tierzero.AuditError, Conversation: o.Conversation, Channel: o.Channel, Requester: o.To.UPN,
		Error: "undeliverable: " + what + " could not be delivered after " + d.cfg.OutboxTTL.String() + "; it was dropped"}
	if err := d.cfg.Store.Append(ctx, o.Tenant, ev); err != nil {
		d.log.Error("audit undeliverable message", "tenant", o.Tenant, "err", err)
		return
	}
	d.obs.Delivery(o.Channel, "dropped")
	if err := d.cfg.Store.DeleteOutbound(ctx, o.Tenant, o.ID); err != nil {
		d.log.Error("remove undeliverable message", "tenant", o.Tenant, "err", err)
	}
}
