package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/store"
	"github.com/tierzero/tierzero/ticket"
	"github.com/tierzero/tierzero/ticket/autotask"
	"github.com/tierzero/tierzero/ticket/connectwise"
	"github.com/tierzero/tierzero/ticket/halopsa"
	"github.com/tierzero/tierzero/ticket/jira"
	"github.com/tierzero/tierzero/ticket/servicenow"
	"github.com/tierzero/tierzero/ticket/sysaid"
	"github.com/tierzero/tierzero/ticket/webhook"
	"go.yaml.in/yaml/v3"
)

// ticketConfig is a tenant's `ticket:` block: the system, and that
// system's own settings (its Config), kept as written and decoded by the
// system's connector, strictly (an unknown key is a problem).
type ticketConfig struct {
	System string
	// LogResolved (log_resolved: true) logs the requests tierzero resolves
	// as closed tickets, with the time spent, for the MSP's reporting and
	// billing (bot.Tickets.Logging).
	LogResolved bool
	node        yaml.Node // the block without system and log_resolved
}

func (t *ticketConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		// A TypeError, so that the rest of the file is still decoded.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ticket must be a mapping (system: webhook, url: ..., secret_env: ...)", n.Line)}}
	}
	rest := *n
	rest.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "system":
			t.System = n.Content[i+1].Value
			continue
		case "log_resolved":
			if err := n.Content[i+1].Decode(&t.LogResolved); err != nil {
				return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ticket.log_resolved must be true or false", n.Content[i+1].Line)}}
			}
			continue
		}
		rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
	}
	t.node = rest
	return nil
}

// ticketSystem is one connector, as the configuration knows it.
type ticketSystem struct {
	check func(n *yaml.Node) (url string, err error)
	build func(n *yaml.Node, opts ticket.Options) (ticket.System, error)
}

// connector makes the ticketSystem of a connector's Config and New.
func connector[C any, S ticket.System](mk func(C, ticket.Options) (S, error), urlOf func(C) string) ticketSystem {
	return ticketSystem{
		check: func(n *yaml.Node) (string, error) {
			var c C
			if err := decodeStrict(n, &c); err != nil {
				return "", err
			}
			return urlOf(c), nil
		},
		build: func(n *yaml.Node, opts ticket.Options) (ticket.System, error) {
			var c C
			if err := decodeStrict(n, &c); err != nil {
				return nil, err
			}
			return mk(c, opts)
		},
	}
}

// ticketSystems are the connectors, by their `system:` name.
var ticketSystems = map[string]ticketSystem{
	webhook.Name:  connector(webhook.New, func(c webhook.Config) string { return c.URL }),
	"servicenow":  connector(servicenow.New, func(c servicenow.Config) string { return c.URL }),
	"jira":        connector(jira.New, func(c jira.Config) string { return c.URL }),
	"sysaid":      connector(sysaid.New, func(c sysaid.Config) string { return c.URL }),
	"halopsa":     connector(halopsa.New, func(c halopsa.Config) string { return c.URL }),
	"autotask":    connector(autotask.New, func(c autotask.Config) string { return cmp.Or(c.ZoneURL, c.URL) }), // "": the zone is discovered
	"connectwise": connector(connectwise.New, func(c connectwise.Config) string { return c.URL }),
}

func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// validateTickets checks each tenant's ticket block: a known system, its
// settings (unknown keys, the URL: https, or http on a loopback host), and
// every *_env setting the name of an environment variable.
func (c *config) validateTickets(doc *yaml.Node) []problem {
	var ps []problem
	for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
		t := c.Tenants[id].Ticket
		if t == nil {
			continue
		}
		at := func(p ...any) int { return lineOf(doc, append([]any{"tenants", string(id), "ticket"}, p...)...) }
		sys, ok := ticketSystems[t.System]
		if !ok {
			ps = append(ps, problem{at("system"), fmt.Sprintf("tenant %s: ticket.system %q: want one of %s", id, t.System, strings.Join(slices.Sorted(maps.Keys(ticketSystems)), ", "))})
			continue
		}
		u, err := sys.check(&t.node)
		if err != nil {
			ps = append(ps, problem{at(), fmt.Sprintf("tenant %s: ticket (%s): %v", id, t.System, err)})
			continue
		}
		if u != "" || t.System == webhook.Name {
			if _, err := ticket.ParseURL(u); err != nil {
				ps = append(ps, problem{at("url"), fmt.Sprintf("tenant %s: ticket.url: %s", id, tierzero.ErrorMessage(err))})
			}
		}
		for i := 0; i+1 < len(t.node.Content); i += 2 {
			k, v := t.node.Content[i].Value, t.node.Content[i+1].Value
			if strings.HasSuffix(k, "_env") && v != "" && !envName.MatchString(v) {
				ps = append(ps, problem{at(k), fmt.Sprintf("tenant %s: ticket.%s is not the name of an environment variable: it names the variable that holds the secret, never the secret", id, k)})
			}
		}
		if t.System == webhook.Name && nodeValue(&t.node, "secret_env") == "" {
			ps = append(ps, problem{at(), fmt.Sprintf("tenant %s: ticket (webhook) needs secret_env, the variable that holds the signing secret", id)})
		}
	}
	return ps
}

func nodeValue(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// ticketSystemOf builds tenant's connector, credentials from the
// environment; false when the tenant has no ticket block.
func (a *app) ticketSystemOf(c *config, tenant tierzero.TenantID) (ticket.System, bool, error) {
	tc, ok := c.Tenants[tenant]
	if !ok {
		return nil, false, fmt.Errorf("no tenant %s in the configuration", tenant)
	}
	if tc.Ticket == nil {
		return nil, false, nil
	}
	sys, ok := ticketSystems[tc.Ticket.System]
	if !ok {
		return nil, false, fmt.Errorf("tenant %s: unknown ticket system %q", tenant, tc.Ticket.System)
	}
	s, err := sys.build(&tc.Ticket.node, ticket.Options{Tenant: tenant, Getenv: a.getenv})
	if err != nil {
		return nil, false, fmt.Errorf("tenant %s: ticket system %s: %w", tenant, tc.Ticket.System, err)
	}
	return s, true, nil
}

// escalator is the agent's escalation sink: Tickets when some tenant has a
// ticketing system (the others go to the log), else the log.
func (a *app) escalator(c *config, db *store.DB) (agent.Escalator, *bot.Tickets, error) {
	if c == nil {
		return bot.LogSink{Logger: a.log}, nil, nil
	}
	systems := map[tierzero.TenantID]bot.TicketSystem{}
	logResolved := map[tierzero.TenantID]bool{}
	for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
		s, ok, err := a.ticketSystemOf(c, id)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			systems[id] = s
			if c.Tenants[id].Ticket.LogResolved {
				logResolved[id] = true
			}
		}
	}
	if len(systems) == 0 {
		return bot.LogSink{Logger: a.log}, nil, nil
	}
	t, err := bot.NewTickets(bot.TicketsConfig{Store: db, Systems: systems, Fallback: bot.LogSink{Logger: a.log}, Logger: a.log,
		LogResolved: logResolved, Forget: forgetConversation(db)})
	if err != nil {
		return nil, nil, err
	}
	return t, t, nil
}

// forgetConversation ends the conversation of a ticket a technician
// closed: what the agent remembers of it for the requester is dropped (an
// empty memory saved), so a plan shown before the hand-over waits for no
// "yes", and the next message starts afresh.
func forgetConversation(db *store.DB) func(ctx context.Context, tenant tierzero.TenantID, conv tierzero.ConversationID, req tierzero.Requester) error {
	return func(ctx context.Context, tenant tierzero.TenantID, conv tierzero.ConversationID, req tierzero.Requester) error {
		return db.SaveConversation(ctx, tenant, tierzero.Conversation{ID: agent.MemoryID(conv, req), Tenant: tenant})
	}
}

// ticketReceiver is the webhook callbacks' endpoint of serve.
func (a *app) ticketReceiver(c *config, t *bot.Tickets) *webhook.Receiver {
	return &webhook.Receiver{
		Secret: func(tenant tierzero.TenantID) ([]byte, bool) {
			tc, ok := c.Tenants[tenant]
			if !ok || tc.Ticket == nil || tc.Ticket.System != webhook.Name {
				return nil, false
			}
			v := a.getenv(nodeValue(&tc.Ticket.node, "secret_env"))
			return []byte(v), v != ""
		},
		Deliver: t.Update,
		Logger:  a.log,
	}
}

func (a *app) ticketCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "ticket", Short: "Check a tenant's ticketing system"}
	var file string
	test := &cobra.Command{
		Use:   "test TENANT",
		Short: "Open and close a test ticket in TENANT's ticketing system",
		Long: `test opens a ticket marked as a test in the ticketing system of TENANT's ticket block,
finds it again by its correlation id, and closes it, so an MSP can check the connection,
the credentials (read from the environment) and the mapping. It prints the ticket's number.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := a.configPath(file)
			if path == "" {
				return usageError{errors.New("ticket test needs --config FILE (or $TIERZERO_CONFIG)")}
			}
			c, err := loadConfig(path)
			if err != nil {
				return err
			}
			tenant := tierzero.TenantID(args[0])
			s, ok, err := a.ticketSystemOf(c, tenant)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("tenant %s has no ticket block", tenant)
			}
			return ticketTest(cmd.Context(), s, tenant, a)
		},
	}
	test.Flags().StringVar(&file, "config", "", "configuration file (default $TIERZERO_CONFIG)")
	cmd.AddCommand(test)
	return cmd
}

func ticketTest(ctx context.Context, s ticket.System, tenant tierzero.TenantID, a *app) error {
	now := time.Now().UTC()
	e := tierzero.Escalation{Tenant: tenant, Conversation: "tierzero-ticket-test", Time: now,
		Requester: tierzero.Requester{Tenant: tenant, UPN: "tierzero-test@" + string(tenant), DisplayName: "tierzero connection test"},
		Summary:   "A test ticket opened by `tierzero ticket test` to check the connection; it is closed at once.",
		Cause:     tierzero.CauseModelRequest, Reason: "connection test"}
	t := tierzero.Ticket{Correlation: tierzero.TicketCorrelation(e), Escalation: e, Test: true}
	ref, err := s.Create(ctx, t)
	if err != nil {
		return fmt.Errorf("ticket test: %w", err)
	}
	fmt.Fprintf(a.stdout, "tenant %s: %s: opened test ticket %s %s\n", tenant, s.Name(), ref.Label(), ref.URL)
	found, ok, err := s.Find(ctx, t.Correlation)
	switch {
	case err != nil:
		return fmt.Errorf("ticket test: find the test ticket: %w", err)
	case !ok || found.ID != ref.ID:
		return fmt.Errorf("ticket test: tenant %s: %s: the test ticket %s is not found by its correlation id %s: retries could open duplicates", tenant, s.Name(), ref.Label(), t.Correlation)
	}
	if err := s.Close(ctx, ref, "tierzero connection test: closed automatically."); err != nil {
		return fmt.Errorf("ticket test: close the test ticket %s: %w", ref.Label(), err)
	}
	fmt.Fprintf(a.stdout, "tenant %s: %s: found it by its correlation id and closed it: ok\n", tenant, s.Name())
	return nil
}

// mountTickets serves the ticket webhook's callbacks, when some tenant's
// ticket system is the webhook.
func (a *app) mountTickets(mux *http.ServeMux, c *config, rt *runtime) {
	if rt.tickets == nil || c == nil {
		return
	}
	mux.Handle("POST "+webhook.Prefix, a.ticketReceiver(c, rt.tickets))
}
