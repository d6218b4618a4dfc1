package generator_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/project"
)

// TestRender_NamesOfTheTemplatesOwnFunctions names a project after each
// exported top-level function, type, variable or constant its template
// declares (TestConformance as test-conformance, TestInputJSON as
// test-input-j-s-o-n), for every golden case: the model's type must not be
// declared twice in any package of the project. Unless -short, a few of
// them are written out and go vet (which compiles them with their tests)
// must pass.
func TestRender_NamesOfTheTemplatesOwnFunctions(t *testing.T) {
	vetted := map[string]string{"rest": "test-conformance", "onnx-model-image": "test-not-an-image", "transformer": "test-predictor-down"}
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			files, err := generator.Render(goldenOptions(t, c))
			require.NoError(t, err)
			typ := generator.GoTypeName(c.project.Name)
			var names []string
			for _, ident := range topLevel(t, files) {
				if ident != typ && ident != "New"+typ && ast.IsExported(ident) {
					names = append(names, kebab(ident))
				}
			}
			require.NotEmpty(t, names)
			if want, ok := vetted[c.name]; ok {
				require.Contains(t, names, want)
			}
			for _, name := range names {
				if project.ValidateName(name) != nil {
					continue // not a name new takes
				}
				c := c
				c.project.Name = name
				files, err := generator.Render(goldenOptions(t, c))
				require.NoError(t, err, name)
				topLevel(t, files) // fails on a name declared twice
				if vetted[c.name] == name && !testing.Short() {
					o := goldenOptions(t, c)
					o.ReplacePath = "" // the runtime's absolute path
					o.Dir = t.TempDir() + "/" + name
					files, err := generator.Render(o)
					require.NoError(t, err)
					require.NoError(t, generator.Write(t.Context(), o.Dir, files, false))
					goTool(t, o.Dir, "vet", "./...")
				}
			}
		})
	}
}

// topLevel parses the project's Go files and returns the names each
// package declares at top level (not methods), failing the test on a name
// declared twice in one package.
func topLevel(t *testing.T, files []generator.File) []string {
	t.Helper()
	fset := token.NewFileSet()
	seen := map[string]string{} // dir/package.name: file
	var names []string
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".go") {
			continue
		}
		file, err := parser.ParseFile(fset, f.Path, f.Data, parser.SkipObjectResolution)
		require.NoError(t, err)
		declare := func(name string) {
			key := path.Dir(f.Path) + "/" + file.Name.Name + "." + name
			if other, ok := seen[key]; ok {
				assert.Failf(t, "declared twice", "%s is declared in %s and %s", name, other, f.Path)
				return
			}
			seen[key] = f.Path
			names = append(names, name)
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name != "init" && d.Name.Name != "_" {
					declare(d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						declare(s.Name.Name)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name != "_" {
								declare(n.Name)
							}
						}
					}
				}
			}
		}
	}
	return names
}

// kebab is the project name GoTypeName would turn into ident if it did
// not avoid clashes: TestInputJSON is test-input-j-s-o-n.
func kebab(ident string) string {
	var b strings.Builder
	for i, r := range ident {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
