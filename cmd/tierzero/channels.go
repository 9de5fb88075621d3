package main

import (
	"context"
	"net/http"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// adapter is a chat channel mounted on serve: its webhooks on the server's
// mux, its Responder registered with the desk, and its own background work
// (a Socket Mode connection, say) run until the server stops.
type adapter interface {
	Channel() tierzero.Channel
	Mount(mux *http.ServeMux)
	Responder() bot.Responder
	// Run does the adapter's background work until ctx is done; an adapter
	// with none returns nil at once.
	Run(ctx context.Context) error
}

// adapters are the channels the configuration enables, in a fixed order.
func (a *app) adapters(rt *runtime, c *config) ([]adapter, error) {
	var out []adapter
	for _, make := range []func(*runtime, *config) (adapter, error){a.slackAdapter, a.teamsAdapter} {
		ad, err := make(rt, c)
		if err != nil {
			return nil, err
		}
		if ad != nil {
			out = append(out, ad)
		}
	}
	return out, nil
}
