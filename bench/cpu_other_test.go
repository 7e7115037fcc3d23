//go:build !unix

// This file stands in for cpu_unix_test.go where getrusage does not exist:
// the cpu-ns/req metric is then left out.

package bench

import "time"

// processCPU reports that the process's CPU time is unknown here.
func processCPU() (time.Duration, bool) { return 0, false }
