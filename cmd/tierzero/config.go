package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/openai"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/store"
)

// config is the optional configuration file (--config or $TIERZERO_CONFIG):
// how to reach each tenant's Microsoft Graph. Secrets are never in the file:
// it names the environment variables or files that hold them.
type config struct {
	GraphURL string                             `yaml:"graph_url"` // default https://graph.microsoft.com/v1.0
	LLM      *llmConfig                         `yaml:"llm"`       // default: the TIERZERO_LLM_* variables
	MSP      *mspConfig                         `yaml:"msp"`       // the MSP's technicians, if any
	Partner  *partnerConfig                     `yaml:"partner"`   // the MSP's partner tenant, for GDAP
	Serve    *serveConfig                       `yaml:"serve"`     // tierzero serve
	Teams    *teamsConfig                       `yaml:"teams"`     // the Teams bot, if any
	Slack    *slackConfig                       `yaml:"slack"`     // the Slack app, if any
	Tenants  map[tierzero.TenantID]tenantConfig `yaml:"tenants"`
	Console  *consoleConfig                     `yaml:"console"`  // the web console (webconfig.go)
	Report   *reportConfig                      `yaml:"report"`   // the economics report (webconfig.go)
	Baseline *baselineConfig                    `yaml:"baseline"` // tenant baselines (baselineconfig.go)

	// GraphFactsTTL is how long the facts policy reads about a tenant's
	// users, groups, licenses and devices are reused for read decisions
	// (default 30s; 0s: read every time; writes always read fresh).
	GraphFactsTTL *time.Duration `yaml:"graph_facts_ttl"`

	gdapState *gdapWiring // the GDAP gate, built once (partner.go)
}

// serveConfig is where `tierzero serve` listens.
type serveConfig struct {
	Addr        string `yaml:"addr"`         // host:port of the HTTP endpoints, e.g. 127.0.0.1:8080
	AdminSocket string `yaml:"admin_socket"` // the unix socket of the operator commands
	// Workers is how many requests are handled at once (bot.DefaultWorkers
	// when 0): with a model that takes seconds a call, about the requests
	// a second times the seconds one takes (docs/capacity.md).
	Workers int `yaml:"workers"`
	// MaxOpenFiles bounds the tenant files kept open (store.DefaultMaxOpen,
	// within the limit on descriptors, when 0).
	MaxOpenFiles int `yaml:"max_open_files"`
}

// maxWorkers bounds serve.workers: each in-flight request holds a
// goroutine, its conversation and a Graph connection (docs/capacity.md).
const maxWorkers = 16384

// mspConfig is the MSP itself: its technicians work from its own tenant id
// (where their conversations and their side of the audit are kept) and act
// in the client tenants that policy admits them to (the technicians key of
// a policy file).
type mspConfig struct {
	Tenant      tierzero.TenantID  `yaml:"tenant"` // the MSP's own id, e.g. msp; not a client tenant
	Technicians []technicianConfig `yaml:"technicians"`
}

// partnerConfig is the MSP's own Entra tenant as a Microsoft partner: its
// technicians sign in there once (tierzero partner login), and its app,
// consented in each client tenant, reaches the clients whose auth.method is
// gdap within the roles of the GDAP relationships. The technician's sign-in
// is kept in the store of msp.tenant.
type partnerConfig struct {
	EntraTenant   string `yaml:"entra_tenant"`   // the partner tenant's id or primary domain
	ClientID      string `yaml:"client_id"`      // the app registered in the partner tenant
	AuthorityHost string `yaml:"authority_host"` // default https://login.microsoftonline.com
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
	// AllowInsecureHTTP allows a plain http base_url on a host other than
	// this machine (a model server on a trusted private network): the API
	// key and the tenant data of every request cross it in clear.
	AllowInsecureHTTP bool `yaml:"allow_insecure_http"`
	// MaxToolCalls bounds the tool calls run for one request (default 8);
	// MaxToolCallsPerAnswer those taken from one model answer (default 5).
	MaxToolCalls          int `yaml:"max_tool_calls"`
	MaxToolCallsPerAnswer int `yaml:"max_tool_calls_per_answer"`
	// Prices are what models cost, by model name, for the cost per trial
	// of `tierzero eval`.
	Prices map[string]priceConfig `yaml:"prices"`
}

// priceConfig is what a model costs, in US dollars per million tokens.
type priceConfig struct {
	InputPerMillion  *float64 `yaml:"input_per_million"`
	OutputPerMillion *float64 `yaml:"output_per_million"`
}

// price returns the price of model in the llm section, if it has one.
func (c *config) price(model string) (input, output float64, ok bool) {
	p, ok := c.llm().Prices[model]
	if !ok || p.InputPerMillion == nil || p.OutputPerMillion == nil {
		return 0, 0, false
	}
	return *p.InputPerMillion, *p.OutputPerMillion, true
}

// tenantConfig says how to reach one tenant.
type tenantConfig struct {
	EntraTenant string     `yaml:"entra_tenant"` // the Entra tenant id or primary domain
	Auth        authConfig `yaml:"auth"`
	// Admins are the user principal names that have the tenant_admin role
	// (approvals that name role:tenant_admin; plans before every write).
	Admins []string `yaml:"admins"`
	// Teams is the tenant's Microsoft Teams (its Entra tenant id), if any.
	Teams *tenantTeamsConfig `yaml:"teams"`
	// Slack is the tenant's Slack workspace, if it has one.
	Slack *tenantSlackConfig `yaml:"slack"`
	// Ticket is the tenant's ticketing system (ticket.go), if any:
	// escalations become tickets there.
	Ticket *ticketConfig `yaml:"ticket"`
}

// authConfig is one tenant's Graph credential.
type authConfig struct {
	// Method: client_secret or certificate (app-only, through azidentity),
	// delegated (an admin signs in once with `tierzero tenant login`), gdap
	// (through the MSP's partner tenant and GDAP relationship: the partner
	// section's app, a technician signed in with `tierzero partner login`;
	// entra_tenant is then the client's tenant id as the relationship names
	// it), or simulator (the graph/sim bearer token; for tests and demos).
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
	authGDAP         = "gdap"
)

// configPath is the configuration file a command names: its flag (file),
// else $TIERZERO_CONFIG; "" when neither names one.
func (a *app) configPath(file string) string {
	return cmp.Or(file, a.getenv("TIERZERO_CONFIG"))
}

// optionalConfig loads the configuration file named by a flag, else by
// TIERZERO_CONFIG; nil when neither names one.
func (a *app) optionalConfig(file string) (*config, error) {
	if file = a.configPath(file); file == "" {
		return nil, nil
	}
	return loadConfig(file)
}

// loadConfig reads and validates a configuration file. Its error names
// the first problems with their lines; `tierzero config validate` lists them
// all.
func loadConfig(path string) (*config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, ps := parseConfig(b)
	if len(ps) > 0 {
		return nil, &configError{path: path, problems: ps}
	}
	if d := c.baselineDir(); d != "" && !filepath.IsAbs(d) {
		c.Baseline.Dir = filepath.Join(filepath.Dir(path), d) // relative to the file (docs/baseline.md)
	}
	return c, nil
}

// problem is one thing wrong in a configuration file.
type problem struct {
	line int // 1-based; 0 when the YAML parser gave none
	msg  string
}

// configError is a configuration file's problems.
type configError struct {
	path     string
	problems []problem
}

// maxProblemsInError bounds the problems a configError spells out.
const maxProblemsInError = 3

func (e *configError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: ", e.path)
	for i, p := range e.problems {
		if i == maxProblemsInError {
			fmt.Fprintf(&b, " (and %d more: tierzero config validate %s lists them)", len(e.problems)-i, e.path)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if p.line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.line)
		}
		b.WriteString(p.msg)
	}
	return b.String()
}

// parseConfig decodes a configuration file and checks all of it. It returns
// the configuration as far as it could be read and every problem found,
// in line order; the configuration is usable only when there are none.
func parseConfig(b []byte) (*config, []problem) {
	var c config
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return &c, []problem{yamlProblem(err)}
	}
	var ps []problem
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ps = append(ps, problem{extra.Line, "a second YAML document: a configuration file holds one"})
	} else if !errors.Is(err, io.EOF) {
		ps = append(ps, yamlProblem(err))
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		// Unknown and duplicate keys and values of the wrong shape are
		// reported, then cut from a copy of the tree, so that decoding
		// the rest reports only what is left: a mistake costs its line,
		// not its whole section.
		root := copyNode(doc.Content[0], map[*yaml.Node]*yaml.Node{})
		shaped, ok := shape(root, reflect.TypeFor[config](), "")
		if err := root.Decode(&c); ok && err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				// A custom decoder's own error (a ticket block's, say).
				shaped = append(shaped, yamlProblem(err))
			} else {
				for _, e := range te.Errors {
					shaped = append(shaped, yamlProblem(errors.New(e)))
				}
			}
		}
		ps = append(ps, shaped...)
		// What was cut is reported once: not again as missing.
		cut := map[int]bool{}
		for _, p := range shaped {
			cut[p.line] = true
		}
		for _, p := range c.validate(&doc) {
			if !cut[p.line] {
				ps = append(ps, p)
			}
		}
	} else {
		ps = append(ps, c.validate(&doc)...)
	}
	slices.SortStableFunc(ps, func(a, b problem) int { return a.line - b.line })
	return &c, ps
}

// copyNode is a deep copy of n; seen maps the nodes copied so far to
// their copies, so that aliases point into the copy.
func copyNode(n *yaml.Node, seen map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if c, ok := seen[n]; ok {
		return c
	}
	c := *n
	seen[n] = &c
	c.Alias = copyNode(n.Alias, seen)
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, m := range n.Content {
		c.Content[i] = copyNode(m, seen)
	}
	return &c
}

// yamlLine is the line a YAML library error starts with.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlProblem is an error of the YAML library as a problem at its line.
func yamlProblem(err error) problem {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return problem{0, strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	return problem{line, msg[len(m[0]):]}
}

// shape checks that n has the shape of a value of type t: a mapping with
// known keys, each once, for a struct; a mapping for a map; a list for a
// slice; a single value that decodes for the rest. It removes from n what
// does not fit and returns the problems, path naming where n is
// ("tenants.contoso.auth"); ok is false when n itself does not fit.
func shape(n *yaml.Node, t reflect.Type, path string) (ps []problem, ok bool) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return nil, true // it checks its own shape (ticketConfig: by its system)
	}
	var want string
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		want = "a mapping"
		if n.Kind == yaml.MappingNode {
			return shapeMapping(n, t, path), true
		}
	case reflect.Slice:
		want = "a list"
		if n.Kind == yaml.SequenceNode {
			items := n.Content[:0]
			for i, item := range n.Content {
				p, ok := shape(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
				ps = append(ps, p...)
				if ok {
					items = append(items, item)
				}
			}
			n.Content = items
			return ps, true
		}
	case reflect.String:
		want = "a single value"
		if n.Kind == yaml.ScalarNode {
			return nil, true
		}
	default:
		want = "a single value"
		if n.Kind == yaml.ScalarNode {
			if err := n.Decode(reflect.New(t).Interface()); err != nil {
				what := t.Kind().String()
				if t.Kind() == reflect.Bool {
					what = "true or false"
				}
				return []problem{{n.Line, fmt.Sprintf("%s: want %s, not %q", orTop(path), what, n.Value)}}, false
			}
			return nil, true
		}
	}
	return []problem{{n.Line, fmt.Sprintf("%s: want %s, not %s", orTop(path), want, kindName(n.Kind))}}, false
}

// shapeMapping checks a mapping for a struct or a map (see shape).
func shapeMapping(n *yaml.Node, t reflect.Type, path string) []problem {
	var fields map[string]reflect.StructField
	if t.Kind() == reflect.Struct {
		fields = map[string]reflect.StructField{}
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
				fields[name] = f
			}
		}
	}
	var ps []problem
	seen := map[string]int{} // key -> line
	content := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps = append(ps, problem{k.Line, fmt.Sprintf("%s: a key must be a single value, not %s", orTop(path), kindName(k.Kind))})
			continue
		}
		if k.ShortTag() == "!!merge" {
			// A merge key (<<): the mappings it names are part of this one.
			p, ok := shapeMerge(v, t, path)
			ps = append(ps, p...)
			if ok {
				content = append(content, k, v)
			}
			continue
		}
		if line, ok := seen[k.Value]; ok {
			ps = append(ps, problem{k.Line, fmt.Sprintf("%s: %q is already defined at line %d", orTop(path), k.Value, line)})
			continue
		}
		seen[k.Value] = k.Line
		var elem reflect.Type
		if fields != nil {
			f, ok := fields[k.Value]
			if !ok {
				ps = append(ps, problem{k.Line, unknownKey(path, k.Value, fields)})
				continue
			}
			elem = f.Type
		} else {
			elem = t.Elem()
		}
		p, ok := shape(v, elem, join(path, k.Value))
		ps = append(ps, p...)
		if ok {
			content = append(content, k, v)
		}
	}
	n.Content = content
	return ps
}

// shapeMerge checks the value of a merge key (<<): a mapping, or a list of
// mappings, each of type t.
func shapeMerge(v *yaml.Node, t reflect.Type, path string) ([]problem, bool) {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return shape(v, t, path)
	case yaml.SequenceNode:
		var ps []problem
		for _, m := range v.Content {
			p, ok := shapeMerge(m, t, path)
			ps = append(ps, p...)
			if !ok {
				return ps, false
			}
		}
		return ps, true
	}
	return []problem{{v.Line, fmt.Sprintf("%s: a merge (<<) takes a mapping or a list of mappings", orTop(path))}}, false
}

// unknownKey is the problem of an unknown key, with the known key it most
// likely meant.
func unknownKey(path, key string, fields map[string]reflect.StructField) string {
	msg := fmt.Sprintf("%s: unknown key %q", orTop(path), key)
	lower := strings.ToLower(key)
	best, dist := "", 3 // suggest only a near miss
	for name := range fields {
		d := tierzero.EditDistance(lower, name, -1)
		if len(key) >= 3 && (strings.HasPrefix(name, lower) || strings.HasPrefix(lower, name)) {
			d = min(d, 2) // addr for address, tenant for tenants
		}
		if d < dist || d == dist && name < best {
			best, dist = name, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "nothing"
}

// lineOf is the line of what path names in the document doc: the value
// for a single value, else its key; when the path leads nowhere, the line
// of the last key found on the way (1 at worst). Path elements are mapping
// keys (string) and list indices (int).
func lineOf(doc *yaml.Node, path ...any) int {
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return 1
	}
	n := doc.Content[0]
	line := n.Line
	for _, p := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
		case int:
			if n.Kind != yaml.SequenceNode || p < 0 || p >= len(n.Content) {
				return line
			}
			next = n.Content[p]
			line = next.Line
		}
		if next == nil {
			return line
		}
		n = next
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode {
		return n.Line
	}
	return line
}

// validate checks what the configuration says, beyond its shape, and
// returns every problem, at its line in doc (the decoded file; lines are 1
// without it).
func (c *config) validate(doc *yaml.Node) []problem {
	var ps []problem
	add := func(path []any, format string, args ...any) {
		ps = append(ps, problem{lineOf(doc, path...), fmt.Sprintf(format, args...)})
	}
	at := func(p ...any) []any { return p }

	if len(c.Tenants) == 0 {
		add(at("tenants"), "no tenants")
	}
	if c.GraphURL != "" && !absoluteURL(c.GraphURL) {
		add(at("graph_url"), "graph_url %q is not an absolute URL", c.GraphURL)
	}
	if sv := c.Serve; sv != nil {
		if sv.Workers < 0 || sv.Workers > maxWorkers {
			add(at("serve", "workers"), "serve.workers %d must be from 1 to %d (0: the default, %d)", sv.Workers, maxWorkers, bot.DefaultWorkers)
		}
		if sv.MaxOpenFiles < 0 {
			add(at("serve", "max_open_files"), "serve.max_open_files %d must be positive (0: the default, %d)", sv.MaxOpenFiles, store.DefaultMaxOpen)
		}
	}
	if d := c.GraphFactsTTL; d != nil && (*d < 0 || *d > maxFactsTTL) {
		add(at("graph_facts_ttl"), "graph_facts_ttl %s must be from 0s (read every time) to %s", *d, maxFactsTTL)
	}
	if l := c.LLM; l != nil {
		if !absoluteURL(l.BaseURL) {
			add(at("llm", "base_url"), "llm.base_url %q is not an absolute URL", l.BaseURL)
		} else if u, _ := url.Parse(l.BaseURL); u.Scheme == "http" && !l.AllowInsecureHTTP && !openai.Loopback(u.Hostname()) {
			add(at("llm", "base_url"), "llm.base_url %s is plain http to another machine: the API key and tenant data would cross the network in clear; use https, or set llm.allow_insecure_http: true for a trusted network", u.Scheme+"://"+u.Host)
		}
		if l.MaxToolCalls < 0 {
			add(at("llm", "max_tool_calls"), "llm.max_tool_calls must be 1 or more (0 or absent: the default, %d)", agent.DefaultMaxCalls)
		}
		if l.MaxToolCallsPerAnswer < 0 {
			add(at("llm", "max_tool_calls_per_answer"), "llm.max_tool_calls_per_answer must be 1 or more (0 or absent: the default, %d)", agent.DefaultMaxCallsPerAnswer)
		}
		if l.Model == "" {
			add(at("llm", "model"), "llm.model is required")
		}
		if l.APIKeyEnv != "" && !envName.MatchString(l.APIKeyEnv) {
			// The value is not shown: it may be the key itself.
			add(at("llm", "api_key_env"), "llm.api_key_env is not the name of an environment variable: it names the variable that holds the key, never the key")
		}
		for _, model := range slices.Sorted(maps.Keys(l.Prices)) {
			p := l.Prices[model]
			if strings.TrimSpace(model) == "" {
				add(at("llm", "prices"), "llm.prices: a price needs a model name")
				continue
			}
			for _, f := range []struct {
				key string
				v   *float64
			}{{"input_per_million", p.InputPerMillion}, {"output_per_million", p.OutputPerMillion}} {
				switch {
				case f.v == nil:
					add(at("llm", "prices", model), "llm.prices.%s needs %s (US dollars per million tokens)", model, f.key)
				case math.IsNaN(*f.v) || math.IsInf(*f.v, 0) || *f.v < 0:
					add(at("llm", "prices", model, f.key), "llm.prices.%s.%s must be a number of US dollars, 0 or more", model, f.key)
				}
			}
		}
	}
	if s := c.Serve; s != nil {
		if s.Addr != "" {
			if err := hostPort(s.Addr); err != nil {
				add(at("serve", "addr"), "serve.addr %q: %v", s.Addr, err)
			}
		}
		if len(s.AdminSocket) > maxSocketPath {
			add(at("serve", "admin_socket"), "serve.admin_socket is %d bytes long: a unix socket path holds at most %d", len(s.AdminSocket), maxSocketPath)
		}
	}
	if m := c.MSP; m != nil {
		if err := tierzero.ValidTenantID(m.Tenant); err != nil {
			add(at("msp", "tenant"), "msp.tenant: %s", tierzero.ErrorMessage(err))
		} else if _, ok := c.Tenants[m.Tenant]; ok {
			add(at("msp", "tenant"), "msp.tenant %s is also a client tenant: give the MSP its own id", m.Tenant)
		}
		seen := map[string]int{}
		for i, t := range m.Technicians {
			where := at("msp", "technicians", i, "upn")
			switch u := strings.ToLower(t.UPN); {
			case !validUPN(t.UPN):
				add(where, "msp.technicians[%d]: upn %q is not a user principal name", i, t.UPN)
			case seen[u] > 0:
				add(where, "msp.technicians: %s is listed twice (first at line %d)", t.UPN, seen[u])
			default:
				seen[u] = lineOf(doc, where...)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
		t := c.Tenants[id]
		tenant := func(p ...any) []any { return append([]any{"tenants", string(id)}, p...) }
		if err := tierzero.ValidTenantID(id); err != nil {
			add(tenant(), "tenants: %s", tierzero.ErrorMessage(err))
		}
		seen := map[string]bool{}
		for i, u := range t.Admins {
			switch {
			case !validUPN(u):
				add(tenant("admins", i), "tenant %s: admins: %q is not a user principal name", id, u)
			case seen[strings.ToLower(u)]:
				add(tenant("admins", i), "tenant %s: admins: %s is listed twice", id, u)
			}
			seen[strings.ToLower(u)] = true
		}
		a := t.Auth
		needs := func(field, value string) {
			if value == "" {
				add(tenant("auth", field), "tenant %s: %s needs %s", id, a.Method, field)
			}
		}
		switch a.Method {
		case authSimulator:
		case authClientSecret, authCertificate, authDelegated:
			if t.EntraTenant == "" {
				add(tenant("entra_tenant"), "tenant %s: %s needs entra_tenant", id, a.Method)
			}
			needs("client_id", a.ClientID)
			switch a.Method {
			case authClientSecret:
				needs("client_secret_env", a.ClientSecretEnv)
				if a.ClientSecretEnv != "" && !envName.MatchString(a.ClientSecretEnv) {
					// The value is not shown: it may be the secret itself.
					add(tenant("auth", "client_secret_env"), "tenant %s: auth.client_secret_env is not the name of an environment variable: it names the variable that holds the secret, never the secret", id)
				}
			case authCertificate:
				needs("certificate_file", a.CertificateFile)
			}
			if a.AuthorityHost != "" && !absoluteURL(a.AuthorityHost) {
				add(tenant("auth", "authority_host"), "tenant %s: auth.authority_host %q is not an absolute URL", id, a.AuthorityHost)
			}
		case authGDAP:
			if t.EntraTenant == "" {
				add(tenant("entra_tenant"), "tenant %s: gdap needs entra_tenant, the client's Entra tenant id (the GDAP relationship's customer)", id)
			}
			if c.Partner == nil {
				add(tenant("auth", "method"), "tenant %s: gdap needs a partner section (the MSP's partner tenant and app)", id)
			}
			if a.ClientID != "" || a.ClientSecretEnv != "" || a.CertificateFile != "" || a.AuthorityHost != "" {
				add(tenant("auth"), "tenant %s: gdap takes the app and authority of the partner section, not its own", id)
			}
		case "":
			add(tenant("auth", "method"), "tenant %s: auth.method is missing: want client_secret, certificate, delegated, gdap or simulator", id)
		default:
			add(tenant("auth", "method"), "tenant %s: auth.method %q: want client_secret, certificate, delegated, gdap or simulator", id, a.Method)
		}
	}
	if p := c.Partner; p != nil {
		if p.EntraTenant == "" {
			add(at("partner", "entra_tenant"), "partner.entra_tenant is required: the MSP's partner tenant id or primary domain")
		}
		if p.ClientID == "" {
			add(at("partner", "client_id"), "partner.client_id is required: the app registered in the partner tenant")
		}
		if p.AuthorityHost != "" && !absoluteURL(p.AuthorityHost) {
			add(at("partner", "authority_host"), "partner.authority_host %q is not an absolute URL", p.AuthorityHost)
		}
		if c.MSP == nil || c.MSP.Tenant == "" {
			add(at("partner"), "partner needs msp.tenant: the MSP's own tenant id, whose store keeps the technician's sign-in")
		}
	}
	ps = append(ps, c.validateTeams(doc)...)
	ps = append(ps, c.validateSlack(doc)...)
	ps = append(ps, c.validateTickets(doc)...)
	ps = append(ps, c.validateConsole(doc)...)
	ps = append(ps, c.validateReport(doc)...)
	ps = append(ps, c.validateBaseline(doc)...)
	return ps
}

// envName is the name of an environment variable.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxSocketPath is the longest unix socket path (Linux: 108 bytes with the
// terminating NUL).
const maxSocketPath = 107

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// hostPort checks a listen address: host:port with a numeric port (the host
// may be empty: every interface).
func hostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want host:port, e.g. 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
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
	if file = a.configPath(file); file == "" {
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

// llm returns the llm section, empty when there is none.
func (c *config) llm() llmConfig {
	if c == nil || c.LLM == nil {
		return llmConfig{}
	}
	return *c.LLM
}

// maxFactsTTL bounds graph_facts_ttl: how stale a read decision's facts
// may be.
const maxFactsTTL = 5 * time.Minute

// factsTTL is graph.Config's FactsTTL: 0 (the default) when not set, <0
// (none kept) for 0s.
func (c *config) factsTTL() time.Duration {
	switch {
	case c == nil || c.GraphFactsTTL == nil:
		return 0
	case *c.GraphFactsTTL <= 0:
		return -1
	}
	return *c.GraphFactsTTL
}
