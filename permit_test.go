package tierzero

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCanonicalArgs(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"sorted keys", `{"b":1, "a":{"d":2,"c":"x"}}`, `{"a":{"c":"x","d":2},"b":1}`, false},
		{"numbers kept", `{"n":1.50}`, `{"n":1.50}`, false},
		{"empty is object", ``, `{}`, false},
		{"html not escaped", `{"s":"<a&b>"}`, `{"s":"<a&b>"}`, false},
		{"not json", `{"a":`, ``, true},
		{"array", `[1,2]`, ``, true},
		{"two values", `{} {}`, ``, true},
		{"repeated key", `{"user":"a@x.com","user":null}`, ``, true},
		{"repeated key in other case", `{"user":"a@x.com","USER":"b@x.com"}`, ``, true},
		{"repeated nested key", `{"a":[{"k":1,"k":2}]}`, ``, true},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]}`, `{"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalArgs(json.RawMessage(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPermitVerifier(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	call := ToolCall{Action: "user.reset_password", Args: json.RawMessage(`{"user":"a@contoso.com"}`)}
	hash, _ := ArgsHash(json.RawMessage(`{ "user" : "a@contoso.com" }`)) // same meaning, other spelling
	sign := func(p Permit) Permit { p.Sig = ed25519.Sign(priv, p.SigningBytes()); return p }
	good := sign(Permit{Tenant: "contoso", Action: call.Action, ArgsHash: hash, Nonce: "n1", Expires: now.Add(time.Minute)})
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged := good
	forged.Sig = ed25519.Sign(otherKey, good.SigningBytes())

	tests := []struct {
		name   string
		permit Permit
		tenant TenantID
		at     time.Time
	}{
		{"signed by another key", forged, "contoso", now},
		{"other tenant", good, "fabrikam", now},
		{"expired", good, "contoso", now.Add(time.Minute)},
		{"tampered action", func() Permit { p := good; p.Action = "user.wipe"; return p }(), "contoso", now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewPermitVerifier(pub, func() time.Time { return tt.at })
			if err := v.Spend(tt.permit, tt.tenant, call); ErrorCode(err) != EDenied {
				t.Fatalf("Spend = %v, want denied", err)
			}
		})
	}
	v := NewPermitVerifier(pub, func() time.Time { return now })
	if err := v.Spend(good, "contoso", call); err != nil {
		t.Fatalf("good permit refused: %v", err)
	}
	if err := v.Spend(good, "contoso", call); ErrorCode(err) != EDenied {
		t.Fatalf("second spend = %v, want denied", err)
	}
	if err := NewPermitVerifier(nil, nil).Spend(good, "contoso", call); ErrorCode(err) != EDenied {
		t.Fatalf("verifier without key = %v, want denied", err)
	}
}

// Spent nonces are forgotten once their permits expire, oldest first, and
// never before: a permit is refused a second time while it is valid, and
// the verifier does not grow with the permits it has seen.
func TestPermitVerifierForgetsExpired(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := now
	v := NewPermitVerifier(pub, func() time.Time { return clock })
	call := ToolCall{Action: "user.get", Args: json.RawMessage(`{"user":"a@contoso.com"}`)}
	hash, _ := ArgsHash(call.Args)
	permit := func(nonce string, ttl time.Duration) Permit {
		p := Permit{Tenant: "contoso", Action: call.Action, ArgsHash: hash, Nonce: nonce, Expires: clock.Add(ttl)}
		p.Sig = ed25519.Sign(priv, p.SigningBytes())
		return p
	}
	long := permit("long", time.Hour) // spent first, expires last
	if err := v.Spend(long, "contoso", call); err != nil {
		t.Fatal(err)
	}
	var first []Permit
	for i := range 100 {
		p := permit(fmt.Sprint("n", i), time.Minute)
		first = append(first, p)
		if err := v.Spend(p, "contoso", call); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Millisecond)
	}
	if err := v.Spend(first[50], "contoso", call); ErrorCode(err) != EDenied {
		t.Fatalf("a valid permit spent again: %v, want denied", err)
	}
	// Past the minute: the long permit is still valid and still spent.
	clock = now.Add(2 * time.Minute)
	if err := v.Spend(long, "contoso", call); ErrorCode(err) != EDenied {
		t.Fatalf("the long permit spent again: %v, want denied", err)
	}
	// Past the hour everything before is forgotten.
	clock = now.Add(2 * time.Hour)
	if err := v.Spend(permit("last", time.Minute), "contoso", call); err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	n, q := len(v.used), len(v.spent)
	v.mu.Unlock()
	if n != 1 || q != 1 {
		t.Fatalf("%d nonces kept (%d queued) after all but one expired, want 1", n, q)
	}
}

func TestSecretRedacted(t *testing.T) {
	s := NewSecret("temporary_password", "pw", "Hunter2!xyz")
	for _, got := range []string{s.String(), s.GoString(), string(must(json.Marshal(s))), string(must(json.Marshal(ToolResult{Secret: s})))} {
		if got == "" || strings.Contains(got, "Hunter2") {
			t.Fatalf("secret leaked: %q", got)
		}
	}
	if s.Reveal() != "Hunter2!xyz" {
		t.Fatal("Reveal lost the value")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// The canonical form of recent arguments is remembered; what a caller does
// with the bytes it got does not change what the next caller gets.
func TestCanonicalArgsMemo(t *testing.T) {
	args := json.RawMessage(`{ "user": "adele@contoso.com", "a": [2, 1] }`)
	first, err := CanonicalArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	want := string(first)
	first[2] = 'X'
	for range 2 {
		got, err := CanonicalArgs(args)
		if err != nil || string(got) != want {
			t.Fatalf("again: %s, %v; want %s", got, err, want)
		}
	}
	if want != `{"a":[2,1],"user":"adele@contoso.com"}` {
		t.Fatalf("canonical form %s", want)
	}
	// A refusal is remembered as a refusal.
	bad := json.RawMessage(`{"user":"a","USER":"b"}`)
	for range 2 {
		if _, err := CanonicalArgs(bad); ErrorCode(err) != EInvalid {
			t.Fatalf("repeated key: %v, want EInvalid", err)
		}
	}
	// Past max entries the memo starts again, and answers alike.
	for i := range 2*canonMemo.Size + 1 {
		if _, err := CanonicalArgs(json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := CanonicalArgs(args); string(got) != want {
		t.Fatalf("after the memo was reset: %s", got)
	}
}
