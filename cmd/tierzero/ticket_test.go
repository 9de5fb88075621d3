package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/store"
)

func TestValidateTicketConfig(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // "LINE: part of the message"
	}{
		{"webhook", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"https://psa.example/hook\", secret_env: CONTOSO_TICKET_SECRET}\n", nil},
		{"webhook on loopback", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"http://127.0.0.1:9000/hook\", secret_env: S}\n", nil},
		{"unknown system", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: remedy\n", []string{`5: tenant contoso: ticket.system "remedy": want one of autotask, connectwise, halopsa, jira, servicenow, sysaid, webhook`}},
		{"http", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: webhook\n      url: http://psa.example/hook\n      secret_env: S\n", []string{"6: tenant contoso: ticket.url", "must be https"}},
		{"no secret_env", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: webhook\n      url: https://psa.example/hook\n", []string{"4: tenant contoso: ticket (webhook) needs secret_env"}},
		{"a secret in place of its variable", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket:\n      system: webhook\n      url: https://psa.example/hook\n      secret_env: \"hunter2 !\"\n", []string{"7: tenant contoso: ticket.secret_env is not the name of an environment variable"}},
		{"log_resolved", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"https://psa.example/hook\", secret_env: S, log_resolved: true}\n", nil},
		{"log_resolved not a bool", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"https://psa.example/hook\", secret_env: S, log_resolved: often}\n", []string{"ticket.log_resolved must be true or false"}},
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

// Every system's settings are known to config validate: a full block of
// each is clean, and a misspelt key is a problem naming the system.
func TestValidateTicketConfigEverySystem(t *testing.T) {
	blocks := map[string]string{
		"webhook":     `{system: webhook, url: "https://psa.example/hook", secret_env: S}`,
		"servicenow":  `{system: servicenow, url: "https://acme.service-now.com", user_env: U, password_env: P, client_id_env: CI, client_secret_env: CS, table: incident, company: Contoso, assignment_group: Service Desk, assignment_group_rules: [{cause: approval_needed, value: Approvers}], caller: adele, category: inquiry, category_rules: [{action: user.reset_password, value: password}], subcategory: x, priority: "3", priority_rules: [{contains: outage, value: "1"}], requester_lookup: true, close_code: Solved, integration_user: tierzero}`,
		"jira":        `{system: jira, url: "https://acme.atlassian.net", email: a@b.c, email_env: E, api_token_env: T, service_desk_id: "1", request_type_id: "10", request_type_rules: [{cause: model_request, value: "11"}], priority: High, priority_rules: [{contains: down, value: Highest}], fields: {customfield_1: x}, correlation_field: customfield_2, requester_lookup: true, statuses: {resolved: [Done]}, close_transition: Resolve}`,
		"sysaid":      `{system: sysaid, url: "https://acme.sysaidit.com", account_id: acme, user_env: U, password_env: P, correlation_field: cust_text1, type: incident, template: "1", company: "2", assigned_group: "3", category: Network, category_rules: [{action: x, value: y}], priority: "3", priority_rules: [{contains: z, value: "1"}], requester_lookup: true, statuses: {closed: ["3"]}}`,
		"halopsa":     `{system: halopsa, url: "https://acme.halopsa.com", auth_url: "https://acme.halopsa.com/auth", tenant: acme, client_id_env: CI, client_secret_env: CS, client_id: 12, site_id: 3, tickettype_id: 1, team: Service Desk, team_rules: [{cause: model_request, value: L2}], requester_lookup: true}`,
		"connectwise": `{system: connectwise, url: "https://na.myconnectwise.net", login_company: acme, public_key_env: PU, private_key_env: PR, client_id_env: CI, client_id: x, company: 250, board: 1, priority: 8, priority_rules: [{contains: down, value: "6"}], category: 3, category_rules: [{action: x, value: "4"}], requester_lookup: true, statuses: {closed: [">Closed"]}, closed_status: ">Closed"}`,
		"autotask":    `{system: autotask, zone_url: "https://webservices5.autotask.net/ATServicesRest", user_env: U, secret_env: S, integration_code_env: I, company: 0, queue: 8, priority: 2, priority_rules: [{contains: down, value: "1"}], category: 3, category_rules: [{action: x, value: "4"}], requester_lookup: true, statuses: {closed: ["5"]}, note_type: 1}`,
	}
	if len(blocks) != len(ticketSystems) {
		t.Fatalf("%d blocks for %d systems", len(blocks), len(ticketSystems))
	}
	for name, block := range blocks {
		t.Run(name, func(t *testing.T) {
			if _, ok := ticketSystems[name]; !ok {
				t.Fatalf("%s is not a known system", name)
			}
			body := "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: " + block + "\n"
			if _, ps := parseConfig([]byte(body)); len(ps) != 0 {
				t.Errorf("problems %+v", ps)
			}
			bad := strings.TrimSuffix(block, "}") + ", sekret: x}"
			_, ps := parseConfig([]byte("tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: " + bad + "\n"))
			all := fmt.Sprint(ps)
			if !strings.Contains(all, "tenant contoso: ticket ("+name+")") || !strings.Contains(all, "field sekret not found") {
				t.Errorf("problems %s", all)
			}
		})
	}
}

// A ticket closed by a technician ends its conversation: the agent's
// memory of it for the requester is dropped, another's is kept.
func TestTicketCloseForgetsConversation(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conv := tierzero.ConversationID("C1:1700000000.000100")
	adele := tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com"}
	megan := tierzero.Requester{Tenant: "contoso", UPN: "megan@contoso.com"}
	for _, r := range []tierzero.Requester{adele, megan} {
		c := tierzero.Conversation{ID: agent.MemoryID(conv, r), Tenant: "contoso",
			Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "add me to Finance"}}}
		if err := db.SaveConversation(ctx, "contoso", c); err != nil {
			t.Fatal(err)
		}
	}
	if err := forgetConversation(db)(ctx, "contoso", conv, adele); err != nil {
		t.Fatal(err)
	}
	for r, want := range map[string]int{adele.UPN: 0, megan.UPN: 1} {
		c, err := db.Conversation(ctx, "contoso", agent.MemoryID(conv, tierzero.Requester{UPN: r}))
		if err != nil || len(c.Turns) != want {
			t.Errorf("%s: %d turns, %v; want %d", r, len(c.Turns), err, want)
		}
	}
}
