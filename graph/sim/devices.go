package sim

import "time"

// This file: Intune managed devices, compliance and device actions.

var deviceRoutes = []route{}

func seedDevices(t *tenant, now time.Time) {}
