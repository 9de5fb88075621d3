package tierzero

// AuditReconciled records how an action whose outcome was never recorded
// (the process died mid-way) was settled at start: done or failed after a
// read-back through Graph, or needs_review when nothing could tell.
const AuditReconciled AuditKind = "reconciled"
