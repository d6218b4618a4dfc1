// Package validate checks kserve-gen's deploy output against KServe's own
// API types. It is a separate, test-only module so the heavy KServe
// dependency never reaches the kserve-gen binary.
package validate
