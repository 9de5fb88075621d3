package graph_test

// The error-path sweep: every tool of the catalog, read at test time (so a
// tool added later is covered, or fails here until the sweep can drive it),
// meets Graph's refusals through the real SDK against graph/sim and must
// answer with a domain error of the right code in plain words. Graph's
// statuses and OData error codes are those of "Microsoft Graph error
// responses and resource types" (https://learn.microsoft.com/graph/errors):
// 403 Authorization_RequestDenied when the app lacks a permission or a
// role, 400 Request_BadRequest for a request Graph will not process, 404
// Request_ResourceNotFound for an object that does not exist. None of them
// is worth retrying: the write was refused, not lost.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// sweepUser is the user the sweep acts on: an ordinary employee.
const sweepUser = "adele.vance@contoso.com"

// sweepArgs builds a tool's arguments from its JSON schema: every required
// property, and every property the table knows, from seeded contoso values.
// Per-tool values come first, so that a write has something to do (a
// license the user lacks, a group she is in). It fails naming the tool and
// the argument the table lacks.
func sweepArgs(t *testing.T, f *fixture, spec tierzero.ToolSpec) (json.RawMessage, error) {
	t.Helper()
	if spec.Action == graph.ActionBaselineEnableCAPolicy {
		// A policy that blocks all users is switched on only once it leaves
		// the break-glass accounts out: the seeded one, as if seeded so.
		if err := f.sim.Change("contoso", sim.Change{CAPolicy: "Block legacy authentication", Set: map[string]string{"excludeGroup": "Break Glass Accounts"}}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := f.sim.State("contoso")
	groupID := func(name string) string {
		for _, g := range st.Groups {
			if g.DisplayName == name {
				return g.ID
			}
		}
		t.Fatalf("no seeded group %q", name)
		return ""
	}
	device, phone, passcode := "", "", ""
	for _, d := range st.Devices {
		if d.UserPrincipalName == sweepUser && device == "" {
			device = d.ID
		}
		if d.OperatingSystem == "iOS" && phone == "" {
			phone = d.ID // Intune locks phones, not PCs
		}
		if (d.OperatingSystem == "iOS" || d.OperatingSystem == "Android") && d.ManagedDeviceOwnerType == "company" && passcode == "" {
			passcode = d.ID // and resets the passcode of company phones only
		}
	}
	if passcode == "" {
		passcode = phone
	}
	// A method of Adele's that is not her default: her phone.
	method := ""
	for _, u := range st.Users {
		if u.UserPrincipalName != sweepUser {
			continue
		}
		for _, m := range u.AuthenticationMethods {
			if m.Type == "phoneAuthenticationMethod" && method == "" {
				method = m.ID
			}
		}
	}
	// byName: the value of each argument name, whatever the tool.
	byName := map[string]any{
		"user":              sweepUser,
		"group":             groupID("VPN Users"), // Adele is not a member
		"device":            device,
		"sku":               "SPE_E3", // Adele lacks it
		"prefix":            "Project",
		"top":               5,
		"lifetimeInMinutes": 60,
		"status":            "alwaysEnabled",
		"internalMessage":   "I am away this week.",
		"manager":           "lynne.robbins@contoso.com", // not Adele's
		"grantee":           "miriam.graham@contoso.com", // Adele's manager
		"method_id":         method,
		"phone_number":      "+1 4255550177", // not Adele's
		"phone_type":        "mobile",
		"team":              groupID("Project Falcon"), // a team; Adele is not in it
		"service":           "Outlook",
		"email":             "jane.doe@partner.example", // no one's yet
		"display_name":      "Jane Doe (Partner)",
		"sponsor":           sweepUser,
		"message":           "Welcome.",
		// A new hire (user.create, lifecycle.onboard_plan): nobody's yet,
		// in a department with an onboarding template or none.
		"department":     "Marketing",
		"job_title":      "Marketing Assistant",
		"usage_location": "US",
		"mail_nickname":  "jane.newhire",
	}
	// byTool: values a tool needs to have a write to make.
	byTool := map[string]map[string]any{
		graph.ActionLicenseRemove:     {"sku": "EMS"},                                                            // held directly
		graph.ActionGroupRemoveMember: {"group": groupID("Marketing Team")},                                      // Adele is a member
		graph.ActionUserEnable:        {"user": "gerhart.moller@contoso.com"},                                    // disabled
		graph.ActionUserDismissRisk:   {"user": "lidia.holloway@contoso.com"},                                    // at risk
		graph.ActionTeamRemoveMember:  {"team": groupID("Marketing Team")},                                       // a team; Adele is a member
		graph.ActionGroupRemoveOwner:  {"user": "miriam.graham@contoso.com", "group": groupID("Marketing Team")}, // its one owner
		"device.lock":                 {"device": phone},
		"device.reset_passcode":       {"device": passcode},
		"lifecycle.offboard": {"steps": []map[string]any{
			{"action": graph.ActionUserRevokeSessions, "args": `{"user":"` + sweepUser + `"}`, "label": "Sign Adele out"}}},
		graph.ActionUserCreate:  {"display_name": "Jane Newhire"},
		graph.ActionOnboardPlan: {"display_name": "Jane Newhire"},
		tierzero.ActionOnboard: {"steps": []map[string]any{
			{"action": graph.ActionUserCreate, "label": "Create the account of Jane Newhire", "args": `{"department":"Marketing","display_name":"Jane Newhire",` +
				`"job_title":"Marketing Assistant","mail_nickname":"jane.newhire","manager":"lynne.robbins@contoso.com","usage_location":"US"}`}}},
	}
	for action, args := range baselineSweepArgs(t, st) {
		byTool[action] = args
	}
	var schema struct {
		Properties map[string]struct {
			Type string `json:"type"`
			Enum []any  `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(spec.Schema, &schema); err != nil {
		return nil, fmt.Errorf("%s: schema: %v", spec.Action, err)
	}
	args := map[string]any{}
	for name := range schema.Properties {
		v, ok := byTool[spec.Action][name]
		if !ok {
			v, ok = byName[name]
		}
		switch {
		case ok:
			args[name] = v
		case slices.Contains(schema.Required, name):
			return nil, fmt.Errorf("tool %s: the sweep has no value for its required argument %q: add one to sweepArgs", spec.Action, name)
		}
	}
	return json.Marshal(args)
}

// noGraph are the tools that send nothing to Graph, and why: the sweep checks
// that they do not, instead of a refusal.
var noGraph = map[string]string{
	"lifecycle.offboard": "it records the approved plan; each step is a call of its own",
	"lifecycle.onboard":  "it records the approved plan; each step is a call of its own",
}

// multiWrite are the write tools that send one write per object, and why:
// the sweep checks that none is sent twice, instead of exactly one.
var multiWrite = map[string]string{
	graph.ActionUserResetMFA: "it deletes each authentication method in turn and reports what it could not",
}

// sweepExec runs a call, turning a panic into a test failure naming the tool.
func sweepExec(t *testing.T, f *fixture, action string, args json.RawMessage) (res tierzero.ToolResult, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s panicked on a refused call: %v", action, p)
		}
	}()
	call := tierzero.ToolCall{ID: "sweep", Action: action, Args: args}
	return f.client.Execute(context.Background(), f.permit("contoso", call), "contoso", call)
}

// sweepFaults are the refusals the sweep injects, with the domain codes a
// tool may answer each with (a tool may know better than the status: a 400
// about the account's state is a conflict; a 403 for a missing role or
// licence is a refusal).
var sweepFaults = []struct {
	status int
	code   string
	want   []string
}{
	{403, "Authorization_RequestDenied", []string{tierzero.EUnauthorized, tierzero.EDenied}},
	{400, "Request_BadRequest", []string{tierzero.EInvalid, tierzero.EConflict}},
	{404, "Request_ResourceNotFound", []string{tierzero.ENotFound}},
}

// checkPlain fails when an error carries Graph's raw JSON (the OData
// envelope), a token, or no message; and when what an employee is told
// (Plainly) carries Graph's status or code, which are for IT staff.
func checkPlain(t *testing.T, action string, status int, code string, res tierzero.ToolResult, err error) {
	t.Helper()
	msg := tierzero.ErrorMessage(err)
	for _, bad := range []string{"{", "}", `"error"`, `"code"`, "innerError", "request-id", "@odata", sim.Token("contoso"), "tierzero-sim.", "Bearer"} {
		if strings.Contains(msg, bad) {
			t.Errorf("%s: the message has %q: %s", action, bad, msg)
		}
	}
	var de *tierzero.Error
	if !errors.As(err, &de) || strings.TrimSpace(msg) == "" {
		t.Fatalf("%s: no domain error with a message: %v", action, err)
	}
	if plain := de.Plainly(); strings.Contains(plain, code) || strings.Contains(plain, strconv.Itoa(status)) || strings.Contains(plain, "Graph") {
		t.Errorf("%s: an employee is told %q", action, plain)
	}
	if !res.Secret.IsZero() || len(res.Output) != 0 {
		t.Errorf("%s: a refused call returned output %s or a secret", action, res.Output)
	}
}

// TestErrorSweepAllRequests refuses every request of the tenant: each tool
// must fail with a domain error of the status's code, in plain words.
func TestErrorSweepAllRequests(t *testing.T) {
	for _, spec := range graph.Catalog() {
		for _, fault := range sweepFaults {
			t.Run(fmt.Sprintf("%s/%d", spec.Action, fault.status), func(t *testing.T) {
				f := newFixture(t)
				if spec.Action == tierzero.ActionBaselinePlan || spec.Action == tierzero.ActionBaselineApply {
					f.client = newBaselineClient(t, f, f.sim, stubBaselines{}) // without baselines it asks nothing of Graph
				}
				args, err := sweepArgs(t, f, spec)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.sim.AddFault("contoso", sim.Fault{Kind: sim.FaultError, Status: fault.status, Code: fault.code}); err != nil {
					t.Fatal(err)
				}
				res, err := sweepExec(t, f, spec.Action, args)
				if why, ok := noGraph[spec.Action]; ok {
					if err != nil || len(f.sim.Journal("contoso")) != 0 || f.sim.Faults("contoso")[0].Hits != 0 {
						t.Fatalf("%s should send nothing to Graph (%s): err %v, faults %+v", spec.Action, why, err, f.sim.Faults("contoso"))
					}
					return
				}
				if err == nil {
					t.Fatalf("%s succeeded although Graph refused every request: %s", spec.Action, res.Output)
				}
				if got := tierzero.ErrorCode(err); !slices.Contains(fault.want, got) {
					t.Errorf("%s on %d: code %s, want one of %v: %v", spec.Action, fault.status, got, fault.want, err)
				}
				checkPlain(t, spec.Action, fault.status, fault.code, res, err)
				if j := f.sim.Journal("contoso"); len(j) > 1 {
					t.Errorf("%s sent %d writes after a refusal: %+v", spec.Action, len(j), j)
				}
			})
		}
	}
}

// TestErrorSweepWrites lets the reads through and refuses the writes: each
// write tool sends its write once, is not retried, and fails with a domain
// error of the status's code, in plain words.
func TestErrorSweepWrites(t *testing.T) {
	for _, spec := range graph.Catalog() {
		if _, ok := noGraph[spec.Action]; !spec.Write || ok || spec.Action == tierzero.ActionBaselineApply {
			continue // noGraph, and baseline.apply (it reads the tenant to plan it again, and writes nothing): checked by TestErrorSweepAllRequests
		}
		for _, fault := range sweepFaults {
			t.Run(fmt.Sprintf("%s/%d", spec.Action, fault.status), func(t *testing.T) {
				f := newFixture(t)
				args, err := sweepArgs(t, f, spec)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range []string{"POST", "PATCH", "PUT", "DELETE"} {
					if err := f.sim.AddFault("contoso", sim.Fault{Method: m, Kind: sim.FaultError, Status: fault.status, Code: fault.code}); err != nil {
						t.Fatal(err)
					}
				}
				res, err := sweepExec(t, f, spec.Action, args)
				j := f.sim.Journal("contoso")
				if _, multi := multiWrite[spec.Action]; multi && len(j) > 1 {
					seen := map[string]bool{}
					for _, e := range j {
						if seen[e.Method+e.Path] {
							t.Errorf("%s: %s %s sent twice after a %d", spec.Action, e.Method, e.Path, fault.status)
						}
						seen[e.Method+e.Path] = true
					}
					j = j[:1] // the first refusal is the one the error must report
				}
				if fault.status == 404 && err == nil && len(j) > 0 && allDeletes(j) {
					// Graph answers 404 to deleting what is already gone
					// (a method, a membership): an idempotent delete may
					// take it as done, each object tried once.
					seen := map[string]bool{}
					for _, e := range j {
						if seen[e.Path] {
							t.Errorf("%s: %s sent twice after a 404", spec.Action, e.Path)
						}
						seen[e.Path] = true
					}
					return
				}
				if len(j) != 1 {
					t.Fatalf("%s: journal has %d attempts, want exactly one (args %s, err %v): %+v", spec.Action, len(j), args, err, j)
				}
				if j[0].Status != fault.status || j[0].Fault != sim.FaultError {
					t.Errorf("%s: the attempt = %+v", spec.Action, j[0])
				}
				if err == nil {
					t.Fatalf("%s succeeded although Graph refused its write: %s", spec.Action, res.Output)
				}
				if got := tierzero.ErrorCode(err); !slices.Contains(fault.want, got) {
					t.Errorf("%s on %d: code %s, want one of %v: %v", spec.Action, fault.status, got, fault.want, err)
				}
				checkPlain(t, spec.Action, fault.status, fault.code, res, err)
			})
		}
	}
}

func allDeletes(j []sim.JournalEntry) bool {
	for _, e := range j {
		if e.Method != "DELETE" {
			return false
		}
	}
	return true
}
