package policy

import (
	"embed"
	"path"
)

// The built-in MSP baseline is policy/baseline/*.yaml, compiled into the
// binary; its unit tests are policy/baseline/tests/*.yaml
// (`tierzero policy test policy/baseline`). It is the one source of truth:
// policies/examples layers on top of it, it does not copy it.
//
//go:embed baseline/*.yaml
var baselineFS embed.FS

// BaselineFiles returns the files of the built-in baseline, named
// "builtin:baseline/NAME.yaml", to layer other files on with NewSet.
func BaselineFiles() []File {
	files, err := readFiles(baselineFS, "baseline", func(name string) string { return "builtin:" + path.Join("baseline", name) })
	if err != nil {
		panic("policy: invalid built-in baseline: " + err.Error())
	}
	return files
}

// Baseline is the built-in MSP baseline (see docs/policy.md): self-service
// on the requester's own account; nothing ever acts on an admin-role holder;
// MFA reset and Temporary Access Pass only with the manager's approval; a
// device wipe only with two approvals; employees may read their own data
// and never other people's sign-in logs; MSP technicians and tenant admins
// do more. Everything else is denied by default.
func Baseline() *Set {
	s, err := NewSet(BaselineFiles()...)
	if err != nil {
		panic("policy: invalid built-in baseline: " + err.Error())
	}
	return s
}
