// Package bench compares the decision latency of tierzero's policy engine
// with OPA (Rego) and cedar-go on the same rule sets and requests
// (../policy/testdata/bench). It is a separate module so that neither OPA
// nor Cedar enters tierzero's dependencies; see README.md.
package bench
