// Package agent owns the conversation loop: it loads a conversation, asks the
// model (behind the Model seam) what to do, hands every proposed tool call to
// the one ToolRunner it is given (policy.Guard), keeps secrets out of the
// model's context, and bounds the number of steps.
package agent
