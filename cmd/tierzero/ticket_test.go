package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidateTicketConfig(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // "LINE: part of the message"
	}{
		{"webhook", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"https://psa.example/hook\", secret_env: CONTOSO_TICKET_SECRET}\n", nil},
		{"webhook on loopback", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"http://127.0.0.1:9000/hook\", secret_env: S}\n", nil},
		{"unknown system", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: remedy\n", []string{`5: tenant contoso: ticket.system "remedy": want one of autotask, connectwise, jira, servicenow, sysaid, webhook`}},
		{"http", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: webhook\n      url: http://psa.example/hook\n      secret_env: S\n", []string{"6: tenant contoso: ticket.url", "must be https"}},
		{"no secret_env", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: webhook\n      url: https://psa.example/hook\n", []string{"4: tenant contoso: ticket (webhook) needs secret_env"}},
		{"a secret in place of its variable", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: webhook\n      url: https://psa.example/hook\n      secret_env: \"hunter2 !\"\n", []string{"7: tenant contoso: ticket.secret_env is not the name of an environment variable"}},
		{"unknown key", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"https://psa.example/hook\", secret_env: S, sekret: x}\n", []string{"tenant contoso: ticket (webhook)", `field sekret not found`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := parseConfig([]byte(tt.body))
			var got []string
			for _, p := range ps {
				got = append(got, fmt.Sprintf("%d: %s", p.line, p.msg))
			}
			if len(tt.want) == 0 {
				if len(got) != 0 {
					t.Errorf("problems %q", got)
				}
				return
			}
			all := strings.Join(got, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems %q lack %q", got, w)
				}
			}
			if strings.Contains(all, "hunter2") {
				t.Errorf("a problem shows the secret")
			}
		})
	}
}
