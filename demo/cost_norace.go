//go:build !race

package demo

// productionCost is the bcrypt cost the demo hashes partner and route
// credentials with: the default a node ships with, so the demo and its
// benchmarks pay what a node pays (see cost_race.go for the one
// exception).
const productionCost = 12
