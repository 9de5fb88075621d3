package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tierzero/tierzero"
)

// tool is one narrow verb on Graph: its spec for the model and policy, and
// how it runs. run returns the secret-free output the model may see and, for
// tools that create one, a secret for the requester alone.
type tool struct {
	spec tierzero.ToolSpec
	run  func(c *Client, ctx context.Context, tenant tierzero.TenantID, args json.RawMessage) (any, tierzero.Secret, error)
	// applied tells, for a write whose answer was lost or ambiguous (a
	// timeout, a 5xx), whether it took effect at or after since, by reading
	// the state back through Graph. A write tool without it is never retried
	// after an ambiguous failure.
	applied func(c *Client, ctx context.Context, tenant tierzero.TenantID, args json.RawMessage, since time.Time) (bool, error)
}

// catalog lists every tool, by area.
func catalog() []tool {
	return slices.Concat(userTools, identityTools, groupTools, licenseTools, deviceTools)
}

// Tools returns the specs of every tool the client runs.
func (c *Client) Tools() []tierzero.ToolSpec {
	out := make([]tierzero.ToolSpec, len(c.tools))
	for i, t := range c.tools {
		out[i] = t.spec
	}
	return out
}

// decodeArgs decodes tool arguments strictly: unknown fields are an error.
func decodeArgs[T any](raw json.RawMessage) (T, error) {
	var a T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %v", err)
	}
	return a, nil
}

// userArgs are the arguments of tools that act on one user.
type userArgs struct {
	User string `json:"user"`
}

func decodeUserArgs(raw json.RawMessage) (userArgs, error) {
	a, err := decodeArgs[userArgs](raw)
	if err != nil {
		return a, err
	}
	a.User = strings.TrimSpace(a.User)
	return a, checkRef("user", a.User)
}

// checkRef rejects an object reference that is not a plain UPN or object id,
// so nothing the model writes can steer a request to another path.
func checkRef(what, ref string) error {
	if ref == "" || len(ref) > 256 || strings.ContainsAny(ref, "/?#\\ %") {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s must be a plain name or object id", what)
	}
	return nil
}

// UserRef returns the user a tool call acts on (its "user" argument), so the
// policy engine can look the target up itself; "" when the tool has none.
func UserRef(call tierzero.ToolCall) (string, error) {
	var a struct {
		User *string `json:"user"`
	}
	if err := json.Unmarshal(call.Args, &a); err != nil {
		return "", tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %v", err)
	}
	if a.User == nil {
		return "", nil
	}
	ref := strings.TrimSpace(*a.User)
	return ref, checkRef("user", ref)
}

// Execute runs a tool call that carries a permit from policy. A missing,
// forged, mismatched, expired or spent permit runs nothing.
func (c *Client) Execute(ctx context.Context, permit tierzero.Permit, tenant tierzero.TenantID, call tierzero.ToolCall) (tierzero.ToolResult, error) {
	res := tierzero.ToolResult{CallID: call.ID, Action: call.Action}
	if err := c.cfg.Permits.Spend(permit, tenant, call); err != nil {
		return res, fmt.Errorf("execute %s: %w", call.Action, err)
	}
	t, ok := c.byAction[call.Action]
	if !ok {
		return res, tierzero.Errorf(tierzero.EInvalid, "unknown tool %q", call.Action)
	}
	out, secret, err := t.run(c, ctx, tenant, call.Args)
	if err != nil {
		return res, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return res, fmt.Errorf("execute %s: encode output: %w", call.Action, err)
	}
	res.Output, res.Secret = b, secret
	return res, nil
}

func isStatus(err error, status int) bool {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		return oe.ResponseStatusCode == status
	}
	var ae *abs.ApiError
	return errors.As(err, &ae) && ae.ResponseStatusCode == status
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
