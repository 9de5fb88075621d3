package main

// slackAdapter is the Slack channel, when the configuration has a slack
// section (issue 13); nil otherwise.
func (a *app) slackAdapter(rt *runtime, c *config) (adapter, error) { return nil, nil }
