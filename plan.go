package tierzero

// TurnPlan is the role of a turn that holds write calls waiting for the
// requester's confirmation (technicians and admins confirm every write). Its
// Content is the plan as the requester was shown it, its ToolCalls are the
// calls, with canonical arguments, that run if the same requester's next
// message in the conversation confirms, and its ToolCallID holds that
// requester's UPN. Any next message resolves it: the agent then rewrites it
// as a plain assistant turn marked Settled. A model never sees a plan turn
// as such.
const TurnPlan TurnRole = "plan"
