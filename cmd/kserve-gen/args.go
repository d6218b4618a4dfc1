package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kserve-gen/kserve-gen/project"
)

// The Args checks below replace cobra's own (NoArgs, MaximumNArgs,
// ExactArgs), whose messages (`unknown command "./m" for "kserve-gen
// deploy"`, `accepts at most 1 arg(s), received 2`) name neither what was
// wrong nor what to pass instead.

// projectDirArgs is the Args check of a command that works on the project
// in --dir: `kserve-gen deploy ./m` names the folder as an argument.
func projectDirArgs(cmd *cobra.Command, args []string) error {
	// A blank --dir (an unset variable, a stray space) was answered as a
	// missing folder whose name did not show.
	if dir, err := cmd.Flags().GetString("dir"); err == nil && strings.TrimSpace(dir) == "" {
		return fmt.Errorf("--dir %q names no folder: pass the project's folder, or leave --dir out for the current one", dir)
	}
	switch {
	case len(args) == 0:
		return nil
	case len(args) == 1 && isDir(args[0]):
		return fmt.Errorf("%s takes no arguments: to %s the project in %s, pass --dir %s", cmd.CommandPath(), cmd.Name(), args[0], args[0])
	default:
		return fmt.Errorf("%s takes no arguments, got %s: the settings are flags (%s --help lists them)", cmd.CommandPath(), quoteArgs(args), cmd.CommandPath())
	}
}

// nameArg is the Args check of kserve-gen new: `kserve-gen new my model`
// is a name with a space the shell split in two.
func nameArg(cmd *cobra.Command, args []string) error {
	if len(args) <= 1 {
		return nil
	}
	msg := fmt.Sprintf("%s takes one NAME, got %d arguments (%s): a NAME has no spaces", cmd.CommandPath(), len(args), quoteArgs(args))
	if joined := strings.ToLower(strings.Join(args, "-")); project.ValidateName(joined) == nil {
		msg += "; did you mean " + joined + "?"
	}
	return fmt.Errorf("%s", msg)
}

// folderArg is the Args check of kserve-gen modelcar: one model folder.
func folderArg(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%s needs the model folder: %s DIR --image IMAGE", cmd.CommandPath(), cmd.CommandPath())
	default:
		return fmt.Errorf("%s packages one folder, got %d arguments (%s): put the files in one folder", cmd.CommandPath(), len(args), quoteArgs(args))
	}
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// suggestFlag is the root's flag error function: cobra suggests a command
// for a misspelt one, not a flag for a misspelt flag. The model server's
// spellings (--http_port for --http-port) are near misses too. A value a
// flag cannot parse is answered with what the flag takes (badFlagValue).
func suggestFlag(cmd *cobra.Command, err error) error {
	if msg, ok := badFlagValue(err); ok {
		return errors.New(msg)
	}
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	typed := strings.ReplaceAll(name, "_", "-")
	best, near := 3, []string(nil) // at most 2 edits away
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		switch d := levenshtein.Distance(typed, f.Name, nil); {
		case d < best:
			best, near = d, []string{"--" + f.Name}
		case d == best:
			near = append(near, "--"+f.Name)
		}
	})
	if len(near) == 0 {
		return err
	}
	return fmt.Errorf("%w (did you mean %s?)", err, strings.Join(near, " or "))
}

// badFlagValue says what a number, duration or boolean flag takes, for a
// value it could not parse: pflag's own message (`invalid argument "2m" for
// "--timeout" flag: strconv.ParseInt: parsing "2m": invalid syntax`) names
// Go's parser, not the flag's unit, and --timeout (SECONDS) and
// --startup-timeout (a duration) take different ones. Other errors are
// left to the caller.
func badFlagValue(err error) (string, bool) {
	var invalid *pflag.InvalidValueError
	if !errors.As(err, &invalid) {
		return "", false
	}
	flag := invalid.GetFlag()
	varname, _ := pflag.UnquoteUsage(flag)
	var want string
	switch flag.Value.Type() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		want = "a whole number"
		if varname != flag.Value.Type() { // the usage names its unit: `SECONDS`
			want += " of " + varname
		}
	case "duration":
		want = "a duration with its unit, such as 90s, 15m or 1h30m"
	case "bool":
		want = "true or false (the flag alone is true)"
	default:
		return "", false
	}
	return fmt.Sprintf("--%s %q: want %s", flag.Name, invalid.GetValue(), want), true
}
