// Package agent owns the conversation loop. For each message it loads the
// conversation, asks the model (behind the Model seam) what to do with the
// tools the requester may be offered, validates every proposed call against
// its schema, hands valid calls to the one ToolRunner it is given
// (policy.Guard), holds technicians' and admins' writes until they confirm a
// plan, keeps secrets out of the model's context and passes tool results to
// the model as quoted data. It bounds each request (model steps, tool calls,
// wall time, a token budget for memory) and, when it cannot resolve a
// request, hands it to an Escalator with what it checked, tried and was
// decided. The per-request cost is recorded on the audit's reply event.
package agent
