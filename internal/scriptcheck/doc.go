// Package scriptcheck holds the tests of the set-up scripts in scripts/:
// whatever way a script ends (a failed step, Ctrl+C, SIGTERM), it leaves
// nothing of what it staged. The scripts run with stand-ins for the tools
// that would reach the network or the Docker engine.
package scriptcheck
