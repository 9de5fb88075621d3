package tierzero

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// CanonicalArgs returns the canonical JSON form of tool arguments: object keys
// sorted, no insignificant whitespace, numbers kept as written. Two argument
// documents that mean the same thing have the same canonical form. Empty
// arguments are the empty object.
//
// It is strict about keys: an object that repeats a key, spelled the same or
// differently under Unicode case folding (user, USER, uſer with U+017F, the
// Kelvin sign K for k), is refused, because decoders disagree on which one
// wins (encoding/json matches struct fields under exactly that folding).
// CanonicalToolArgs also refuses keys that are not exactly the tool's.
func CanonicalArgs(args json.RawMessage) ([]byte, error) {
	_, canon, err := canonicalValue(args)
	return canon, err
}

// canonicalValue is CanonicalArgs that also returns the decoded arguments,
// so that a caller checking them further does not decode them again. The
// decoded map is shared with later calls on the same bytes (canonMemo):
// the caller must not change it. The canonical bytes are the caller's.
func canonicalValue(args json.RawMessage) (map[string]any, []byte, error) {
	c := canonMemo.Get(string(args))
	return c.v, bytes.Clone(c.canon), c.err
}

// canonMemo remembers the canonical form of recent argument documents: one
// call's arguments are made canonical by the agent, the Guard (decision,
// tool keys, permit), the executor and the audit, each from the same
// bytes, and decoding them checks every key under case folding. Tool
// arguments are a few hundred bytes; longer documents are not kept.
var canonMemo = &Memo[canonical]{F: func(args string) canonical {
	v, canon, err := canonicalValueOf(json.RawMessage(args))
	return canonical{v: v, canon: canon, err: err}
}, Size: 2048, MaxKey: 4096}

type canonical struct {
	v     map[string]any
	canon []byte
	err   error
}

// canonicalValueOf is canonicalValue without the memo.
func canonicalValueOf(args json.RawMessage) (map[string]any, []byte, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		return map[string]any{}, []byte("{}"), nil
	}
	v, err := decodeArgsValue(args)
	if err != nil {
		return nil, nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, Errorf(EInvalid, "tool arguments must be a JSON object")
	}
	canon, err := encodeCanonical(m)
	if err != nil {
		return nil, nil, err
	}
	return m, canon, nil
}

// decodeArgsValue decodes one JSON value, numbers as written, after checking
// that no object in it repeats a key (see CanonicalArgs).
func decodeArgsValue(args []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(EInvalid, "tool arguments are not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, Errorf(EInvalid, "tool arguments hold more than one JSON value")
	}
	if err := noDuplicateKeys(args); err != nil {
		return nil, err
	}
	return v, nil
}

func encodeCanonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // encoding/json sorts map keys
		return nil, fmt.Errorf("canonical args: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// CanonicalToolArgs is CanonicalArgs for a call of spec, and stricter: every
// key, at every level the tool's schema describes (properties, and items of
// arrays), must be exactly one of the schema's property names, byte for
// byte. A tool without a schema takes no arguments. This is what policy
// decides on, what an approver is shown and what the executor runs.
func CanonicalToolArgs(spec ToolSpec, args json.RawMessage) ([]byte, error) {
	v, canon, err := canonicalValue(args)
	if err != nil {
		return nil, err
	}
	var s argSchema
	if len(bytes.TrimSpace(spec.Schema)) > 0 {
		if err := json.Unmarshal(spec.Schema, &s); err != nil {
			return nil, Errorf(EInternal, "the schema of %s is not valid JSON", spec.Action)
		}
	}
	if err := s.checkKeys(v, ""); err != nil {
		return nil, err
	}
	return canon, nil
}

// argSchema is what key checking reads of a tool's JSON schema.
type argSchema struct {
	Properties map[string]*argSchema `json:"properties"`
	Items      *argSchema            `json:"items"`
}

func (s *argSchema) checkKeys(v any, path string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p, ok := s.Properties[k]
			if !ok || p == nil {
				names := make([]string, 0, len(s.Properties))
				for n := range s.Properties {
					names = append(names, n)
				}
				slices.Sort(names)
				want := "none"
				if len(names) > 0 {
					want = strings.Join(names, ", ")
				}
				return Errorf(EInvalid, "tool arguments: unknown key %q%s (the keys are exactly: %s)", k, at(path), want)
			}
			if err := p.checkKeys(x, path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		if s.Items == nil {
			return nil
		}
		for i, x := range v {
			if err := s.Items.checkKeys(x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return " in " + strings.TrimPrefix(path, ".")
}

// DecodeArgs decodes tool arguments into v, a pointer to a struct, strictly:
// the arguments must be canonicalizable (CanonicalArgs) and every key must
// be exactly the JSON name of one of v's fields, byte for byte; encoding/json
// alone would also match "USER" or "uſer" to a field named "user".
func DecodeArgs(args json.RawMessage, v any) error {
	canon, err := CanonicalArgs(args)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode args: want a pointer to a struct, not %T", v)
	}
	fields := map[string]bool{}
	jsonNames(rv.Elem().Type(), fields)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(canon, &m); err != nil {
		return Errorf(EInvalid, "tool arguments are not valid JSON: %v", err)
	}
	for k := range m {
		if !fields[k] {
			return Errorf(EInvalid, "invalid arguments: unknown key %q", k)
		}
	}
	// Every key is exactly a field's name and no two keys fold alike, so
	// encoding/json's case-insensitive matching cannot pick another field.
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(EInvalid, "invalid arguments: %v", err)
	}
	return nil
}

// jsonNames adds the JSON names of t's exported fields (embedded structs
// included) to names.
func jsonNames(t reflect.Type, names map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-":
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			jsonNames(f.Type, names)
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		names[name] = true
	}
}

// noDuplicateKeys reports an EInvalid error when any object in the JSON
// document repeats a key, compared under Unicode simple case folding (as
// strings.EqualFold and encoding/json's field matching compare).
func noDuplicateKeys(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return Errorf(EInvalid, "tool arguments are not valid JSON: %v", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k := foldKey(tok.(string))
			if top.keys[k] {
				return Errorf(EInvalid, "tool arguments repeat the key %q (keys that differ only in case are the same key)", tok)
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		if top != nil && top.object {
			top.key = true // this token is a value; a key follows
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// foldKey maps s to a representative of its class under Unicode simple
// case folding: foldKey(a) == foldKey(b) exactly when strings.EqualFold(a, b).
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

// ArgsHash is the hex SHA-256 of the canonical arguments.
func ArgsHash(args json.RawMessage) (string, error) {
	c, err := CanonicalArgs(args)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// Permit is the proof that policy allowed one tool call. Only package policy
// holds the private key that signs permits; a Graph executor runs a call only
// with a permit whose signature, tenant, action, argument hash and expiry
// match the call, and only once (see PermitVerifier).
type Permit struct {
	Tenant    TenantID
	Action    string
	ArgsHash  string
	Requester string
	Rule      string
	Nonce     string
	Expires   time.Time
	Sig       []byte
}

// SigningBytes is the byte string a permit's signature covers.
func (p Permit) SigningBytes() []byte {
	var b bytes.Buffer
	b.WriteString("tierzero-permit-v1")
	for _, s := range []string{string(p.Tenant), p.Action, p.ArgsHash, p.Requester, p.Rule, p.Nonce} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		b.Write(n[:])
		b.WriteString(s)
	}
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(p.Expires.UnixNano()))
	b.Write(t[:])
	return b.Bytes()
}

// PermitVerifier checks permits against the public key of the policy engine
// that signs them, and remembers spent nonces so a permit runs at most once.
type PermitVerifier struct {
	key ed25519.PublicKey
	now func() time.Time

	mu    sync.Mutex
	used  map[string]time.Time // nonce -> expiry
	spent []spentNonce         // the nonces of used, in the order spent
}

// spentNonce is a nonce kept until its permit expires.
type spentNonce struct {
	nonce   string
	expires time.Time
}

// NewPermitVerifier returns a verifier for permits signed by the private half
// of key. now may be nil for time.Now.
func NewPermitVerifier(key ed25519.PublicKey, now func() time.Time) *PermitVerifier {
	if now == nil {
		now = time.Now
	}
	return &PermitVerifier{key: key, now: now, used: make(map[string]time.Time)}
}

// Spend verifies that p permits call in tenant and marks it spent. Any
// mismatch, a bad signature, an expired or already spent permit is an
// EDenied error.
func (v *PermitVerifier) Spend(p Permit, tenant TenantID, call ToolCall) error {
	if v == nil || len(v.key) != ed25519.PublicKeySize {
		return Errorf(EDenied, "no permit verifier configured")
	}
	if !ed25519.Verify(v.key, p.SigningBytes(), p.Sig) {
		return Errorf(EDenied, "permit signature invalid")
	}
	if p.Tenant != tenant {
		return Errorf(EDenied, "permit is for tenant %q, not %q", p.Tenant, tenant)
	}
	if p.Action != call.Action {
		return Errorf(EDenied, "permit is for action %q, not %q", p.Action, call.Action)
	}
	h, err := ArgsHash(call.Args)
	if err != nil {
		return err
	}
	if h != p.ArgsHash {
		return Errorf(EDenied, "permit does not cover these arguments")
	}
	now := v.now()
	if !now.Before(p.Expires) {
		return Errorf(EDenied, "permit expired")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// Spent nonces are kept until their permit expires, and forgotten in
	// the order spent: permits live the same time, so the oldest expire
	// first (one that outlives a later one is kept the longer, never
	// forgotten early). Amortized constant time; sweeping the whole map
	// on every call cost time in proportion to the permits of the last
	// TTL.
	for len(v.spent) > 0 && !now.Before(v.spent[0].expires) {
		if exp, ok := v.used[v.spent[0].nonce]; ok && !now.Before(exp) {
			delete(v.used, v.spent[0].nonce)
		}
		v.spent = v.spent[1:]
	}
	if _, spent := v.used[p.Nonce]; spent {
		return Errorf(EDenied, "permit already used")
	}
	v.used[p.Nonce] = p.Expires
	v.spent = append(v.spent, spentNonce{p.Nonce, p.Expires})
	return nil
}
