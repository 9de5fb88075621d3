package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tierzero/tierzero"
)

// tool is one narrow verb on Graph: its spec for the model and policy, and
// how it runs. run returns the secret-free output the model may see and, for
// tools that create one, a secret for the requester alone. When a write's
// answer is ambiguous (a 5xx, a timeout), run may return its output and
// secret along with the error: Execute uses them only if applied confirms
// that the write took effect, and drops them otherwise.
type tool struct {
	spec tierzero.ToolSpec
	run  func(c *Client, ctx context.Context, tenant tierzero.TenantID, args json.RawMessage) (any, tierzero.Secret, error)
	// applied tells, for a write whose answer was lost or ambiguous (a
	// timeout, a 5xx), whether it took effect at or after since, by reading
	// the state back through Graph. A write tool without it is never retried
	// after an ambiguous failure.
	applied func(c *Client, ctx context.Context, tenant tierzero.TenantID, args json.RawMessage, since time.Time) (bool, error)
	// resend marks a write whose secret is valid only if that very write
	// took effect, and which may be sent again because each application
	// replaces the last (a password reset sets a new temporary password).
	// No read-back can prove that a given write of it took effect: Graph
	// keeps lastPasswordChangeDateTime to the second, another reset may
	// land in the same second, and a read may reach a replica that lags.
	// So after an ambiguous answer it is sent once more, never read back,
	// and only a write that Graph confirms delivers its secret; when the
	// second fails too, in any way, the outcome is unknown and no secret
	// is delivered. applied still serves reconciliation after a crash.
	resend bool
}

// catalog lists every tool, by area.
func catalog() []tool {
	return slices.Concat(userTools, identityTools, methodTools, groupTools, licenseTools, deviceTools, lifecycleTools, teamTools, healthTools, guestTools, baselineTools)
}

// Tools returns the specs of every tool the client runs.
func (c *Client) Tools() []tierzero.ToolSpec {
	out := make([]tierzero.ToolSpec, len(c.tools))
	for i, t := range c.tools {
		out[i] = t.spec
	}
	return out
}

// decodeArgs decodes tool arguments strictly: every key must be exactly a
// field's JSON name (not "USER" or "uſer" for "user", which encoding/json
// alone would take), and no key may repeat (tierzero.DecodeArgs).
func decodeArgs[T any](raw json.RawMessage) (T, error) {
	var a T
	err := tierzero.DecodeArgs(raw, &a)
	return a, err
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

// UserRef returns the user a tool call acts on (its "user" argument; for
// user.create and lifecycle.onboard the "manager", for user.invite_guest
// the "sponsor"), so the
// policy engine can look the target up itself; "" when the tool has none.
func UserRef(call tierzero.ToolCall) (string, error) {
	key := "user"
	if call.Action == ActionUserCreate || call.Action == tierzero.ActionOnboard {
		key = "manager" // the new hire does not exist yet: policy reads their manager (lifecycle_onboard.go)
	}
	if call.Action == ActionUserInviteGuest {
		key = "sponsor" // the guest does not exist yet: policy reads their sponsor (guests.go)
	}
	m, err := argStrings(call.Args, key)
	if err != nil {
		return "", err
	}
	ref, ok := m[key]
	if !ok {
		return "", nil
	}
	ref = strings.TrimSpace(ref)
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
	// Run the bytes the permit covers, in their canonical form, and only
	// with exactly the tool's keys: what policy decided on.
	args, err := tierzero.CanonicalToolArgs(t.spec, call.Args)
	if err != nil {
		return res, fmt.Errorf("execute %s: %w", call.Action, err)
	}
	// A GDAP relationship that cannot allow the call: nothing is written
	// (gdap.go).
	if err := c.gdapAllow(ctx, tenant, t.spec, args); err != nil {
		return res, fmt.Errorf("execute %s: %w", call.Action, err)
	}
	out, secret, err := c.run(ctx, t, tenant, args)
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

// clockSkew widens the window a read-back looks at, for the difference
// between our clock and Graph's.
const clockSkew = time.Second

// errUndecided is the error of a read-back that sees a change it cannot
// tell from another made about the same time: the outcome is unknown.
var errUndecided = errors.New("the read-back cannot tell this write from another change made about the same time")

// run runs a tool once. When a write fails ambiguously it reads the state
// back: applied means done (the write is not sent again); not applied means
// it runs once more, after the Retry-After Graph asked for or a short pause;
// a write that cannot be read back is reported as of unknown outcome.
func (c *Client) run(ctx context.Context, t tool, tenant tierzero.TenantID, args json.RawMessage) (any, tierzero.Secret, error) {
	var first error // the ambiguous failure of a resent write's first attempt
	for attempt := 1; ; attempt++ {
		// Each attempt is read back against its own start: a late effect
		// of the one before must not pass for it.
		since := c.cfg.Now().Add(-clockSkew)
		out, secret, err := t.run(c, ctx, tenant, args)
		if err == nil {
			return out, secret, nil
		}
		log := c.log.With("tenant", string(tenant), "action", t.spec.Action, "attempt", attempt)
		if first != nil {
			// The first may have applied: whatever became of this one,
			// nobody can say what the state is now.
			log.Warn("graph write sent again after an ambiguous answer failed too", "error", err, "first", first)
			return nil, noSecret, unknownOutcome(t.spec.Action, errors.Join(first, err))
		}
		if !t.spec.Write || !ambiguous(err) {
			return nil, noSecret, err
		}
		if t.resend {
			first = err
			log.Info("graph write failed ambiguously; sending it again, and only a confirmed write delivers its secret", "error", err)
			if !c.pause(ctx, err) {
				return nil, noSecret, unknownOutcome(t.spec.Action, err)
			}
			continue
		}
		if t.applied == nil {
			log.Warn("graph write failed ambiguously; it has no read-back, not retrying", "error", err)
			return nil, noSecret, unknownOutcome(t.spec.Action, err)
		}
		done, rerr := c.readBack(ctx, t, tenant, args, since)
		switch {
		case rerr != nil:
			log.Warn("graph write failed ambiguously and could not be read back", "error", err, "readBackError", rerr)
			return nil, noSecret, unknownOutcome(t.spec.Action, errors.Join(err, rerr))
		case done:
			log.Info("graph write failed ambiguously; the read-back shows it applied", "error", err)
			if out == nil {
				out = map[string]any{"action": t.spec.Action, "applied": true, "confirmedByReadBack": true}
			}
			return out, secret, nil
		case attempt > 1:
			log.Warn("graph write failed ambiguously again; the read-back shows it not applied", "error", err)
			return nil, noSecret, unknownOutcome(t.spec.Action, err)
		}
		log.Info("graph write failed ambiguously; the read-back shows it not applied, retrying", "error", err)
		if !c.pause(ctx, err) {
			return nil, noSecret, err // not applied, and no time left to retry
		}
	}
}

// pause waits before a write is sent again: the Retry-After Graph asked for
// with err, or a second. It reports false when ctx ended first.
func (c *Client) pause(ctx context.Context, err error) bool {
	wait, ok := retryAfterOf(err)
	if !ok {
		wait = time.Second
	}
	timer := time.NewTimer(min(wait, maxRetryWait))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// readBack asks a write tool whether its write took effect since, with a
// context of its own when the call's context is already done (the
// ambiguous failure may be its deadline).
func (c *Client) readBack(ctx context.Context, t tool, tenant tierzero.TenantID, args json.RawMessage, since time.Time) (bool, error) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
	}
	return t.applied(c, ctx, tenant, args, since)
}

// ambiguous reports whether a failed write may nevertheless have taken
// effect: Graph answered 5xx, or the answer never came (a timeout, a
// transport error). A 429 or another 4xx means it did not.
func ambiguous(err error) bool {
	var te *tokenError
	if errors.As(err, &te) {
		return false // nothing was sent
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ae abs.ApiErrorable
	if errors.As(err, &ae) {
		return ae.GetStatusCode() >= 500
	}
	return tierzero.ErrorCode(err) == tierzero.EUnavailable
}

// unknownOutcome is the error for a write that may or may not have been
// applied.
func unknownOutcome(action string, err error) error {
	return fmt.Errorf("execute %s: %w: %w", action, tierzero.Errorf(tierzero.EUnavailable,
		"Microsoft Graph did not confirm %s: the change may or may not have been applied; check before retrying", action), err)
}

// retryAfterOf returns the Retry-After of the Graph answer behind err.
func retryAfterOf(err error) (time.Duration, bool) {
	var ae abs.ApiErrorable
	if !errors.As(err, &ae) || ae.GetResponseHeaders() == nil {
		return 0, false
	}
	h := http.Header{}
	for _, v := range ae.GetResponseHeaders().Get("Retry-After") {
		h.Add("Retry-After", v)
	}
	return retryAfter(h)
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
