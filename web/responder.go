package web

import (
	"context"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// responder delivers the web channel (to be written).
type responder struct{}

func newResponder() *responder { return &responder{} }

func (*responder) Reply(context.Context, bot.Address, string) error { return nil }
func (*responder) Private(context.Context, bot.Address, tierzero.PrivateNote) error {
	return nil
}
func (*responder) ShowApproval(context.Context, bot.ApprovalRequest) ([]string, error) {
	return nil, nil
}
func (*responder) ApprovalSettled(context.Context, tierzero.Approval, string) error { return nil }
