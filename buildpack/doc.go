// Package buildpack builds container images of generated projects.
package buildpack
