// Package eval measures tierzero the way tau-bench and AgentDojo measure
// agents: it runs scenarios (a seeded tenant with changes, a verified
// requester, a scripted user, expectations) through the real pipeline in
// process (graph/sim on a loopback server, the store in a temporary
// directory, the Graph client, policy.Guard with the baseline, the agent,
// and the desk of package bot, driven as a chat channel drives it, with a
// recording responder), then judges the outcome from evidence: the
// simulator's final state and journal, the audit trail, and what the desk
// delivered to whom. Models: the offline rules model, golden scripts, an
// adversary that obeys injected text, the gold calls replayed straight
// through the guard (oracle), or a live OpenAI-compatible endpoint.
// Scenarios are YAML (docs/eval.md); an injection matrix expands into task
// x attacker goal x place scenarios.
package eval
