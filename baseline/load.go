package baseline

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
)

// The MSP default baseline, compiled into the binary.
//
//go:embed default.yaml
var defaultYAML []byte

// DefaultName names the built-in default in messages.
const DefaultName = "builtin:baseline/default.yaml"

const maxFileSize = 1 << 20

// LoadError lists every problem found in a set of baseline files, each as
// "file:line: message".
type LoadError struct {
	Errs []string
}

func (e *LoadError) Error() string { return strings.Join(e.Errs, "\n") }

// Default returns the MSP default baseline shipped with the binary.
func Default() Baseline {
	f, err := Parse(DefaultName, defaultYAML)
	if err != nil {
		panic("baseline: invalid built-in default: " + err.Error())
	}
	var b Baseline
	var errs []string
	f.applyTo(&b, &errs)
	errs = append(errs, validate(b)...)
	if len(errs) > 0 {
		panic("baseline: invalid built-in default: " + strings.Join(errs, "\n"))
	}
	return b
}

// Set is a loaded directory of baselines: the default with the global files
// over it, and each tenant's overrides over that.
type Set struct {
	global  Baseline
	tenants map[tierzero.TenantID]Baseline
}

// Tenants returns the tenants that have overrides, sorted.
func (s *Set) Tenants() []tierzero.TenantID {
	var ts []tierzero.TenantID
	for t := range s.tenants {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// For returns the baseline of tenant: the global baseline with the
// tenant's own overrides, if any, over it. Another tenant's overrides never
// apply.
func (s *Set) For(tenant tierzero.TenantID) Baseline {
	if b, ok := s.tenants[tenant]; ok {
		return b.Clone()
	}
	return s.global.Clone()
}

// Load reads the baseline files (every *.yaml and *.yml file directly in
// each directory, directories in the order given, files in lexical order)
// and layers them over the built-in default: first every file scoped
// {global: true}, in that order, then each tenant's files scoped
// {tenant: T}, in that order, over the global result. Every problem is
// reported as "file:line: message", all of them in one *LoadError.
func Load(dirs ...string) (*Set, error) {
	var files []*File
	var errs []string
	for _, dir := range dirs {
		fs, err := readDir(dir)
		errs = append(errs, err...)
		files = append(files, fs...)
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	return NewSet(files...)
}

// NewSet layers parsed files over the default, as Load does.
func NewSet(files ...*File) (*Set, error) {
	var errs []string
	global := Default()
	for _, f := range files {
		if f.Tenant == "" {
			f.applyTo(&global, &errs)
		}
	}
	globalErrs := validate(global)
	errs = append(errs, globalErrs...)
	s := &Set{global: global, tenants: map[tierzero.TenantID]Baseline{}}
	for _, f := range files {
		if f.Tenant == "" {
			continue
		}
		b, ok := s.tenants[f.Tenant]
		if !ok {
			b = global.Clone()
		}
		f.applyTo(&b, &errs)
		s.tenants[f.Tenant] = b
	}
	for _, t := range s.Tenants() {
		for _, e := range validate(s.tenants[t]) {
			if !slices.Contains(globalErrs, e) { // said once, for the global baseline
				errs = append(errs, fmt.Sprintf("%s (tenant %s)", e, t))
			}
		}
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errs: slices.Compact(errs)}
	}
	return s, nil
}

func readDir(dir string) ([]*File, []string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []string{fmt.Sprintf("read baseline directory: %v", err)}
	}
	var files []*File
	var errs []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || (path.Ext(n) != ".yaml" && path.Ext(n) != ".yml") {
			continue
		}
		name := filepath.Join(dir, n)
		data, err := readLimited(os.DirFS(dir), n)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		f, err := Parse(name, data)
		if err != nil {
			errs = append(errs, err.(*LoadError).Errs...)
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Sprintf("%s: no baseline files (*.yaml, *.yml)", dir))
	}
	return files, errs
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return data, nil
}

// File is one parsed baseline file: a layer over what comes before it.
// Its Tenant is empty for a global file.
type File struct {
	Name   string
	Tenant tierzero.TenantID

	securityDefaults *bool
	sdAt             string
	locations        []entry[NamedLocation]
	ca               []entry[CAPolicy]
	compliance       []entry[CompliancePolicy]
	departments      []entry[DepartmentTemplate]

	tapEnabled, tapOnce, authenticator, sms, fido2 *bool
	tapLifetime                                    *int
	ssprEnabled                                    *bool
	ssprMethods                                    *int
}

// entry is one item of a list in a file: an item to add or replace, or the
// removal of an inherited one.
type entry[T any] struct {
	name   string
	remove bool
	at     string
	item   T
}

// applyTo layers f over b. Items are keyed by name (case-insensitive): the
// same name replaces the inherited item where it stood, a new name is
// appended, remove: true drops the inherited item; scalars given override.
func (f *File) applyTo(b *Baseline, errs *[]string) {
	if f.securityDefaults != nil {
		v := *f.securityDefaults
		b.SecurityDefaults, b.sdAt = &v, f.sdAt
	}
	b.NamedLocations = merge(b.NamedLocations, f.locations, func(l NamedLocation) string { return l.Name }, "named location", errs)
	b.ConditionalAccess = merge(b.ConditionalAccess, f.ca, func(p CAPolicy) string { return p.Name }, "conditional access policy", errs)
	b.Compliance = merge(b.Compliance, f.compliance, func(p CompliancePolicy) string { return p.Name }, "compliance policy", errs)
	b.Departments = merge(b.Departments, f.departments, func(d DepartmentTemplate) string { return d.Name }, "department", errs)
	set(&b.AuthMethods.TAP.Enabled, f.tapEnabled)
	set(&b.AuthMethods.TAP.UsableOnce, f.tapOnce)
	set(&b.AuthMethods.TAP.LifetimeMinutes, f.tapLifetime)
	set(&b.AuthMethods.Authenticator, f.authenticator)
	set(&b.AuthMethods.SMS, f.sms)
	set(&b.AuthMethods.FIDO2, f.fido2)
	set(&b.SSPR.Enabled, f.ssprEnabled)
	set(&b.SSPR.MethodsRequired, f.ssprMethods)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func merge[T any](base []T, entries []entry[T], name func(T) string, what string, errs *[]string) []T {
	for _, e := range entries {
		i := slices.IndexFunc(base, func(v T) bool { return sameName(name(v), e.name) })
		switch {
		case e.remove && i < 0:
			*errs = append(*errs, fmt.Sprintf("%s: remove: no inherited %s %q", e.at, what, e.name))
		case e.remove:
			base = slices.Delete(slices.Clone(base), i, i+1)
		case i < 0:
			base = append(base, e.item)
		default:
			base = slices.Clone(base)
			base[i] = e.item
		}
	}
	return base
}

// validate checks what only the layered whole can show: references between
// items, and security defaults against Conditional Access.
func validate(b Baseline) []string {
	var errs []string
	for _, p := range b.ConditionalAccess {
		for _, l := range append(slices.Clone(p.Locations.Include), p.Locations.Exclude...) {
			if l == LocationAll || l == LocationAllTrusted {
				continue
			}
			if !slices.ContainsFunc(b.NamedLocations, func(n NamedLocation) bool { return sameName(n.Name, l) }) {
				errs = append(errs, fmt.Sprintf("%s: conditional access policy %q: no named location %q in the baseline", p.at, p.Name, l))
			}
		}
	}
	if sd := b.SecurityDefaults; sd != nil {
		switch {
		case *sd && len(b.ConditionalAccess) > 0:
			errs = append(errs, fmt.Sprintf("%s: security_defaults: true with conditional access policies: Entra ID enforces one or the other; remove security_defaults or the policies", b.sdAt))
		case !*sd && len(b.ConditionalAccess) == 0:
			errs = append(errs, fmt.Sprintf("%s: security_defaults: false with no conditional access policies would leave the tenant without MFA", b.sdAt))
		}
	}
	return errs
}

// Parse reads one baseline file. Unknown keys, wrong types and bad values
// are errors, reported as "name:line: message", every one of them, in the
// order of their lines.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{name: name}
	f := &File{Name: name}
	root := p.document(data)
	if root != nil {
		p.file(root, f)
	}
	if len(p.errs) > 0 {
		sortByLine(name, p.errs)
		return nil, &LoadError{Errs: slices.Compact(p.errs)}
	}
	return f, nil
}

type parser struct {
	name string
	errs []string
}

func (p *parser) at(n *yaml.Node) string { return fmt.Sprintf("%s:%d", p.name, n.Line) }

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if n != nil && n.Line > 0 {
		p.errs = append(p.errs, fmt.Sprintf("%s:%d: %s", p.name, n.Line, msg))
	} else {
		p.errs = append(p.errs, fmt.Sprintf("%s: %s", p.name, msg))
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) document(data []byte) (root *yaml.Node) {
	if len(data) > maxFileSize {
		p.errorf(nil, "larger than %d bytes", maxFileSize)
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			p.errorf(nil, "invalid YAML")
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.errorf(nil, "empty file")
			return nil
		}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			p.errorf(&yaml.Node{Line: line}, "%s", m[2])
		} else {
			p.errorf(nil, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		p.errorf(&more, "more than one YAML document")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errorf(&doc, "empty file")
		return nil
	}
	return doc.Content[0]
}

// mapping checks that n is a mapping of known, unique keys.
func (p *parser) mapping(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "%s: aliases are not supported", what)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping (key: value)", what)
		return nil
	}
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			p.errorf(k, "%s: keys must be plain names", what)
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.errorf(k, "unknown key %q in %s (want %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		if _, dup := m[k.Value]; dup {
			p.errorf(k, "duplicate key %q in %s", k.Value, what)
			continue
		}
		m[k.Value] = v
	}
	return m
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float":
			if strings.TrimSpace(n.Value) == "" {
				p.errorf(n, "%s: must not be empty", what)
				return "", false
			}
			// Names are matched against the tenant's as a person reads
			// them: one a person cannot read as written is refused.
			// The name is quoted in ASCII, so that the character at
			// fault shows.
			if why := checkName(n.Value); why != "" {
				p.errorf(n, "%s: %s %s", what, strconv.QuoteToASCII(n.Value), why)
				return "", false
			}
			return n.Value, true
		}
	}
	p.errorf(n, "%s: want a string", what)
	return "", false
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		switch strings.ToLower(n.Value) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	p.errorf(n, "%s: want true or false", what)
	return false, false
}

func (p *parser) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err == nil && v >= int64(lo) && v <= int64(hi) {
			return int(v), true
		}
	}
	p.errorf(n, "%s: want a whole number from %d to %d", what, lo, hi)
	return 0, false
}

// list reads a sequence of non-empty strings (or one string), each unique
// (case-insensitive).
func (p *parser) list(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode {
		s, _ := p.str(n, what)
		if s == "" {
			return nil
		}
		return []string{s}
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list", what)
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%s: empty list", what)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		s, ok := p.str(c, what)
		if !ok {
			continue
		}
		if slices.ContainsFunc(out, func(o string) bool { return sameName(o, s) }) {
			p.errorf(c, "%s: %q given twice", what, s)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) optBool(m map[string]*yaml.Node, key, what string) *bool {
	n := m[key]
	if n == nil {
		return nil
	}
	if v, ok := p.boolean(n, what); ok {
		return &v
	}
	return nil
}

func (p *parser) optInt(m map[string]*yaml.Node, key, what string, lo, hi int) *int {
	n := m[key]
	if n == nil {
		return nil
	}
	if v, ok := p.integer(n, what, lo, hi); ok {
		return &v
	}
	return nil
}

// Top-level keys.
var fileKeys = []string{"scope", "security_defaults", "named_locations", "conditional_access", "auth_methods", "sspr", "compliance", "departments"}

func (p *parser) file(root *yaml.Node, f *File) {
	m := p.mapping(root, "baseline file", fileKeys...)
	if m == nil {
		return
	}
	if n := m["scope"]; n != nil {
		f.Tenant = p.scope(n)
	} else {
		p.errorf(root, "missing scope: want scope: {global: true} or {tenant: T}")
	}
	if n := m["security_defaults"]; n != nil {
		f.securityDefaults = p.optBool(m, "security_defaults", "security_defaults")
		f.sdAt = p.at(n)
	}
	if n := m["named_locations"]; n != nil {
		f.locations = items(p, n, "named_locations", p.namedLocation)
	}
	if n := m["conditional_access"]; n != nil {
		f.ca = items(p, n, "conditional_access", p.caPolicy)
	}
	if n := m["auth_methods"]; n != nil {
		p.authMethods(n, f)
	}
	if n := m["sspr"]; n != nil {
		if s := p.mapping(n, "sspr", "enabled", "methods_required"); s != nil {
			f.ssprEnabled = p.optBool(s, "enabled", "sspr.enabled")
			f.ssprMethods = p.optInt(s, "methods_required", "sspr.methods_required", 1, 2)
		}
	}
	if n := m["compliance"]; n != nil {
		f.compliance = items(p, n, "compliance", p.compliancePolicy)
	}
	if n := m["departments"]; n != nil {
		f.departments = items(p, n, "departments", p.department)
	}
}

func (p *parser) scope(n *yaml.Node) tierzero.TenantID {
	m := p.mapping(n, "scope", "global", "tenant")
	if m == nil {
		return ""
	}
	switch {
	case m["global"] != nil && m["tenant"] != nil:
		p.errorf(n, "scope: a global scope names no tenant")
	case m["global"] != nil:
		if b, ok := p.boolean(m["global"], "global"); ok && !b {
			p.errorf(m["global"], "global: false is not a scope; name a tenant instead")
		}
	case m["tenant"] != nil:
		t, ok := p.str(m["tenant"], "tenant")
		if !ok {
			return ""
		}
		if err := tierzero.ValidTenantID(tierzero.TenantID(t)); err != nil {
			p.errorf(m["tenant"], "%s", tierzero.ErrorMessage(err))
			return ""
		}
		return tierzero.TenantID(t)
	default:
		p.errorf(n, "scope must be {global: true} or {tenant: T}")
	}
	return ""
}

// items reads a list of named items, each either an item or
// {name: N, remove: true}; names are unique in the file.
func items[T any](p *parser, n *yaml.Node, what string, item func(n *yaml.Node, m map[string]*yaml.Node) T) []entry[T] {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list", what)
		return nil
	}
	var out []entry[T]
	first := map[string]int{}
	for _, c := range n.Content {
		if c.Kind == yaml.MappingNode && len(c.Content) >= 2 && hasKey(c, "remove") {
			m := p.mapping(c, what+" item", "name", "remove")
			if m == nil {
				continue
			}
			e := entry[T]{remove: true, at: p.at(c)}
			if b, ok := p.boolean(m["remove"], "remove"); ok && !b {
				p.errorf(m["remove"], "remove: false: leave the key out instead")
			}
			if m["name"] == nil {
				p.errorf(c, "%s: remove names the item to drop", what)
				continue
			}
			e.name, _ = p.str(m["name"], "name")
			out = append(out, e)
			p.unique(first, e.name, c, what)
			continue
		}
		m := p.mapping(c, what+" item", keysOf(what)...)
		if m == nil {
			continue
		}
		if m["name"] == nil {
			p.errorf(c, "%s: item has no name", what)
			continue
		}
		name, ok := p.str(m["name"], "name")
		if !ok {
			continue
		}
		p.unique(first, name, c, what)
		out = append(out, entry[T]{name: name, at: p.at(c), item: item(c, m)})
	}
	return out
}

func (p *parser) unique(first map[string]int, name string, n *yaml.Node, what string) {
	k := tierzero.FoldName(name)
	if line, dup := first[k]; dup {
		p.errorf(n, "%s: name %q already used at line %d", what, name, line)
		return
	}
	first[k] = n.Line
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func keysOf(what string) []string {
	switch what {
	case "named_locations":
		return []string{"name", "cidrs", "trusted"}
	case "conditional_access":
		return []string{"name", "users", "apps", "client_app_types", "locations", "grant"}
	case "compliance":
		return []string{"name", "platform", "bitlocker", "firewall", "antivirus", "min_os_version", "passcode", "block_jailbroken", "assign_to"}
	case "departments":
		return []string{"name", "groups", "licenses"}
	}
	return nil
}

func (p *parser) namedLocation(n *yaml.Node, m map[string]*yaml.Node) NamedLocation {
	l := NamedLocation{at: p.at(n)}
	l.Name, _ = p.str(m["name"], "name")
	if v := m["cidrs"]; v != nil {
		for _, c := range p.list(v, "cidrs") {
			pfx, err := netip.ParsePrefix(c)
			if err != nil {
				p.errorf(v, "cidrs: %q is not an IP range such as 203.0.113.0/24", c)
				continue
			}
			if pfx.Masked() != pfx {
				p.errorf(v, "cidrs: %q has host bits set; did you mean %s?", c, pfx.Masked())
				continue
			}
			l.CIDRs = append(l.CIDRs, c)
		}
	} else {
		p.errorf(n, "named location %q has no cidrs", l.Name)
	}
	if v := m["trusted"]; v != nil {
		l.Trusted, _ = p.boolean(v, "trusted")
	}
	if l.Trusted {
		for _, c := range l.CIDRs {
			if pfx := netip.MustParsePrefix(c); (pfx.Addr().Is4() && pfx.Bits() < 8) || (pfx.Addr().Is6() && pfx.Bits() < 16) {
				p.errorf(m["cidrs"], "cidrs: trusting %s would trust a large share of the internet", c)
			}
		}
	}
	return l
}

// AdminRoles are the directory role template display names a policy may
// name in users.roles (resolved to template ids against the tenant's
// directoryRoleTemplates).
var AdminRoles = []string{
	"Application Administrator", "Authentication Administrator", "Billing Administrator",
	"Cloud Application Administrator", "Conditional Access Administrator", "Exchange Administrator",
	"Global Administrator", "Global Reader", "Helpdesk Administrator", "Intune Administrator",
	"Password Administrator", "Privileged Authentication Administrator", "Privileged Role Administrator",
	"Security Administrator", "Security Reader", "SharePoint Administrator", "Teams Administrator",
	"User Administrator",
}

var appID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

var clientAppTypes = []string{ClientAll, ClientBrowser, ClientMobileAndDesktop, ClientExchangeActiveSync, ClientOther}

func (p *parser) caPolicy(n *yaml.Node, m map[string]*yaml.Node) CAPolicy {
	c := CAPolicy{at: p.at(n), Apps: []string{AppsAll}, ClientAppTypes: []string{ClientAll}}
	c.Name, _ = p.str(m["name"], "name")
	if v := m["users"]; v != nil {
		c.Users = p.users(v)
	} else {
		p.errorf(n, "conditional access policy %q has no users", c.Name)
	}
	if v := m["apps"]; v != nil {
		c.Apps = p.list(v, "apps")
		if len(c.Apps) > 1 && (slices.Contains(c.Apps, AppsAll) || slices.Contains(c.Apps, AppsOffice365)) {
			p.errorf(v, "apps: all and office365 stand alone")
		}
		for _, a := range c.Apps {
			if a != AppsAll && a != AppsOffice365 && !appID.MatchString(a) {
				p.errorf(v, "apps: %q is not all, office365 or an application id", a)
			}
		}
	}
	if v := m["client_app_types"]; v != nil {
		c.ClientAppTypes = p.list(v, "client_app_types")
		for _, t := range c.ClientAppTypes {
			if !slices.Contains(clientAppTypes, t) {
				p.errorf(v, "client_app_types: unknown %q (want %s)", t, strings.Join(clientAppTypes, ", "))
			}
		}
		if len(c.ClientAppTypes) > 1 && slices.Contains(c.ClientAppTypes, ClientAll) {
			p.errorf(v, "client_app_types: all stands alone")
		}
	}
	if v := m["locations"]; v != nil {
		if lm := p.mapping(v, "locations", "include", "exclude"); lm != nil {
			if x := lm["include"]; x != nil {
				c.Locations.Include = p.list(x, "locations.include")
			}
			if x := lm["exclude"]; x != nil {
				c.Locations.Exclude = p.list(x, "locations.exclude")
			}
			if lm["include"] == nil && lm["exclude"] != nil {
				c.Locations.Include = []string{LocationAll}
			}
		}
	}
	if v := m["grant"]; v != nil {
		if g, ok := p.str(v, "grant"); ok {
			c.Grant = Grant(g)
			switch c.Grant {
			case GrantMFA, GrantCompliantDevice, GrantBlock:
			default:
				p.errorf(v, "grant: unknown %q (want mfa, compliantDevice or block)", g)
			}
		}
	} else {
		p.errorf(n, "conditional access policy %q has no grant", c.Name)
	}
	u := c.Users
	if u.All && c.Grant == GrantBlock && len(u.ExcludeGroups) == 0 && len(u.ExcludeUsers) == 0 {
		p.errorf(n, "conditional access policy %q blocks all users with no exclusion: it could lock everyone out, the break-glass accounts too; exclude them (users.exclude_groups or users.exclude_users)", c.Name)
	}
	return c
}

func (p *parser) users(n *yaml.Node) Users {
	var u Users
	m := p.mapping(n, "users", "all", "roles", "groups", "exclude_groups", "exclude_users")
	if m == nil {
		return u
	}
	if v := m["all"]; v != nil {
		u.All, _ = p.boolean(v, "users.all")
		if !u.All {
			p.errorf(v, "users.all: false: name roles or groups instead")
		}
	}
	if v := m["roles"]; v != nil {
		u.Roles = p.list(v, "users.roles")
		for _, r := range u.Roles {
			if !slices.ContainsFunc(AdminRoles, func(a string) bool { return sameName(a, r) }) {
				p.errorf(v, "users.roles: unknown directory role %q", r)
			}
		}
	}
	if v := m["groups"]; v != nil {
		u.Groups = p.list(v, "users.groups")
	}
	if v := m["exclude_groups"]; v != nil {
		u.ExcludeGroups = p.list(v, "users.exclude_groups")
	}
	if v := m["exclude_users"]; v != nil {
		u.ExcludeUsers = p.list(v, "users.exclude_users")
		for _, x := range u.ExcludeUsers {
			if strings.Count(x, "@") != 1 {
				p.errorf(v, "users.exclude_users: %q is not a user principal name", x)
			}
		}
	}
	switch {
	case u.All && (u.Roles != nil || u.Groups != nil):
		p.errorf(n, "users: all: true stands alone; roles and groups narrow it")
	case !u.All && u.Roles == nil && u.Groups == nil:
		p.errorf(n, "users: give all: true, roles or groups")
	}
	return u
}

var version = regexp.MustCompile(`^[0-9]{1,5}(\.[0-9]{1,5}){0,3}$`)

func (p *parser) compliancePolicy(n *yaml.Node, m map[string]*yaml.Node) CompliancePolicy {
	c := CompliancePolicy{at: p.at(n)}
	c.Name, _ = p.str(m["name"], "name")
	if v := m["platform"]; v != nil {
		if s, ok := p.str(v, "platform"); ok {
			c.Platform = Platform(s)
			if c.Platform != Windows && c.Platform != IOS && c.Platform != Android {
				p.errorf(v, "platform: unknown %q (want windows, ios or android)", s)
			}
		}
	} else {
		p.errorf(n, "compliance policy %q has no platform", c.Name)
	}
	flags := []struct {
		key     string
		dst     *bool
		windows bool // a Windows setting, else a mobile one
		both    bool
	}{
		{"bitlocker", &c.BitLocker, true, false},
		{"firewall", &c.Firewall, true, false},
		{"antivirus", &c.Antivirus, true, false},
		{"block_jailbroken", &c.BlockJailbroken, false, false},
		{"passcode", &c.Passcode, false, true},
	}
	for _, f := range flags {
		v := m[f.key]
		if v == nil {
			continue
		}
		*f.dst, _ = p.boolean(v, f.key)
		if f.both || c.Platform == "" {
			continue
		}
		if f.windows != (c.Platform == Windows) {
			p.errorf(v, "%s is not a setting of %s compliance policies", f.key, c.Platform)
		}
	}
	if v := m["min_os_version"]; v != nil {
		if s, ok := p.str(v, "min_os_version"); ok {
			c.MinOSVersion = s
			if !version.MatchString(s) {
				p.errorf(v, "min_os_version: %q is not a version such as 10.0.19045 or 17.0", s)
			}
		}
	}
	if v := m["assign_to"]; v != nil {
		c.AssignTo = p.list(v, "assign_to")
	}
	return c
}

func (p *parser) department(n *yaml.Node, m map[string]*yaml.Node) DepartmentTemplate {
	d := DepartmentTemplate{at: p.at(n)}
	d.Name, _ = p.str(m["name"], "name")
	if v := m["groups"]; v != nil {
		d.Groups = p.list(v, "groups")
	}
	if v := m["licenses"]; v != nil {
		d.Licenses = p.list(v, "licenses")
	}
	if d.Groups == nil && d.Licenses == nil {
		p.errorf(n, "department %q gives no groups or licenses", d.Name)
	}
	return d
}

func (p *parser) authMethods(n *yaml.Node, f *File) {
	m := p.mapping(n, "auth_methods", "temporary_access_pass", "authenticator", "sms", "fido2")
	if m == nil {
		return
	}
	if v := m["temporary_access_pass"]; v != nil {
		if t := p.mapping(v, "temporary_access_pass", "enabled", "lifetime_minutes", "usable_once"); t != nil {
			f.tapEnabled = p.optBool(t, "enabled", "temporary_access_pass.enabled")
			f.tapLifetime = p.optInt(t, "lifetime_minutes", "temporary_access_pass.lifetime_minutes", 10, 43200)
			f.tapOnce = p.optBool(t, "usable_once", "temporary_access_pass.usable_once")
		}
	}
	f.authenticator = p.optBool(m, "authenticator", "authenticator")
	f.sms = p.optBool(m, "sms", "sms")
	f.fido2 = p.optBool(m, "fido2", "fido2")
}

// sortByLine orders "name:line: message" lines by line, stably.
func sortByLine(name string, lines []string) {
	line := func(s string) int {
		rest, ok := strings.CutPrefix(s, name+":")
		if !ok {
			return 0
		}
		n, _, _ := strings.Cut(rest, ":")
		v, _ := strconv.Atoi(n)
		return v
	}
	slices.SortStableFunc(lines, func(a, b string) int { return line(a) - line(b) })
}
