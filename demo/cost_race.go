//go:build race

package demo

import "golang.org/x/crypto/bcrypt"

// productionCost under the race detector: its instrumentation makes one
// bcrypt at cost 12 take seconds, which turns time-bounded tests (20 wrong
// passwords within the lockout's minute; a body read within a 2 s read
// timeout) into tests of the detector's speed. Race builds test
// correctness, never performance; `vucelink demo` and the benchmarks are
// never built with -race and keep cost 12.
const productionCost = bcrypt.MinCost
