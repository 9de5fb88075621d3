package teams

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestEscapeMarkdown(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain words, 42.", "plain words, 42."},
		{"<at>Megan</at> approve", "&lt;at&gt;Megan&lt;/at&gt; approve"},
		{"[click here](https://evil.example)", `\[click here\](https://evil.example)`},
		{"**bold** _it_ `code` ~~x~~ # h | t", `\*\*bold\*\* \_it\_ \` + "`code\\`" + ` \~\~x\~\~ \# h \| t`},
		{"<b>x</b> & {{DATE(2026-01-01T00:00:00Z)}}", "&lt;b&gt;x&lt;/b&gt; &amp; \\{\\{DATE(2026-01-01T00:00:00Z)\\}\\}"},
		{"a\u202Egnp.exe\u200B b\x1b[2Kc", "a\uFFFDgnp.exe b" + "c"},
		{"two\r\nlines", "two\nlines"},
	} {
		if got := escapeMarkdown(c.in); got != c.want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCardTextOnlyInTextRuns(t *testing.T) {
	v := approvalView{ID: "ap-1", Summary: "reset **MFA** for <at>Adele</at> {{DATE(x)}}", Requester: "Adele\u202E (adele@contoso.com)",
		Reason: strings.Repeat("long ", 1000), Expires: time.Now()}
	card := v.card()
	b, _ := json.Marshal(card)
	var walk func(x any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if x["type"] == "TextBlock" && strings.ContainsAny(x["text"].(string), "<*{") {
				t.Errorf("untrusted text in a TextBlock: %v", x)
			}
			if x["type"] == "TextRun" {
				if s := x["text"].(string); strings.ContainsRune(s, 0x202E) || len(s) > maxCardText+4 {
					t.Errorf("TextRun not cleaned: %q", s)
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	var generic any
	json.Unmarshal(b, &generic)
	walk(generic)
	if card["version"] != "1.4" || card["actions"] == nil {
		t.Fatalf("card %s", b)
	}
	v.Outcome = "Approved by miriam and done."
	if c := v.card(); c["actions"] != nil {
		t.Fatal("a settled card keeps its buttons")
	}
}

func TestAllowed(t *testing.T) {
	c := &Connector{ServiceURLs: []string{"https://smba.trafficmanager.net/", "https://smba.infra.gov.teams.microsoft.us/teams", "http://127.0.0.1:9/"}}
	for url, want := range map[string]bool{
		"https://smba.trafficmanager.net/emea/":             true,
		"https://smba.trafficmanager.net/":                  true,
		"https://SMBA.trafficmanager.net/amer/":             true,
		"https://smba.infra.gov.teams.microsoft.us/teams/":  true,
		"http://127.0.0.1:9/x/":                             true,
		"http://smba.trafficmanager.net/emea/":              false, // not https
		"https://smba.trafficmanager.net.evil.com/emea/":    false,
		"https://evil.com/https://smba.trafficmanager.net/": false,
		"https://smba.trafficmanager.net@evil.com/":         false,
		"https://user@smba.trafficmanager.net/emea/":        false,
		"https://smba.infra.gov.teams.microsoft.us/teamsx/": false,
		"https://smba.trafficmanager.net/emea/?x=1":         false,
		"http://127.0.0.2:9/":                               false,
		"":                                                  false,
	} {
		if got := c.Allowed(url); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", url, got, want)
		}
	}
}

func TestConnectorToken(t *testing.T) {
	var calls atomic.Int32
	var fail atomic.Bool
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch {
		case fail.Load():
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret s3cr3t"}`)
		default:
			io.WriteString(w, `{"token_type":"Bearer","expires_in":"3599","access_token":"tok-`+string(rune('0'+calls.Load()))+`"}`)
		}
	}))
	defer tokens.Close()
	var mu sync.Mutex
	var got []*http.Request
	conn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer tok-1" && r.URL.Query().Get("revoked") == "" && strings.Contains(r.URL.Path, "revoke") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"id":"new-activity"}`)
	}))
	defer conn.Close()
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	c := &Connector{TokenURL: tokens.URL, ClientID: "id", ClientSecret: "s3cr3t", ServiceURLs: []string{conn.URL + "/"},
		Now: func() time.Time { return time.Unix(0, clock.Load()) }}
	ctx := context.Background()
	conv := "19:abc@thread.tacv2;messageid=42"
	id, err := c.ReplyTo(ctx, conn.URL+"/", conv, "42", &outActivity{Type: "message", Text: "hi"})
	if err != nil || id != "new-activity" {
		t.Fatalf("reply: %q, %v", id, err)
	}
	if p := got[0].URL.EscapedPath(); p != "/v3/conversations/19:abc@thread.tacv2%3Bmessageid=42/activities/42" {
		t.Fatalf("path %s", p)
	}
	if got[0].URL.Path != "/v3/conversations/"+conv+"/activities/42" {
		t.Fatalf("decoded path %s", got[0].URL.Path)
	}
	for range 5 {
		if _, err := c.Send(ctx, conn.URL+"/", "a:1", &outActivity{Type: "message"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d token requests for 6 calls, want 1", n)
	}
	// Near its expiry the token is renewed.
	clock.Add(int64(56 * time.Minute))
	c.Send(ctx, conn.URL+"/", "a:1", &outActivity{Type: "message"})
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d token requests after expiry, want 2", n)
	}
	// The token endpoint refuses: an error without the secret, no request
	// to the connector, no panic.
	clock.Add(int64(2 * time.Hour))
	fail.Store(true)
	before := len(got)
	_, err = c.Send(ctx, conn.URL+"/", "a:1", &outActivity{Type: "message"})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("error %v", err)
	}
	if len(got) != before {
		t.Fatal("the connector was called without a token")
	}
	// The token endpoint is unreachable.
	c.TokenURL = "http://127.0.0.1:1/token"
	if _, err := c.Send(ctx, conn.URL+"/", "a:1", &outActivity{Type: "message"}); err == nil {
		t.Fatal("no error with the token endpoint down")
	}
	// Our token never goes to a service URL outside the allowlist.
	fail.Store(false)
	c.TokenURL = tokens.URL
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("token sent to %s", r.URL)
	}))
	defer evil.Close()
	if _, err := c.Send(ctx, evil.URL+"/", "a:1", &outActivity{Type: "message"}); err == nil {
		t.Fatal("sent to a service URL outside the allowlist")
	}
}

func TestValidatorKeyCache(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	var fetches atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/keys") {
			fetches.Add(1)
			json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
				"kty": "RSA", "kid": "k1", "n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()), "endorsements": []string{"msteams"}}}})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"jwks_uri": srv.URL + "/keys"})
	}))
	defer srv.Close()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	v := &Validator{AppID: "app", MetadataURL: srv.URL + "/md", Now: now}
	sign := func(kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": Issuer, "aud": "app", "exp": now().Add(time.Hour).Unix(), "serviceurl": "https://x/"})
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(key)
		return "Bearer " + s
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 20 { // concurrent first use: one fetch
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Authenticate(ctx, sign("k1")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 20 requests, want 1", n)
	}
	// Unknown key ids: one fetch a minute at most.
	forged := func(n int) {
		for range n {
			if _, err := v.Authenticate(ctx, sign("forged")); err == nil {
				t.Fatal("unknown key accepted")
			}
		}
	}
	forged(10)
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after 10 unknown key ids within the minute, want 1", n)
	}
	clock.Add(int64(2 * time.Minute))
	forged(10)
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after 10 more a minute later, want 2", n)
	}
	// Keys older than a day are fetched again; when that fails, the old
	// ones still verify.
	clock.Add(int64(25 * time.Hour))
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	if _, err := v.Authenticate(ctx, sign("k1")); err != nil {
		t.Fatalf("stale key with the endpoint down: %v", err)
	}
	if v.Fetches() != 3 {
		t.Fatalf("%d fetch attempts, want 3", v.Fetches())
	}
	// No app id: nothing is accepted.
	if _, err := (&Validator{MetadataURL: srv.URL + "/md"}).Authenticate(ctx, sign("k1")); err == nil {
		t.Fatal("an empty app id accepted a token")
	}
}

func TestPackage(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePackage(&buf, PackageConfig{AppID: "00000000-0000-4000-8000-00000000B07A"}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, _ := f.Open()
		files[f.Name], _ = io.ReadAll(r)
		r.Close()
	}
	var m struct {
		Schema          string `json:"$schema"`
		ManifestVersion string
		ID              string
		Bots            []struct {
			BotID  string
			Scopes []string
		}
		Icons struct{ Color, Outline string }
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.ManifestVersion != ManifestVersion || !strings.Contains(m.Schema, "/v"+ManifestVersion+"/") ||
		m.ID != "00000000-0000-4000-8000-00000000b07a" || len(m.Bots) != 1 || m.Bots[0].BotID != m.ID ||
		strings.Join(m.Bots[0].Scopes, ",") != "personal,team" {
		t.Fatalf("manifest %s", files["manifest.json"])
	}
	for name, size := range map[string]int{m.Icons.Color: 192, m.Icons.Outline: 32} {
		img, err := png.Decode(bytes.NewReader(files[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Fatalf("%s is %v, want %dx%d", name, b, size, size)
		}
	}
	// The outline icon is white on transparent.
	img, _ := png.Decode(bytes.NewReader(files["outline.png"]))
	for y := range 32 {
		for x := range 32 {
			r, g, b, a := img.At(x, y).RGBA()
			if a != 0 && (r != 0xffff || g != 0xffff || b != 0xffff) {
				t.Fatalf("outline pixel (%d,%d) is not white or transparent", x, y)
			}
		}
	}
	if err := WritePackage(io.Discard, PackageConfig{AppID: "not-a-guid"}); err == nil {
		t.Fatal("a bad app id was packaged")
	}
}
