package project

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/module"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxNameLength is the longest project name that still deploys: KServe names
// the predictor's Knative Service (and, in raw mode, its Deployment and
// Service) "<name>-predictor", and that name must itself be a DNS-1123 label
// of at most 63 characters. 63 - len("-predictor") = 53.
const MaxNameLength = validation.DNS1123LabelMaxLength - len(predictorSuffix)

const predictorSuffix = "-predictor"

// MaxTransformerNameLength is the longest name of a transformer project:
// its InferenceService also creates "<name>-transformer", which must fit a
// 63-character DNS label too. 63 - len("-transformer") = 51.
const MaxTransformerNameLength = validation.DNS1123LabelMaxLength - len(transformerSuffix)

const transformerSuffix = "-transformer"

// MaxStandardNameLength is the longest name in KServe's Standard (raw
// Deployment) mode, where KServe labels the predictor's Deployment, pods and
// Service selector app=isvc.<name>-predictor: a label value, at most 63
// characters, so 63 - len("isvc.") - len("-predictor") = 48. A longer name
// passes KServe's validation but the API server refuses the Deployment and
// no pod ever starts.
const MaxStandardNameLength = validation.LabelValueMaxLength - len(rawAppLabelPrefix) - len(predictorSuffix)

// MaxStandardTransformerNameLength is MaxStandardNameLength for a
// transformer (app=isvc.<name>-transformer): 46.
const MaxStandardTransformerNameLength = validation.LabelValueMaxLength - len(rawAppLabelPrefix) - len(transformerSuffix)

// rawAppLabelPrefix starts the app label KServe gives Standard-mode
// components (constants.GetRawServiceLabel).
const rawAppLabelPrefix = "isvc."

// kserveNameRE is KServe's own InferenceService name format
// (v1beta1.IsvcNameFmt): stricter than DNS-1123 in that it must start with a
// letter.
var kserveNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// ErrEmpty is returned (wrapped) when a required value is missing.
var ErrEmpty = errors.New("must not be empty")

// ValidateName reports whether name can be a project name, which is also
// the model name on the wire and the InferenceService's metadata.name: a
// DNS-1123 label that starts with a letter (KServe's rule) and is at most
// MaxNameLength characters long. The error says what is wrong with it,
// without naming the name: callers prefix where it came from (NAME,
// --name, kserve-gen.yaml's name), which a leading "name" would repeat.
func ValidateName(name string) error { return validateName(name, MaxNameLength) }

// ValidateNameAtMost is ValidateName telling, as the rule, that a name is
// at most max characters long, and suggesting only a name that fits: for a
// caller whose limit is below MaxNameLength, such as kserve-gen deploy in
// KServe's Standard mode (MaxStandardNameLength). It checks no more than
// ValidateName does: the caller checks the length against max, with the
// reason for it (ValidateTransformerName, ValidateStandardName).
func ValidateNameAtMost(name string, max int) error { return validateName(name, max) }

// validateName is ValidateName telling, as the rule, that a name is at
// most max characters long: fewer than MaxNameLength for a transformer.
func validateName(name string, max int) error {
	if name == "" {
		return ErrEmpty
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%q is %d characters long; at most %d are allowed because KServe names the predictor %q and that must fit a 63-character DNS label",
			name, len(name), MaxNameLength, name+predictorSuffix)
	}
	rule := fmt.Sprintf("a name is lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most %d characters", max)
	if len(validation.IsDNS1123Label(name)) > 0 {
		try := ""
		if s := suggestName(name); s != "" && len(s) <= max {
			// Before the rule, so the form's one error line shows it.
			try = fmt.Sprintf(" (try %q)", s)
		}
		// apimachinery's messages end in a regular expression; the rule
		// in words says the same.
		return fmt.Errorf("%q is not a DNS-1123 label%s: %s", name, try, rule)
	}
	if !kserveNameRE.MatchString(name) {
		return fmt.Errorf("%q must start with a lower-case letter, as KServe's InferenceService names do: %s", name, rule)
	}
	return nil
}

// suggestName returns the valid name nearest to name (Custom_Model:
// custom-model, "my model": my-model), or "" when there is none
// (nearestLabel).
func suggestName(name string) string {
	if s := nearestLabel(name); s != "" && ValidateName(s) == nil {
		return s
	}
	return ""
}

// suggestNamespace is suggestName for a namespace (Prod: prod), which is
// any DNS-1123 label: unlike a name it may start with a digit and be 63
// characters long.
func suggestNamespace(ns string) string {
	if s := nearestLabel(ns); s != "" && len(validation.IsDNS1123Label(s)) == 0 {
		return s
	}
	return ""
}

// nearestLabel spells s as a DNS label: lower case, with a dash for each
// run of separators, none at either end. It returns "" when s has
// characters other than ASCII letters, digits and separators, which have
// no obvious spelling in a DNS label, or when that spelling is s itself.
// Callers check the result against their own rule.
func nearestLabel(name string) string {
	if s := Respell(splitWords(name), " _.-", '-', "", true, "-"); s != name {
		return s
	}
	return ""
}

// splitWords puts a dash between the words of a name written in CamelCase
// (MyModel: My-Model, BERTClassifier: BERT-Classifier, resnetV2:
// resnet-V2), so that it reads as my-model once in lower case, not
// mymodel; a name in one case is left as it is.
func splitWords(s string) string {
	var b strings.Builder
	isUpper := func(c byte) bool { return 'A' <= c && c <= 'Z' }
	isLowerOrDigit := func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i > 0 && isUpper(c) && (isLowerOrDigit(s[i-1]) ||
			isUpper(s[i-1]) && i+1 < len(s) && 'a' <= s[i+1] && s[i+1] <= 'z') {
			b.WriteByte('-')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Respell writes s with each run of the characters in seps as one sep,
// upper-case ASCII letters in lower case if lower is set, and with trim's
// characters cut from either end: the spelling a Kubernetes naming rule
// would likely take (Custom_Model: custom-model, Models Reader:
// models-reader). It returns "" when s has characters other than ASCII
// letters, digits, seps and keep, which have no obvious spelling.
func Respell(s string, seps string, sep byte, keep string, lower bool, trim string) string {
	var b strings.Builder
	inSep := false
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			if lower {
				c += 'a' - 'A'
			}
		case strings.ContainsRune(seps, c):
			if !inSep {
				b.WriteByte(sep)
				inSep = true
			}
			continue
		case strings.ContainsRune(keep, c):
		default:
			return ""
		}
		b.WriteRune(c)
		inSep = false
	}
	return strings.Trim(b.String(), trim)
}

// ValidateNameFor is ValidateName for a project of the given template: a
// transformer's name must also leave room for "-transformer", so it is at
// most MaxTransformerNameLength characters long.
func ValidateNameFor(name, template string) error {
	if template != TemplateTransformer {
		return ValidateName(name)
	}
	if len(name) > MaxNameLength {
		// validateName would tell the predictor's limit, and a name
		// shortened to it would fail on the transformer's.
		return ValidateTransformerName(name)
	}
	if err := validateName(name, MaxTransformerNameLength); err != nil {
		return err
	}
	return ValidateTransformerName(name)
}

// ValidateTransformerName reports whether name, already a valid project
// name, is short enough for a transformer.
func ValidateTransformerName(name string) error {
	if len(name) > MaxTransformerNameLength {
		return fmt.Errorf("%q is %d characters long; a transformer's name is at most %d because KServe names the transformer %q and that must fit a 63-character DNS label",
			name, len(name), MaxTransformerNameLength, name+transformerSuffix)
	}
	return nil
}

// ValidateStandardName reports whether name, already a valid project name
// (of a transformer when transformer is set), is short enough for KServe's
// Standard deployment mode.
func ValidateStandardName(name string, transformer bool) error {
	max, component := MaxStandardNameLength, predictorSuffix
	if transformer {
		max, component = MaxStandardTransformerNameLength, transformerSuffix
	}
	if len(name) > max {
		return fmt.Errorf("%q is %d characters long; in Standard mode at most %d are allowed because KServe labels the pods app=%s and a label value is at most 63 characters",
			name, len(name), max, rawAppLabelPrefix+name+component)
	}
	return nil
}

// namespaceRule says what a namespace is, in words rather than as
// apimachinery's regular expression.
var namespaceRule = fmt.Sprintf("a namespace is lower-case letters, digits and '-', starting and ending with a letter or digit, at most %d characters", validation.DNS1123LabelMaxLength)

// ValidateNamespace reports whether ns is a valid Kubernetes namespace name
// (a DNS-1123 label). The empty string is valid: it means "the current
// kubectl namespace". As ValidateName's, the error leaves the namespace
// unnamed: callers prefix where it came from (--namespace,
// kserve-gen.yaml's deploy.namespace).
func ValidateNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	if len(validation.IsDNS1123Label(ns)) == 0 {
		return nil
	}
	try := ""
	if s := suggestNamespace(ns); s != "" {
		try = fmt.Sprintf(" (try %q)", s)
	}
	long := ""
	if len(ns) > validation.DNS1123LabelMaxLength {
		long = fmt.Sprintf("it is %d characters long; ", len(ns))
	}
	return fmt.Errorf("%q is not a DNS-1123 label%s: %s%s", ns, try, long, namespaceRule)
}

// ValidateModule reports whether path is a usable Go module path: one the
// go command builds a project at.
//
// It applies golang.org/x/mod/module.CheckImportPath, the rule `go mod init`
// applies, rather than the stricter module.CheckPath: a generated project
// need not be fetchable with `go get`, so a path like "custom-model" without
// a dotted domain is accepted, while spaces, upper-case-only tricks, "..",
// leading dots and the like are rejected. On top of it, the go command
// refuses two more kinds of path that CheckImportPath takes: one whose first
// element has no dot and names a standard-library package or folder
// ("image", "cmd/go": "ambiguous import"), one that is a name the go
// command reserves for a package pattern ("main", "all", "std", "tool",
// "work": go vet and go test refuse a module of that path), "toolchain"
// (the module path of Go toolchains: no go command reads its go.mod), and
// one whose last element does not start with a letter, a digit or _ (go
// build's "invalid input directory name").
//
// As ValidateName's, the error leaves the module unnamed: callers prefix
// where it came from (--module, kserve-gen.yaml's module). An example of
// a path that would do is the path alone ("e.g. example.com/main"), as
// the form asks for it; File.ValidateAs writes it as the flag or field.
func ValidateModule(path string) error {
	return validateModule(path, func(path string) string { return path })
}

// validateModule is ValidateModule writing an example path as example
// says.
func validateModule(path string, example func(path string) string) error {
	if path == "" {
		return ErrEmpty
	}
	if err := module.CheckImportPath(path); err != nil {
		return fmt.Errorf("%q is not a valid Go module path: %w", path, err)
	}
	if IsReservedByGo(path) {
		return fmt.Errorf("%q is a name the go command reserves for a package pattern (go help packages), so go vet and go test refuse the project; give another, e.g. %s", path, example("example.com/"+path))
	}
	if IsToolchainModule(path) {
		return fmt.Errorf("%q is the module path the go command keeps for Go toolchains, so every go command in the project fails (invalid module path); give another, e.g. %s", path, example("example.com/"+path))
	}
	if IsCompilerPackage(path) {
		return fmt.Errorf("%q is the path of a package the Go compiler makes up for itself, so go test stops with an internal compiler error; give another, e.g. %s", path, example("example.com/"+path))
	}
	if first, _, _ := strings.Cut(path, "/"); IsStandardLibrary(first) {
		return fmt.Errorf("%q starts with %q, a path of the Go standard library, so go build would take the project's packages for the standard library's; give a path whose first element has a dot, e.g. %s", path, first, example("example.com/"+path))
	}
	last := path[strings.LastIndex(path, "/")+1:]
	if c := last[0]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_') {
		return fmt.Errorf("%q ends in %q, a folder name go build refuses: the last element must start with a letter, a digit or _", path, last)
	}
	return nil
}

// DefaultModule is the module path of a project named name when none is
// given: the name itself, or example.com/NAME when the name is a path of
// the standard library (a model named image), which go build would not
// build, or a name the go command reserves (a model named main or all),
// which go test would not test, or toolchain, which no go command takes.
func DefaultModule(name string) string {
	if IsStandardLibrary(name) || IsReservedByGo(name) || IsCompilerPackage(name) || IsToolchainModule(name) {
		return "example.com/" + name
	}
	return name
}

// IsStandardLibrary reports whether elem, the first element of an import
// path, is reserved for the Go standard library: it has no dot and is the
// first element of a standard package's path (image, text of text/template,
// cmd, internal, vendor). The list is GOROOT/src's folders as of Go 1.26;
// TestIsStandardLibrary_CoversGOROOT checks it against the Go it runs on.
func IsStandardLibrary(elem string) bool {
	return !strings.Contains(elem, ".") && slices.Contains(stdElems, elem)
}

// IsReservedByGo reports whether path is one of the names the go command
// gives a meaning of its own instead of importing it: "main" (a command's
// package: go test of a module named main fails with `cannot import
// "main"`) and the meta-patterns "all", "std", "cmd", "tool" and "work"
// (go vet ./... fails with `"all" is not an importable package`). Only
// the whole path is reserved: main/x or all/x builds.
func IsReservedByGo(path string) bool {
	switch path {
	case "main", "all", "std", "cmd", "tool", "work":
		return true
	}
	return false
}

// IsToolchainModule reports whether path is "toolchain", which with "go"
// the go command keeps as the module paths of Go toolchains
// (cmd/go/internal/gover.IsToolchain): every go command run in a module
// declaring it stops with `go: error reading go.mod: invalid module path`
// (modload's CheckReservedModulePath). "go" is refused already as a path
// of the standard library. Only the whole path is kept: toolchain/x builds.
func IsToolchainModule(path string) bool {
	return path == "toolchain"
}

// IsCompilerPackage reports whether path is one the Go compiler gives to a
// package it makes up (cmd/compile's types.NewPkg calls: "type" holds the
// type descriptors, "go.shape" the generic shapes, ...). go build of a
// module of that very path passes, but go test, which compiles the package
// with its test, stops with an internal compiler error. Only the whole path
// clashes: type/x and go.shape/x build and test.
func IsCompilerPackage(path string) bool {
	return slices.Contains(compilerPkgs, path)
}

var compilerPkgs = []string{
	"type", "go.shape", "go.builtin", "go.runtime", "go.internal/runtime/maps", "go.itab", "go.coverage",
}

var stdElems = []string{
	"archive", "arena", "bufio", "builtin", "bytes", "cmd", "cmp", "compress", "container",
	"context", "crypto", "database", "debug", "embed", "encoding", "errors", "expvar", "flag",
	"fmt", "go", "hash", "html", "image", "index", "internal", "io", "iter", "log", "maps",
	"math", "mime", "net", "os", "path", "plugin", "reflect", "regexp", "runtime", "simd",
	"slices", "sort", "strconv", "strings", "structs", "sync", "syscall", "testdata", "testing",
	"text", "time", "unicode", "unique", "unsafe", "vendor", "weak",
}
