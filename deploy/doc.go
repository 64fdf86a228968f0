// Package deploy holds the deployment manifests (kubernetes/, compose/)
// and the offline test that checks them: every Kubernetes manifest is
// decoded strictly into the k8s.io/api types (an unknown or misspelt
// field fails), and the things a network team relies on are asserted.
package deploy
