package deploy

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kserve-gen/kserve-gen/project"
)

// The rules the API server applies to the names and labels a pod spec
// carries (k8s.io/apimachinery/pkg/util/validation), in words: its own
// messages end in the regular expression, which says the same to fewer
// people. Each error leaves the setting unnamed, as project.ValidateName's
// does: callers prefix where the value came from (the flag, or
// kserve-gen.yaml's field).

// subdomainRule says what a DNS-1123 subdomain (IsDNS1123Subdomain) is,
// for whose name.
func subdomainRule(whose string) string {
	return fmt.Sprintf("%s is %s", whose, subdomainWords)
}

const subdomainWords = "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (each part between dots too), at most 253 characters"

var (
	labelKeyRule = fmt.Sprintf("a label key is letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most %d characters, optionally after a prefix and '/' (as in nvidia.com/gpu.product), the prefix %s",
		validation.LabelValueMaxLength, subdomainWords)
	labelValueRule = fmt.Sprintf("a label value is letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most %d characters, or empty",
		validation.LabelValueMaxLength)
)

// envNameRule is IsEnvVarName's rule, the one API servers apply to a
// container's variables unless their RelaxedEnvironmentVariableValidation
// feature is on (then any printable ASCII but '=' will do); neither
// Knative's webhook nor KServe's checks the names.
const envNameRule = "a variable name is letters, digits, '_', '-' and '.', not starting with a digit or '..', and not '.'"

// validateSubdomain reports whether s is a Kubernetes object's name (a
// DNS-1123 subdomain), as a service account's or a broker's is; whose says
// whose name the rule is about ("a service account's name").
func validateSubdomain(s, whose string) error {
	if len(validation.IsDNS1123Subdomain(s)) == 0 {
		return nil
	}
	return ruleError(s, "a Kubernetes name", suggestSubdomain(s), tooLong(s, validation.DNS1123SubdomainMaxLength, "it"), subdomainRule(whose))
}

// validateLabelKey reports whether k is a label key (IsQualifiedName), as
// a node selector's and a toleration's keys are.
func validateLabelKey(k string) error {
	if len(validation.IsQualifiedName(k)) == 0 {
		return nil
	}
	long := tooLong(k, validation.LabelValueMaxLength, "it")
	if prefix, name, ok := strings.Cut(k, "/"); ok {
		long = tooLong(prefix, validation.DNS1123SubdomainMaxLength, "the prefix") + tooLong(name, validation.LabelValueMaxLength, "the part after '/'")
	}
	return ruleError(k, "a label key", suggestLabelKey(k), long, labelKeyRule)
}

// validateLabelValue reports whether v is a label value (IsValidLabelValue).
func validateLabelValue(v string) error {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return nil
	}
	return ruleError(v, "a label value", suggestLabelValue(v), tooLong(v, validation.LabelValueMaxLength, "it"), labelValueRule)
}

// validateEnvName reports whether n is a container's environment variable
// name (IsEnvVarName).
func validateEnvName(n string) error {
	if len(validation.IsEnvVarName(n)) == 0 {
		return nil
	}
	return ruleError(n, "an environment variable name", suggestEnvName(n), "", envNameRule)
}

// ruleError says that s is not what, with try, the nearest valid value
// (when not ""), before the rule, as project.ValidateName's errors do, so
// that it is seen before a long rule; long (tooLong) says what is too
// long.
func ruleError(s, what, try, long, rule string) error {
	if try != "" {
		try = fmt.Sprintf(" (try %q)", try)
	}
	return fmt.Errorf("%q is not %s%s: %s%s", s, what, try, long, rule)
}

// tooLong says that s, called it, is over max characters, or "" when it
// is not: the rule tells the limit, this which part is over it.
func tooLong(s string, max int, it string) string {
	if len(s) <= max {
		return ""
	}
	return fmt.Sprintf("%s is %d characters long; ", it, len(s))
}

// suggest returns spelled if it is valid and not s itself, else "".
func suggest(s, spelled string, valid func(string) []string) string {
	if spelled == "" || spelled == s || len(valid(spelled)) > 0 {
		return ""
	}
	return spelled
}

func suggestSubdomain(s string) string {
	return suggest(s, project.Respell(s, " _-", '-', ".", true, "-."), validation.IsDNS1123Subdomain)
}

func suggestLabelValue(v string) string {
	return suggest(v, project.Respell(v, " -", '-', "_.", false, "-_."), validation.IsValidLabelValue)
}

// suggestLabelKey respells a label key's prefix as a subdomain and its
// name as a label value is.
func suggestLabelKey(k string) string {
	prefix, name, ok := strings.Cut(k, "/")
	if !ok {
		return suggest(k, project.Respell(k, " -", '-', "_.", false, "-_."), validation.IsQualifiedName)
	}
	if strings.Contains(name, "/") {
		return "" // more than one '/': which part is the prefix?
	}
	if len(validation.IsDNS1123Subdomain(prefix)) > 0 {
		prefix = project.Respell(prefix, " _-", '-', ".", true, "-.")
	}
	if len(validation.IsQualifiedName(name)) > 0 {
		name = project.Respell(name, " -", '-', "_.", false, "-_.")
	}
	if prefix == "" || name == "" {
		return ""
	}
	return suggest(k, prefix+"/"+name, validation.IsQualifiedName)
}

// suggestEnvName writes spaces as '_' (MY VAR: MY_VAR), as variable names
// are usually written; one starting with a digit has no obvious spelling.
func suggestEnvName(n string) string {
	return suggest(n, project.Respell(n, " ", '_', "_-.", false, "_"), validation.IsEnvVarName)
}
