// Package templates holds the project templates `kserve-gen new` renders
// (text/template with sprig functions). base/ holds the files every project
// gets; rest/, grpc/, onnx/ and transformer/ add or replace files for their
// kind. Every file ends in .tmpl so the Go tool never mistakes a template
// for code of this module.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed all:base all:grpc all:onnx all:transformer
var files embed.FS

// FS returns the embedded templates.
func FS() fs.FS { return files }
