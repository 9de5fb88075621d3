package sim

import "time"

// This file: subscribed SKUs and license assignment.

var licenseRoutes = []route{}

func seedLicenses(t *tenant, now time.Time) {}
