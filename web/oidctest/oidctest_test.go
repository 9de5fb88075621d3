package oidctest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tierzero/tierzero/web/oidctest"
)

const redirect = "https://console.example/console/callback"

// authorize runs /authorize without following the redirect back and
// returns the query it carries.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
		t.Fatalf("redirected to %s, want %s", got, redirect)
	}
	return loc.Query()
}

func setup(t *testing.T, style oauth2.AuthStyle) (*oidctest.Provider, *oauth2.Config, *oidc.IDTokenVerifier) {
	t.Helper()
	p := oidctest.New()
	t.Cleanup(p.Close)
	p.AddClient("console", "s3cret", redirect)
	p.SetUser("alice@msp.example", "Alice Tech")
	prov, err := oidc.NewProvider(context.Background(), p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ep := prov.Endpoint()
	ep.AuthStyle = style
	cfg := &oauth2.Config{ClientID: "console", ClientSecret: "s3cret", RedirectURL: redirect, Endpoint: ep, Scopes: []string{oidc.ScopeOpenID, "profile"}}
	return p, cfg, prov.Verifier(&oidc.Config{ClientID: "console"})
}

func TestFlow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"client_secret_basic", oauth2.AuthStyleInHeader}, {"client_secret_post", oauth2.AuthStyleInParams}} {
		t.Run(tc.name, func(t *testing.T) {
			p, cfg, verifier := setup(t, tc.style)
			ctx := context.Background()
			pkce := oauth2.GenerateVerifier()
			q := authorize(t, cfg.AuthCodeURL("st4te", oidc.Nonce("n0nce"), oauth2.S256ChallengeOption(pkce)))
			if q.Get("state") != "st4te" || q.Get("code") == "" {
				t.Fatalf("callback query %v", q)
			}
			tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			id, err := verifier.Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			var claims struct {
				User string `json:"preferred_username"`
				Name string `json:"name"`
			}
			if err := id.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if id.Nonce != "n0nce" || claims.User != "alice@msp.example" || claims.Name != "Alice Tech" {
				t.Errorf("token: nonce %q user %q name %q", id.Nonce, claims.User, claims.Name)
			}
			if p.Tokens() != 1 {
				t.Errorf("Tokens() = %d, want 1", p.Tokens())
			}
			// The code is spent.
			if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce)); err == nil {
				t.Error("a code redeemed twice was accepted")
			}
		})
	}
}

func TestRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("no verifier", func(t *testing.T) {
		_, cfg, _ := setup(t, oauth2.AuthStyleInHeader)
		q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if _, err := cfg.Exchange(ctx, q.Get("code")); err == nil {
			t.Error("an exchange without the PKCE verifier was accepted")
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		_, cfg, _ := setup(t, oauth2.AuthStyleInHeader)
		q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
			t.Error("an exchange with another verifier was accepted")
		}
	})
	t.Run("no challenge", func(t *testing.T) {
		_, cfg, _ := setup(t, oauth2.AuthStyleInHeader)
		q := authorize(t, cfg.AuthCodeURL("s"))
		if q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Errorf("authorize without PKCE: %v", q)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		_, cfg, _ := setup(t, oauth2.AuthStyleInHeader)
		pkce := oauth2.GenerateVerifier()
		q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(pkce)))
		cfg.ClientSecret = "guess"
		if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce)); err == nil {
			t.Error("a wrong client secret was accepted")
		}
	})
	t.Run("unregistered redirect", func(t *testing.T) {
		_, cfg, _ := setup(t, oauth2.AuthStyleInHeader)
		cfg.RedirectURL = "https://evil.example/callback"
		res, err := http.Get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", res.StatusCode)
		}
	})
	t.Run("denied", func(t *testing.T) {
		p, cfg, _ := setup(t, oauth2.AuthStyleInHeader)
		p.Deny("access_denied")
		q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if q.Get("error") != "access_denied" || q.Get("state") != "s" {
			t.Errorf("callback query %v", q)
		}
	})
	t.Run("unpublished key", func(t *testing.T) {
		p, cfg, verifier := setup(t, oauth2.AuthStyleInHeader)
		p.SignWithUnpublishedKey(true)
		pkce := oauth2.GenerateVerifier()
		q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(pkce)))
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifier.Verify(ctx, tok.Extra("id_token").(string)); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("forged token: err %v, want a signature error", err)
		}
	})
}
