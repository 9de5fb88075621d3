package tierzero

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzCanonicalArgs checks the canonicalizer of model arguments: it never
// panics; what it accepts is a JSON object in canonical form (a fixed
// point) in which no two keys of an object fold alike; and on what it
// accepts, every reader agrees: encoding/json's case-insensitive struct
// decoding (policy's target lookup, the executor), an exact-key map lookup
// (the approval summary) and DecodeArgs read the same value. CanonicalToolArgs
// accepts only the schema's keys, exactly.
//
//	go test -run '^$' -fuzz '^FuzzCanonicalArgs$' -fuzztime 60s .
func FuzzCanonicalArgs(f *testing.F) {
	for _, s := range []string{
		`{"user":"a@x.com"}`,
		`{"user":"a@x.com","uſer":"b@x.com"}`,
		`{"uſer":"b@x.com"}`,
		`{"USER":"b@x.com"}`,
		`{"user":"a","User":"b"}`,
		`{"\u212aey":1,"key":2}`,
		`{"user":"<a&b>","n":1.50,"z":[{"k":1},{"K":2}]}`,
		`{"a":{"b":{"c":[1,2,{"d":null}]}}}`,
		`{"user":"\ud800"}`,
		"{\"us\xffer\":1}",
		``, `[]`, `{} {}`, `{"a":`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	spec := ToolSpec{Action: "user.get", Schema: json.RawMessage(`{"type":"object","properties":{"user":{"type":"string"}},"additionalProperties":false}`)}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := CanonicalArgs(in)
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("CanonicalArgs(%q): error %v is not invalid input", in, err)
			}
			return
		}
		again, err := CanonicalArgs(c)
		if err != nil || !bytes.Equal(again, c) {
			t.Fatalf("not a fixed point: %q -> %q -> %q (%v)", in, c, again, err)
		}
		var m map[string]any
		if err := json.Unmarshal(c, &m); err != nil {
			t.Fatalf("canonical form %q is not a JSON object: %v", c, err)
		}
		if err := noDuplicateKeys(c); err != nil {
			t.Fatalf("canonical form %q repeats a key: %v", c, err)
		}
		// At most one key folds to "user", and struct decoding (which
		// folds) reads exactly that key's value.
		var loose struct {
			User any `json:"user"`
		}
		if err := json.Unmarshal(c, &loose); err != nil {
			return // a value of another type than any accepts: nothing read
		}
		var folded []string
		for k := range m {
			if foldKey(k) == foldKey("user") {
				folded = append(folded, k)
			}
		}
		switch {
		case len(folded) > 1:
			t.Fatalf("%q: keys %q fold alike", c, folded)
		case len(folded) == 1 && !jsonEqual(loose.User, m[folded[0]]):
			t.Fatalf("%q: struct decoding read %v, the key %q holds %v", c, loose.User, folded[0], m[folded[0]])
		case len(folded) == 0 && loose.User != nil:
			t.Fatalf("%q: struct decoding read %v under no key that folds to user", c, loose.User)
		}
		// The tool's keys, exactly.
		tc, err := CanonicalToolArgs(spec, in)
		if err == nil {
			if !bytes.Equal(tc, c) {
				t.Fatalf("CanonicalToolArgs = %q, CanonicalArgs = %q", tc, c)
			}
			for k := range m {
				if k != "user" {
					t.Fatalf("CanonicalToolArgs accepted the key %q", k)
				}
			}
			// Decide (struct decoding) and show (the exact key) agree.
			if has := m["user"] != nil; has && !jsonEqual(loose.User, m["user"]) {
				t.Fatalf("%q: struct decoding read %v, the exact key %v", c, loose.User, m["user"])
			}
		} else if _, other := func() (string, bool) {
			for k := range m {
				if k != "user" {
					return k, true
				}
			}
			return "", false
		}(); !other {
			t.Fatalf("CanonicalToolArgs refused %q, whose only key is user: %v", c, err)
		}
		var strict struct {
			User string `json:"user"`
		}
		if err := DecodeArgs(in, &strict); err == nil {
			if s, _ := m["user"].(string); s != strict.User {
				t.Fatalf("DecodeArgs read %q, the exact key %v", strict.User, m["user"])
			}
		}
	})
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
