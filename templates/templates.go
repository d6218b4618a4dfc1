// Package templates holds the project templates `kserve-gen new` renders
// (text/template with sprig functions). base/ holds the files every project
// gets (a template that renders to nothing is left out: base/client/ is
// written for projects that serve gRPC); onnx/, transformer/, openai/ and timeseries/
// add or replace files for their kind (rest and grpc have none). Every file
// ends in .tmpl so the Go tool never mistakes a template for code of this
// module.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed all:base all:onnx all:transformer all:openai all:timeseries
var files embed.FS

// FS returns the embedded templates.
func FS() fs.FS { return files }
