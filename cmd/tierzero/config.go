package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
)

// config is the optional configuration file (--config or $TIERZERO_CONFIG):
// how to reach each tenant's Microsoft Graph. Secrets are never in the file:
// it names the environment variables or files that hold them.
type config struct {
	GraphURL string                             `yaml:"graph_url"` // default https://graph.microsoft.com/v1.0
	LLM      *llmConfig                         `yaml:"llm"`       // default: the TIERZERO_LLM_* variables
	MSP      *mspConfig                         `yaml:"msp"`       // the MSP's technicians, if any
	Tenants  map[tierzero.TenantID]tenantConfig `yaml:"tenants"`
}

// mspConfig is the MSP itself: its technicians work from its own tenant id
// (where their conversations and their side of the audit are kept) and act
// in the client tenants that policy admits them to (the technicians key of
// a policy file).
type mspConfig struct {
	Tenant      tierzero.TenantID  `yaml:"tenant"` // the MSP's own id, e.g. msp; not a client tenant
	Technicians []technicianConfig `yaml:"technicians"`
}

// technicianConfig is one MSP technician, as their chat platform verifies
// them.
type technicianConfig struct {
	UPN  string `yaml:"upn"`
	Name string `yaml:"name"`
}

// llmConfig is the language model endpoint: any OpenAI-compatible server,
// or Azure OpenAI.
type llmConfig struct {
	BaseURL    string `yaml:"base_url"`
	Model      string `yaml:"model"`
	APIKeyEnv  string `yaml:"api_key_env"` // the variable that holds the key
	Azure      bool   `yaml:"azure"`
	Deployment string `yaml:"deployment"`  // Azure: default the model name
	APIVersion string `yaml:"api_version"` // Azure
}

// tenantConfig says how to reach one tenant.
type tenantConfig struct {
	EntraTenant string     `yaml:"entra_tenant"` // the Entra tenant id or primary domain
	Auth        authConfig `yaml:"auth"`
	// Admins are the user principal names that have the tenant_admin role
	// (approvals that name role:tenant_admin; plans before every write).
	Admins []string `yaml:"admins"`
}

// authConfig is one tenant's Graph credential.
type authConfig struct {
	// Method: client_secret or certificate (app-only, through azidentity),
	// delegated (an admin signs in once with `tierzero tenant login`), or
	// simulator (the graph/sim bearer token; for tests and demos).
	Method          string `yaml:"method"`
	ClientID        string `yaml:"client_id"`
	ClientSecretEnv string `yaml:"client_secret_env"` // the variable holding the secret
	CertificateFile string `yaml:"certificate_file"`  // PEM with certificate and private key
	AuthorityHost   string `yaml:"authority_host"`    // default https://login.microsoftonline.com
}

// Auth methods.
const (
	authClientSecret = "client_secret"
	authCertificate  = "certificate"
	authSimulator    = "simulator"
	authDelegated    = "delegated"
)

// loadConfig reads and validates a configuration file. Unknown keys are
// errors, with their line.
func loadConfig(path string) (*config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

func (c *config) validate() error {
	if len(c.Tenants) == 0 {
		return errors.New("no tenants")
	}
	if c.GraphURL != "" {
		if u, err := url.Parse(c.GraphURL); err != nil || u.Host == "" {
			return fmt.Errorf("graph_url %q is not an absolute URL", c.GraphURL)
		}
	}
	if l := c.LLM; l != nil {
		if u, err := url.Parse(l.BaseURL); err != nil || u.Host == "" {
			return fmt.Errorf("llm.base_url %q is not an absolute URL", l.BaseURL)
		}
		if l.Model == "" {
			return errors.New("llm.model is required")
		}
	}
	if m := c.MSP; m != nil {
		if err := tierzero.ValidTenantID(m.Tenant); err != nil {
			return fmt.Errorf("msp.tenant: %w", err)
		}
		if _, ok := c.Tenants[m.Tenant]; ok {
			return fmt.Errorf("msp.tenant %s is also a client tenant: give the MSP its own id", m.Tenant)
		}
		seen := map[string]bool{}
		for i, t := range m.Technicians {
			if !validUPN(t.UPN) {
				return fmt.Errorf("msp.technicians[%d]: upn %q is not a user principal name", i, t.UPN)
			}
			if seen[strings.ToLower(t.UPN)] {
				return fmt.Errorf("msp.technicians: %s is listed twice", t.UPN)
			}
			seen[strings.ToLower(t.UPN)] = true
		}
	}
	ids := make([]string, 0, len(c.Tenants))
	for id := range c.Tenants {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for _, s := range ids {
		id := tierzero.TenantID(s)
		t := c.Tenants[id]
		if err := tierzero.ValidTenantID(id); err != nil {
			return err
		}
		for _, u := range t.Admins {
			if !validUPN(u) {
				return fmt.Errorf("tenant %s: admins: %q is not a user principal name", id, u)
			}
		}
		a := t.Auth
		switch a.Method {
		case authSimulator:
		case authClientSecret:
			if t.EntraTenant == "" || a.ClientID == "" || a.ClientSecretEnv == "" {
				return fmt.Errorf("tenant %s: client_secret needs entra_tenant, auth.client_id and auth.client_secret_env", id)
			}
		case authCertificate:
			if t.EntraTenant == "" || a.ClientID == "" || a.CertificateFile == "" {
				return fmt.Errorf("tenant %s: certificate needs entra_tenant, auth.client_id and auth.certificate_file", id)
			}
		case authDelegated:
			if t.EntraTenant == "" || a.ClientID == "" {
				return fmt.Errorf("tenant %s: delegated needs entra_tenant and auth.client_id", id)
			}
		default:
			return fmt.Errorf("tenant %s: auth.method %q: want client_secret, certificate, delegated or simulator", id, a.Method)
		}
	}
	return nil
}

// validUPN reports whether s looks like a user principal name.
func validUPN(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at == strings.LastIndexByte(s, '@') && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n")
}

// tenantConfig loads the configuration file (the flag, else
// $TIERZERO_CONFIG) for a command acting on one tenant, which must be in it;
// nil when there is no file.
func (a *app) tenantConfig(file string, tenant tierzero.TenantID) (*config, error) {
	if file == "" {
		file = a.getenv("TIERZERO_CONFIG")
	}
	if file == "" {
		return nil, nil
	}
	c, err := loadConfig(file)
	if err != nil {
		return nil, err
	}
	if _, ok := c.Tenants[tenant]; !ok && (c.MSP == nil || c.MSP.Tenant != tenant) {
		return nil, fmt.Errorf("tenant %s is not in %s", tenant, file)
	}
	return c, nil
}
