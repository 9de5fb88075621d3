package sim

// This file: fault injection.

// faultState holds a tenant's injected faults.
type faultState struct{}
