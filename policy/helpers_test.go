package policy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
)

// strp returns a pointer to s: a fact that was read.
func strp(s string) *string { return &s }

func boolp(b bool) *bool { return &b }

// gid is the object id of the test group named name: the same name, the
// same id, whatever its case.
func gid(name string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(name)))
	b := sum[:16]
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// groupsOf returns the test groups of these names, by id and name.
func groupsOf(names ...string) []tierzero.GroupRef {
	out := make([]tierzero.GroupRef, 0, len(names))
	for _, n := range names {
		out = append(out, tierzero.GroupRef{ID: gid(n), Name: n})
	}
	return out
}

// pins resolves group names as the test directory does (gid).
func pins(names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[PinKey(n)] = gid(n)
	}
	return m
}

// testResolver resolves every group name but those in ambiguous and
// missing, as the test directory does (gid), and counts its calls.
type testResolver struct {
	ambiguous, missing map[string]bool
	calls              int
}

func (r *testResolver) GroupID(_ context.Context, _ tierzero.TenantID, name string) (string, error) {
	r.calls++
	switch {
	case r.ambiguous[PinKey(name)]:
		return "", tierzero.Errorf(tierzero.EConflict, "several groups are named %q", name)
	case r.missing[PinKey(name)]:
		return "", tierzero.Errorf(tierzero.ENotFound, "no group is named %q", name)
	}
	return gid(name), nil
}

// argSchemas are the argument schemas of the test tools, by the argument
// they take besides user.
func toolSpec(action string, write bool) tierzero.ToolSpec {
	props := `"user":{"type":"string"}`
	switch {
	case strings.HasPrefix(action, "group."):
		props += `,"group":{"type":"string"}`
	case strings.HasPrefix(action, "license."):
		props += `,"sku":{"type":"string"}`
	case strings.HasPrefix(action, "device."):
		props = `"device":{"type":"string"}`
	}
	return tierzero.ToolSpec{Action: action, Write: write,
		Schema: json.RawMessage(`{"type":"object","properties":{` + props + `},"additionalProperties":false}`)}
}

// toolSpecs returns toolSpec for each action; those ending in "!" write.
func toolSpecs(actions ...string) []tierzero.ToolSpec {
	out := make([]tierzero.ToolSpec, 0, len(actions))
	for _, a := range actions {
		name, write := strings.CutSuffix(a, "!")
		out = append(out, toolSpec(name, write))
	}
	return out
}
