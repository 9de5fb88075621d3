package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero/web"
)

// consoleCommand holds the operator commands of the web console. They run
// in the server (over the admin socket): the console and its sessions live
// there.
func (a *app) consoleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Operate the web console of the running server",
	}
	cmd.AddCommand(a.consoleLinkCommand())
	return cmd
}

func (a *app) consoleLinkCommand() *cobra.Command {
	var data, configFile string
	cmd := &cobra.Command{
		Use:   "link UPN",
		Short: "Print a one-time sign-in link to the running server's web console",
		Long: `link asks the running tierzero serve of the data directory (over its admin socket) for a
link that signs its holder in to the web console as UPN, once, within 15 minutes. UPN must
be a technician of the MSP or a tenant admin of a client in the configuration. Anyone who
opens the link is signed in as UPN: hand it over privately. The server logs each link minted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.shared == nil || a.shared.consoleLink == nil {
				return errors.New("console link: no tierzero serve answers on the admin socket of " + a.dataDir(data) + " (the link signs in to a running server)")
			}
			upn := strings.TrimSpace(args[0])
			link, ok := a.shared.consoleLink(upn)
			if !ok {
				return usageError{fmt.Errorf("console link: %s is neither a technician nor a tenant admin of the configuration", upn)}
			}
			a.log.Warn("operator minted a one-time console sign-in link", "user", upn)
			fmt.Fprintln(a.stdout, link)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "data directory of the running server (default $TIERZERO_DATA or ./tierzero-data)")
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (to find serve.admin_socket)")
	return cmd
}

// consoleBase is the console's origin for links: the public one of the
// OpenID Connect redirect URL when configured (serve behind a proxy), else
// the address serve listens on.
func consoleBase(c *config, addr string) string {
	if c != nil && c.Console != nil && c.Console.OIDC != nil {
		if u, err := url.Parse(c.Console.OIDC.RedirectURL); err == nil && u.Scheme != "" && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	return "http://" + addr
}

// consoleLinker mints full one-time sign-in links of a console.
func consoleLinker(con *web.Server, base string) func(upn string) (string, bool) {
	return func(upn string) (string, bool) {
		p, ok := con.OneTimeLink(upn)
		if !ok {
			return "", false
		}
		return base + p, true
	}
}
