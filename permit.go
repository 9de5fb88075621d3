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
	"strings"
	"sync"
	"time"
)

// CanonicalArgs returns the canonical JSON form of tool arguments: object keys
// sorted, no insignificant whitespace, numbers kept as written. Two argument
// documents that mean the same thing have the same canonical form. Empty
// arguments are the empty object.
func CanonicalArgs(args json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		return []byte("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(EInvalid, "tool arguments are not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, Errorf(EInvalid, "tool arguments hold more than one JSON value")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, Errorf(EInvalid, "tool arguments must be a JSON object")
	}
	// Decoders disagree on repeated keys (the last wins here, a null may be
	// skipped there, and encoding/json matches struct fields ignoring case),
	// so a document with one is refused: policy and executor must read the
	// same arguments.
	if err := noDuplicateKeys(args); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // encoding/json sorts map keys
		return nil, fmt.Errorf("canonical args: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// noDuplicateKeys reports an EInvalid error when any object in the JSON
// document repeats a key, compared without regard to case.
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
			k := strings.ToLower(tok.(string))
			if top.keys[k] {
				return Errorf(EInvalid, "tool arguments repeat the key %q", tok)
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

	mu   sync.Mutex
	used map[string]time.Time // nonce -> expiry
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
	for n, exp := range v.used { // spent nonces are kept until their permit expires
		if !now.Before(exp) {
			delete(v.used, n)
		}
	}
	if _, spent := v.used[p.Nonce]; spent {
		return Errorf(EDenied, "permit already used")
	}
	v.used[p.Nonce] = p.Expires
	return nil
}
