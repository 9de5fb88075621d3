// Package bot holds what the chat adapters share: the Handler they feed
// normalized messages to, and the Responder seam through which a reply is
// delivered, public text to the thread and secrets privately to the requester.
package bot

import (
	"context"
	"fmt"

	"github.com/tierzero/tierzero"
)

// Handler answers a normalized, verified message (agent.Agent).
type Handler interface {
	Handle(ctx context.Context, msg tierzero.Message) (tierzero.Reply, error)
}

// Responder delivers replies on one platform.
type Responder interface {
	// Reply posts text to the conversation, where others may see it.
	Reply(ctx context.Context, conv tierzero.ConversationID, text string) error
	// Private delivers a note to one person only (a DM, an ephemeral message).
	Private(ctx context.Context, note tierzero.PrivateNote) error
}

// Deliver sends a reply: the private notes first, so the public text that
// says "delivered privately" is true when it appears.
func Deliver(ctx context.Context, r Responder, conv tierzero.ConversationID, reply tierzero.Reply) error {
	for _, n := range reply.Private {
		if err := r.Private(ctx, n); err != nil {
			return fmt.Errorf("deliver private note: %w", err)
		}
	}
	if reply.Text == "" {
		return nil
	}
	if err := r.Reply(ctx, conv, reply.Text); err != nil {
		return fmt.Errorf("deliver reply: %w", err)
	}
	return nil
}
