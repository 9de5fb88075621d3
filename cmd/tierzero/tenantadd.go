package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
)

// `tierzero tenant add`: a new client tenant in the configuration file, and
// the admin consent link of the app registration tierzero reaches it with
// (docs/onboarding.md).

// defaultAuthorityHost is Entra ID's sign-in host (the public cloud).
const defaultAuthorityHost = "https://login.microsoftonline.com"

// guidPattern is an Entra tenant id: a GUID.
var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// domainPattern is a DNS domain name such as contoso.com.
var domainPattern = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))+$`)

// tenantAdd is what `tenant add` was asked for.
type tenantAdd struct {
	tenant          tierzero.TenantID
	entraID         string // --tenant-id
	domain          string // --domain
	method          string // --auth
	clientID        string
	clientSecretEnv string
	certificateFile string
	admins          []string
	redirectURI     string
}

func (a *app) tenantAddCommand() *cobra.Command {
	var configFile string
	var ta tenantAdd
	cmd := &cobra.Command{
		Use:   "add TENANT --tenant-id GUID [--domain D] [--config FILE]",
		Short: "Add a client tenant to the configuration file and print its admin consent link",
		Long: `add writes a new client tenant into the configuration file (--config, else
$TIERZERO_CONFIG), after the tenants already there, keeping the file's comments and order,
and checks the result as 'tierzero config validate' does before it replaces the file. It
refuses a tenant id already in the file (or the MSP's own), a --tenant-id that is not a GUID
or is already another tenant's, and a file that has problems of its own.

How tierzero reaches the tenant (--auth):
  gdap           through the MSP's partner tenant and GDAP relationship (the partner
                 section's app); the default when the file has a partner section
  client_secret  the MSP's app with a secret (--client-secret-env names its variable)
  certificate    the MSP's app with a certificate (--certificate-file)
  delegated      an admin of the client signs in once: tierzero tenant login TENANT
  simulator      the Graph simulator (demos and tests)
The app's --client-id, --client-secret-env and --certificate-file default to the ones
every other tenant of that method in the file shares (one multi-tenant app registration).

It then prints the admin consent link of that app registration for the new tenant
(https://login.microsoftonline.com/{tenant-id}/adminconsent?client_id=...): an admin of
the client (Global Administrator or Privileged Role Administrator) opens it and grants
the app the permissions it was registered with. --redirect-uri must be one of the app's
registered redirect URIs (default: console.oidc.redirect_url when the console signs in
with the same app). Last, the commands that follow: the baseline plan and apply.`,
		Example: `  tierzero tenant add initech --tenant-id 6f1c2e7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a --domain initech.com \
      --auth client_secret --client-id 00000000-0000-0000-0000-000000000000 \
      --client-secret-env TIERZERO_APP_SECRET --admin it.lead@initech.com --config tierzero.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenantArg(args)
			if err != nil {
				return err
			}
			ta.tenant = t
			file := a.configPath(configFile)
			if file == "" {
				return usageError{errors.New("tenant add needs --config (or $TIERZERO_CONFIG): the file the tenant is added to")}
			}
			return a.tenantAdd(file, ta)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "configuration file to add the tenant to (default $TIERZERO_CONFIG)")
	f.StringVar(&ta.entraID, "tenant-id", "", "the client's Entra tenant id, a GUID (Entra admin center, Overview)")
	f.StringVar(&ta.domain, "domain", "", "the client's primary domain, e.g. initech.com (kept as a comment; --admin must be in it)")
	f.StringVar(&ta.method, "auth", "", "how tierzero signs in: gdap, client_secret, certificate, delegated or simulator (default gdap with a partner section)")
	f.StringVar(&ta.clientID, "client-id", "", "the app registration's client id (default: the one the file's other tenants of that method share)")
	f.StringVar(&ta.clientSecretEnv, "client-secret-env", "", "client_secret: the environment variable that holds the app's secret")
	f.StringVar(&ta.certificateFile, "certificate-file", "", "certificate: the PEM file with the app's certificate and private key")
	f.StringArrayVar(&ta.admins, "admin", nil, "a user principal name with the tenant_admin role (approves baseline plans; repeatable)")
	f.StringVar(&ta.redirectURI, "redirect-uri", "", "a redirect URI registered on the app, where Entra ID sends the admin after consent")
	cmd.MarkFlagRequired("tenant-id")
	return cmd
}

// tenantAdd adds ta to the configuration file and prints what comes next.
func (a *app) tenantAdd(file string, ta tenantAdd) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	c, ps := parseConfig(b)
	if len(ps) > 0 {
		return fmt.Errorf("%w: fix it first (tierzero config validate %s); nothing was added", &configError{path: file, problems: ps}, file)
	}
	tc, err := ta.resolve(c)
	if err != nil {
		return usageError{err}
	}
	out, err := insertTenant(b, ta.tenant, ta.domain, tc)
	if err != nil {
		return fmt.Errorf("config %s: %w; add the tenant by hand", file, err)
	}
	nc, ps := parseConfig(out)
	if len(ps) > 0 {
		return fmt.Errorf("the tenant as written would not validate: %w; nothing was added", &configError{path: file, problems: ps})
	}
	if _, ok := nc.Tenants[ta.tenant]; !ok || len(nc.Tenants) != len(c.Tenants)+1 {
		return fmt.Errorf("config %s: the tenant could not be placed in its tenants section; add it by hand", file)
	}
	if err := replaceFile(file, out); err != nil {
		return err
	}
	w := a.stdout
	fmt.Fprintf(w, "Added tenant %s to %s (Entra tenant %s, auth %s).\n", ta.tenant, file, ta.entraID, tc.Auth.Method)
	consentSteps(w, nc, ta, tc, file)
	return nil
}

// resolve checks ta against the configuration c and returns the tenant's
// configuration, its app taken from the flags, else from c.
func (ta *tenantAdd) resolve(c *config) (tenantConfig, error) {
	id := ta.tenant
	if _, ok := c.Tenants[id]; ok {
		return tenantConfig{}, fmt.Errorf("tenant %s is already in the configuration", id)
	}
	if c.MSP != nil && c.MSP.Tenant == id {
		return tenantConfig{}, fmt.Errorf("%s is the MSP's own tenant id (msp.tenant): give the client another id", id)
	}
	if !guidPattern.MatchString(ta.entraID) {
		return tenantConfig{}, fmt.Errorf("--tenant-id %q is not a GUID: it is the client's Entra tenant id (Entra admin center, Overview, Tenant ID)", ta.entraID)
	}
	ta.entraID = strings.ToLower(ta.entraID)
	for other, t := range c.Tenants {
		if strings.EqualFold(t.EntraTenant, ta.entraID) {
			return tenantConfig{}, fmt.Errorf("--tenant-id %s is already tenant %s's", ta.entraID, other)
		}
	}
	if ta.domain != "" {
		if !domainPattern.MatchString(ta.domain) {
			return tenantConfig{}, fmt.Errorf("--domain %q is not a domain name such as initech.com", ta.domain)
		}
		ta.domain = strings.ToLower(ta.domain)
	}
	seen := map[string]bool{}
	for _, u := range ta.admins {
		switch {
		case !validUPN(u):
			return tenantConfig{}, fmt.Errorf("--admin %q is not a user principal name", u)
		case seen[strings.ToLower(u)]:
			return tenantConfig{}, fmt.Errorf("--admin %s is given twice", u)
		case ta.domain != "" && !strings.HasSuffix(strings.ToLower(u), "@"+ta.domain) && !strings.HasSuffix(strings.ToLower(u), "."+ta.domain):
			return tenantConfig{}, fmt.Errorf("--admin %s is not in the domain %s", u, ta.domain)
		}
		seen[strings.ToLower(u)] = true
	}
	if ta.redirectURI != "" {
		if u, err := url.Parse(ta.redirectURI); err != nil || u.Scheme == "" || u.Host == "" {
			return tenantConfig{}, fmt.Errorf("--redirect-uri %q is not an absolute URL", ta.redirectURI)
		}
	}

	method := ta.method
	if method == "" {
		if c.Partner == nil {
			return tenantConfig{}, errors.New("--auth is required without a partner section: gdap, client_secret, certificate, delegated or simulator")
		}
		method = authGDAP
	}
	tc := tenantConfig{EntraTenant: ta.entraID, Admins: ta.admins, Auth: authConfig{Method: method}}
	// shared is the value field of the file's other tenants of the same
	// method, when they all have the same one.
	shared := func(field func(authConfig) string) string {
		var vals []string
		for _, t := range c.Tenants {
			if t.Auth.Method == method && field(t.Auth) != "" {
				vals = append(vals, field(t.Auth))
			}
		}
		slices.Sort(vals)
		if vals = slices.Compact(vals); len(vals) == 1 {
			return vals[0]
		}
		return ""
	}
	need := func(flag, v string) error {
		if v == "" {
			return fmt.Errorf("--auth %s needs %s (no other tenant of the file shares one)", method, flag)
		}
		return nil
	}
	switch method {
	case authSimulator:
		tc.EntraTenant = ta.entraID // kept: the simulator ignores it
	case authGDAP:
		if c.Partner == nil {
			return tenantConfig{}, errors.New("--auth gdap needs a partner section (the MSP's partner tenant and app): see README, Connecting real tenants")
		}
		if ta.clientID != "" || ta.clientSecretEnv != "" || ta.certificateFile != "" {
			return tenantConfig{}, errors.New("--auth gdap takes the partner section's app: leave out --client-id, --client-secret-env and --certificate-file")
		}
	case authClientSecret, authCertificate, authDelegated:
		a := &tc.Auth
		a.ClientID = cmp.Or(ta.clientID, shared(func(a authConfig) string { return a.ClientID }))
		if err := need("--client-id", a.ClientID); err != nil {
			return tenantConfig{}, err
		}
		a.AuthorityHost = shared(func(a authConfig) string { return a.AuthorityHost })
		switch method {
		case authClientSecret:
			a.ClientSecretEnv = cmp.Or(ta.clientSecretEnv, shared(func(a authConfig) string { return a.ClientSecretEnv }))
			if err := need("--client-secret-env", a.ClientSecretEnv); err != nil {
				return tenantConfig{}, err
			}
			if !envName.MatchString(a.ClientSecretEnv) {
				return tenantConfig{}, errors.New("--client-secret-env is not the name of an environment variable: it names the variable that holds the secret, never the secret")
			}
		case authCertificate:
			a.CertificateFile = cmp.Or(ta.certificateFile, shared(func(a authConfig) string { return a.CertificateFile }))
			if err := need("--certificate-file", a.CertificateFile); err != nil {
				return tenantConfig{}, err
			}
		}
		if method != authClientSecret && ta.clientSecretEnv != "" || method != authCertificate && ta.certificateFile != "" {
			return tenantConfig{}, fmt.Errorf("--auth %s takes neither --client-secret-env nor --certificate-file unless it is their method", method)
		}
	default:
		return tenantConfig{}, fmt.Errorf("--auth %q: want gdap, client_secret, certificate, delegated or simulator", method)
	}
	if method == authSimulator || method == authGDAP {
		if ta.clientID != "" || ta.clientSecretEnv != "" || ta.certificateFile != "" {
			return tenantConfig{}, fmt.Errorf("--auth %s has no app of the tenant's own: leave out --client-id, --client-secret-env and --certificate-file", method)
		}
	}
	return tc, nil
}

// insertTenant returns the configuration file b with tenant id added at the
// end of its tenants section (a tenants section is added at the end of a
// file without one), in the indentation the file uses; every other line is
// kept as it was, comments and blank lines too.
func insertTenant(b []byte, id tierzero.TenantID, domain string, tc tenantConfig) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the file is not a YAML mapping")
	}
	top := doc.Content[0]
	if top.Style&yaml.FlowStyle != 0 {
		return nil, errors.New("the file is written in flow style ({...})")
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	nl := "\n"
	if strings.HasSuffix(strings.TrimSuffix(string(b), "\n"), "\r") || bytes.Contains(b, []byte("\r\n")) {
		nl = "\r\n"
	}
	step := 2 // the file's indentation step, from its first nested mapping
	for i := 0; i+1 < len(top.Content); i += 2 {
		if v := top.Content[i+1]; v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
			step = max(1, v.Content[0].Column-top.Content[i].Column)
			break
		}
	}
	var tenants *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "tenants" {
			tenants = top.Content[i+1]
			break
		}
	}
	if tenants == nil {
		// No tenants section (the file would not validate; kept general).
		rendered := renderTenant(id, domain, tc, top.Column-1+step, step)
		out := strings.Join(lines, "")
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += nl
		}
		out += nl + "tenants:" + nl + strings.ReplaceAll(rendered, "\n", nl)
		if err := sameBut(b, []byte(out), id, rendered); err != nil {
			return nil, err
		}
		return []byte(out), nil
	}
	if tenants.Kind != yaml.MappingNode || tenants.Style&yaml.FlowStyle != 0 || len(tenants.Content) == 0 {
		return nil, errors.New("its tenants section is not a block mapping (one tenant per line)")
	}
	indent := tenants.Content[0].Column - 1
	if len(tenants.Content) > 1 {
		if v := tenants.Content[1]; v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
			step = max(1, v.Content[0].Column-1-indent)
		}
	}
	// The tenant goes right after the last tenant's value: its last line
	// is found from the node positions (a block scalar's end is not in
	// them), so that the comments that close the section (or open the next
	// one) stay where they are, and a block scalar's lines that start with
	// '#' (content, not comments) stay in it.
	last := valueEnd(lines, tenants, tenants.Content[len(tenants.Content)-1], indent)
	if last == 0 {
		return nil, errors.New("its tenants section could not be found")
	}
	if !strings.HasSuffix(lines[last-1], "\n") {
		lines[last-1] += nl
	}
	rendered := renderTenant(id, domain, tc, indent, step)
	entry := nl + strings.ReplaceAll(rendered, "\n", nl)
	out := strings.Join(lines[:last], "") + entry + strings.Join(lines[last:], "")
	if err := sameBut(b, []byte(out), id, rendered); err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// valueEnd is the number of the last line (1-based) of value v, an entry
// of the block mapping parent whose keys are indented by indent spaces:
// the line of its last node, then every line after it that is more
// indented than indent and not a comment (a multi-line scalar or flow
// collection going on), and, when the last node is a block scalar (| or
// >), every line of its content, lines that start with '#' among them.
func valueEnd(lines []string, parent, v *yaml.Node, indent int) int {
	n := v
	for len(n.Content) > 0 && n.Kind != yaml.AliasNode {
		parent, n = n, n.Content[len(n.Content)-1]
	}
	end := n.Line
	block := n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	within := parent.Column - 1 // a block scalar's content is more indented than its parent
	content := -1               // the block scalar's content indentation, from its first line
	for i := n.Line; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		text := strings.TrimLeft(line, " ")
		if strings.TrimSpace(text) == "" {
			continue
		}
		ind := len(line) - len(text)
		if ind <= indent {
			break // the next tenant, or the next top-level key
		}
		if block && ind > within && (content < 0 || ind >= content) {
			if content < 0 {
				content = ind
			}
			end = i + 1
			continue
		}
		block = false
		if !strings.HasPrefix(text, "#") {
			end = i + 1
		}
	}
	return end
}

// sameBut checks that the configuration file after (before with tenant id
// inserted as rendered) decodes to exactly what before does, plus that
// tenant: a placement that changed another tenant's settings (a block
// scalar cut, say) or anything else in the file is refused.
func sameBut(before, after []byte, id tierzero.TenantID, rendered string) error {
	var was, is map[string]any
	var entry map[string]any
	if err := yaml.Unmarshal(before, &was); err != nil {
		return err
	}
	if err := yaml.Unmarshal(after, &is); err != nil {
		return fmt.Errorf("the file with the tenant added does not read (%v)", err)
	}
	if err := yaml.Unmarshal([]byte(rendered), &entry); err != nil || len(entry) != 1 {
		return fmt.Errorf("the tenant as written does not read (%v)", err)
	}
	ts, ok := is["tenants"].(map[string]any)
	if !ok || !reflect.DeepEqual(ts[string(id)], entry[string(id)]) {
		return errors.New("the tenant added does not read back as written")
	}
	rest := maps.Clone(ts)
	delete(rest, string(id))
	is = maps.Clone(is)
	is["tenants"] = rest
	if _, had := was["tenants"]; !had && len(rest) == 0 {
		delete(is, "tenants") // the section was added with the tenant
	}
	if was == nil {
		was = map[string]any{} // an empty file
	}
	if !reflect.DeepEqual(was, is) {
		return errors.New("adding the tenant there would change the rest of the file (another tenant's settings)")
	}
	return nil
}

func isBlankOrComment(line string) bool {
	s := strings.TrimSpace(line)
	return s == "" || strings.HasPrefix(s, "#")
}

// isTopComment is a comment line at the left margin, or a blank line: what
// may head a top-level key.
func isTopComment(line string) bool {
	return strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#")
}

// renderTenant is the YAML of one tenant entry, its key indented by indent
// spaces, each level by step more.
func renderTenant(id tierzero.TenantID, domain string, tc tenantConfig, indent, step int) string {
	var b strings.Builder
	pad := func(level int) string { return strings.Repeat(" ", indent+level*step) }
	fmt.Fprintf(&b, "%s%s:", pad(0), id)
	if domain != "" {
		fmt.Fprintf(&b, " # %s, added by tierzero tenant add", domain)
	}
	b.WriteString("\n")
	kv := func(level int, k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s%s: %s\n", pad(level), k, yamlScalar(v))
		}
	}
	kv(1, "entra_tenant", tc.EntraTenant)
	a := tc.Auth
	if a.ClientID == "" && a.ClientSecretEnv == "" && a.CertificateFile == "" && a.AuthorityHost == "" {
		fmt.Fprintf(&b, "%sauth: {method: %s}\n", pad(1), a.Method)
	} else {
		fmt.Fprintf(&b, "%sauth:\n", pad(1))
		kv(2, "method", a.Method)
		kv(2, "client_id", a.ClientID)
		kv(2, "client_secret_env", a.ClientSecretEnv)
		kv(2, "certificate_file", a.CertificateFile)
		kv(2, "authority_host", a.AuthorityHost)
	}
	if len(tc.Admins) > 0 {
		vals := make([]string, len(tc.Admins))
		for i, u := range tc.Admins {
			vals[i] = yamlScalar(u)
		}
		fmt.Fprintf(&b, "%sadmins: [%s]\n", pad(1), strings.Join(vals, ", "))
	}
	return b.String()
}

// yamlScalar is s as a YAML scalar, quoted when it must be.
func yamlScalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	v := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(v, "\n") || strings.ContainsAny(v, ",[]{}") && !strings.HasPrefix(v, `"`) && !strings.HasPrefix(v, "'") {
		return fmt.Sprintf("%q", s) // safe in a flow list and on one line
	}
	return v
}

// replaceFile writes b to path through a file beside it, renamed over it,
// keeping its permissions.
func replaceFile(path string, b []byte) error {
	mode := os.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// consentLink is the admin consent URL of the app clientID for the Entra
// tenant entraID: an admin of that tenant opens it and grants the app the
// permissions configured on its registration, for the whole tenant.
func consentLink(authority, entraID, clientID, redirectURI string) string {
	q := url.Values{"client_id": {clientID}}
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	return strings.TrimSuffix(cmp.Or(authority, defaultAuthorityHost), "/") + "/" + url.PathEscape(entraID) + "/adminconsent?" + q.Encode()
}

// consentSteps prints the consent link of the new tenant's app and the
// commands that follow.
func consentSteps(w io.Writer, c *config, ta tenantAdd, tc tenantConfig, file string) {
	id := ta.tenant
	clientID, authority := tc.Auth.ClientID, tc.Auth.AuthorityHost
	if tc.Auth.Method == authGDAP && c.Partner != nil {
		clientID, authority = c.Partner.ClientID, c.Partner.AuthorityHost
	}
	redirect := ta.redirectURI
	if redirect == "" && c.Console != nil && c.Console.OIDC != nil && c.Console.OIDC.ClientID == clientID {
		redirect = c.Console.OIDC.RedirectURL
	}
	as := "TECHNICIAN-UPN"
	if c.MSP != nil && len(c.MSP.Technicians) > 0 {
		as = c.MSP.Technicians[0].UPN
	}
	approver := "ADMIN-UPN"
	if len(tc.Admins) > 0 {
		approver = tc.Admins[0]
	}
	n := 1
	step := func(format string, args ...any) {
		fmt.Fprintf(w, "\n%d. "+format+"\n", append([]any{n}, args...)...)
		n++
	}
	switch tc.Auth.Method {
	case authSimulator:
		step("Consent: none; the simulator has no app registration to consent to.")
	default:
		step("Consent: an admin of %s (Global Administrator or Privileged Role Administrator) opens this link, signs in and grants tierzero's app (client id %s) the permissions it is registered with:", id, clientID)
		fmt.Fprintf(w, "   %s\n", consentLink(authority, ta.entraID, clientID, redirect))
		if redirect == "" {
			fmt.Fprintln(w, "   Microsoft documents redirect_uri as required on this endpoint, where Entra ID sends the admin afterwards:")
			fmt.Fprintln(w, "   give --redirect-uri with one of the app's registered redirect URIs (App registrations, Authentication).")
		}
	}
	switch tc.Auth.Method {
	case authGDAP:
		fmt.Fprintf(w, "   tierzero reaches %s through the MSP's GDAP relationship with it: check its roles with tierzero partner relationships --config %s.\n", id, file)
	case authDelegated:
		step("Sign in once as an admin of %s: tierzero tenant login %s --config %s", id, id, file)
	case authClientSecret:
		fmt.Fprintf(w, "   The app's secret is read from $%s.\n", tc.Auth.ClientSecretEnv)
	}
	if len(tc.Admins) == 0 {
		step("Name the tenant's admins (they approve its baseline): add admins: [UPN, ...] under tenants.%s in %s.", id, file)
	}
	step("Check the file: tierzero config validate %s", file)
	step("See how far the tenant is from the baseline (read-only): tierzero baseline plan %s --config %s", id, file)
	step("Propose the plan of the phase due: tierzero baseline apply %s --config %s --as %s", id, file, as)
	if c.MSP != nil && len(c.MSP.Technicians) > 0 {
		fmt.Fprintf(w, "   (with --policy DIR when %s's admission to %s is in a policy directory: docs/policy.md, Technicians across tenants)\n", as, id)
	}
	fmt.Fprintf(w, "   An admin of %s approves it (tierzero approvals decide ID approve --tenant %s --as %s); run apply again for the enable phase once the sign-in impact is reviewed.\n", id, id, approver)
	fmt.Fprintf(w, "\nA running tierzero serve reads the file when it starts: restart it to serve %s.\n", id)
}
