// Package docscheck holds the tests that keep the repository's Markdown
// honest: every relative link names a file that exists, and every #anchor
// a heading of the file it points into.
package docscheck
