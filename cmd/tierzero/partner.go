package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/store"
)

// Credentials of GDAP sign-in: the technician's sign-in to the partner
// tenant, sealed in the store of msp.tenant, and each client's own refresh
// token (issued by its authority), sealed in that client's store.
const (
	partnerTokenName = "graph_partner_refresh_token"
	gdapTokenName    = "graph_gdap_refresh_token"
)

// gdapWiring is a configuration's GDAP gate and the Graph client it reads
// the partner's relationships through, bound once the client exists.
type gdapWiring struct {
	once   sync.Once
	gate   *graph.GDAP
	mu     sync.Mutex
	client *graph.Client
}

// gdapGate returns the gate of the clients whose auth.method is gdap; nil
// when there are none.
func (c *config) gdapGate() *graph.GDAP {
	if c == nil || c.Partner == nil || c.MSP == nil {
		return nil
	}
	w := c.gdap()
	w.once.Do(func() {
		customers := map[tierzero.TenantID]string{}
		for id, t := range c.Tenants {
			if t.Auth.Method == authGDAP {
				customers[id] = t.EntraTenant
			}
		}
		if len(customers) == 0 {
			return
		}
		partner := c.MSP.Tenant
		w.gate = graph.NewGDAP(graph.GDAPConfig{Customers: customers, Read: func(ctx context.Context) ([]graph.Relationship, error) {
			w.mu.Lock()
			gc := w.client
			w.mu.Unlock()
			if gc == nil {
				return nil, errors.New("GDAP: no Graph client yet")
			}
			return gc.Relationships(ctx, partner)
		}})
	})
	return w.gate
}

// bindGDAP gives the gate the client it reads relationships through.
func (c *config) bindGDAP(gc *graph.Client) {
	if c == nil || c.Partner == nil {
		return
	}
	w := c.gdap()
	w.mu.Lock()
	w.client = gc
	w.mu.Unlock()
}

func (c *config) gdap() *gdapWiring {
	if c.gdapState == nil {
		c.gdapState = &gdapWiring{}
	}
	return c.gdapState
}

// partnerAuthConfig is the sign-in configuration of the partner tenant; with
// entra set, of a client tenant's authority (its Entra tenant id) for the
// partner's app.
func partnerAuthConfig(c *config, tenant tierzero.TenantID, entra string) graph.AuthConfig {
	if entra == "" {
		entra = c.Partner.EntraTenant
	}
	return graph.AuthConfig{Tenant: tenant, TenantID: entra, ClientID: c.Partner.ClientID, AuthorityHost: c.Partner.AuthorityHost}
}

// partnerToken is the token source of the partner tenant (msp.tenant):
// the technician's sign-in, for reading the GDAP relationships.
func (a *app) partnerToken(c *config, db *store.DB) graph.TokenSource {
	msp := c.MSP.Tenant
	load := func(ctx context.Context) (string, error) {
		rt, ok, err := db.Credential(ctx, msp, partnerTokenName)
		if err == nil && !ok {
			err = tierzero.Errorf(tierzero.EUnauthorized, "no technician has signed in to the MSP's partner tenant: run tierzero partner login")
		}
		return rt, err
	}
	save := func(ctx context.Context, rt string) error { return db.PutCredential(ctx, msp, partnerTokenName, rt) }
	return graph.RefreshTokenSource(partnerAuthConfig(c, msp, ""), load, save)
}

// gdapToken is the token source of a client tenant reached through GDAP.
func (a *app) gdapToken(c *config, id tierzero.TenantID, t tenantConfig, db *store.DB) graph.TokenSource {
	load := func(ctx context.Context) (string, error) {
		rt, _, err := db.Credential(ctx, id, gdapTokenName)
		return rt, err
	}
	save := func(ctx context.Context, rt string) error { return db.PutCredential(ctx, id, gdapTokenName, rt) }
	loadPartner := func(ctx context.Context) (string, error) {
		rt, _, err := db.Credential(ctx, c.MSP.Tenant, partnerTokenName)
		return rt, err
	}
	return graph.GDAPTokenSource(partnerAuthConfig(c, id, t.EntraTenant), c.gdapGate(), load, save, loadPartner)
}

// partnerConfigFile loads the configuration a partner command needs.
func (a *app) partnerConfigFile(file string) (*config, error) {
	file = a.configPath(file)
	if file == "" {
		return nil, usageError{errors.New("partner commands need --config (or $TIERZERO_CONFIG)")}
	}
	c, err := loadConfig(file)
	if err != nil {
		return nil, err
	}
	if c.Partner == nil {
		return nil, fmt.Errorf("%s has no partner section (the MSP's partner tenant and app, for GDAP)", file)
	}
	return c, nil
}

func (a *app) partnerCommand() *cobra.Command {
	var data, configFile string
	cmd := &cobra.Command{
		Use:   "partner",
		Short: "Reach client tenants through the MSP's GDAP relationships",
		Long: `A technician signs in once to the MSP's partner tenant (partner login); tierzero then gets a
token for each client tenant whose auth.method is gdap from that client's own authority, limited
to the roles the client's GDAP relationship grants. partner relationships lists them.`,
	}
	cmd.PersistentFlags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "configuration file (default $TIERZERO_CONFIG)")

	login := &cobra.Command{
		Use:   "login",
		Short: "Sign a technician in to the partner tenant (device code)",
		Long: `login runs the OAuth device-code flow against the partner tenant: it prints a code and a URL;
the technician signs in there. The refresh token is stored encrypted in the store of msp.tenant;
each client's own refresh token, obtained from it at the client's authority, is stored
encrypted in that client's store. Signing in again replaces the technician's sign-in.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.partnerConfigFile(configFile)
			if err != nil {
				return err
			}
			db, err := a.openStore(a.dataDir(data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			rt, err := graph.DeviceCodeLogin(cmd.Context(), partnerAuthConfig(c, c.MSP.Tenant, ""), func(code, uri, msg string) {
				if msg == "" {
					msg = fmt.Sprintf("To sign in, open %s and enter the code %s.", uri, code)
				}
				fmt.Fprintln(a.stdout, msg)
			})
			if err != nil {
				return fmt.Errorf("sign in to the partner tenant: %w", err)
			}
			if err := db.PutCredential(cmd.Context(), c.MSP.Tenant, partnerTokenName, rt); err != nil {
				return err
			}
			var clients []string
			for id, t := range c.Tenants {
				if t.Auth.Method == authGDAP {
					clients = append(clients, string(id))
				}
			}
			slices.Sort(clients)
			fmt.Fprintf(a.stdout, "Signed in to the partner tenant; the refresh token is stored encrypted in the store of %s. Clients reached through GDAP: %s.\n",
				c.MSP.Tenant, cmp.Or(strings.Join(clients, ", "), "none yet"))
			return a.closeDB(db)
		},
	}

	var graphURL string
	relationships := &cobra.Command{
		Use:   "relationships",
		Short: "List the partner tenant's GDAP relationships: client, status, expiry and roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.partnerConfigFile(configFile)
			if err != nil {
				return err
			}
			db, err := a.openStore(a.dataDir(data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			base := cmp.Or(graphURL, c.GraphURL, graph.DefaultBaseURL)
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			gc, err := graph.New(graph.Config{
				BaseURL: base,
				Token:   graph.Tokens(map[tierzero.TenantID]graph.TokenSource{c.MSP.Tenant: a.partnerToken(c, db)}),
				Permits: tierzero.NewPermitVerifier(pub, nil), // runs no tool
				Logger:  a.log,
			})
			if err != nil {
				return err
			}
			rels, err := gc.Relationships(cmd.Context(), c.MSP.Tenant)
			if err != nil {
				return fmt.Errorf("list the GDAP relationships: %s", tierzero.ErrorMessage(err))
			}
			byEntra := map[string]tierzero.TenantID{}
			for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
				if e := strings.ToLower(c.Tenants[id].EntraTenant); e != "" {
					byEntra[e] = id
				}
			}
			now := time.Now()
			slices.SortStableFunc(rels, func(x, y graph.Relationship) int { return strings.Compare(x.CustomerName, y.CustomerName) })
			tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT\tSTATUS\tEXPIRES\tROLES")
			for _, r := range rels {
				client := tierzero.Printable(r.CustomerName)
				if id, ok := byEntra[r.CustomerTenantID]; ok {
					client = string(id)
				}
				expires := "-"
				if !r.End.IsZero() {
					expires = r.End.Format("2006-01-02")
				}
				roles := make([]string, len(r.Roles))
				for i, role := range r.Roles {
					roles[i] = tierzero.Printable(role)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", client, tierzero.Printable(r.StatusAt(now)), expires, strings.Join(roles, ", "))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return a.closeDB(db)
		},
	}
	relationships.Flags().StringVar(&graphURL, "graph-url", "", "Microsoft Graph base URL (default the configuration's graph_url, else Graph v1.0)")
	cmd.AddCommand(login, relationships)
	return cmd
}
