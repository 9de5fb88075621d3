package sim

import "time"

// This file: groups and group membership.

var groupRoutes = []route{}

func seedGroups(t *tenant, now time.Time) {}
