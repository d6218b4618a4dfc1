package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrUsage matches (errors.Is) every error Parse returns for a bad command
// line or environment, and the errors of Fail. They have already been written
// to FlagSet().Output() as argparse's parser.error writes them (the usage
// block, then "prog: error: …"), so a main exits with status 2, argparse's,
// without printing them again.
var ErrUsage = errors.New("usage error")

// usageError is an error Fail has printed; it reads as the error itself.
type usageError struct{ err error }

func (e *usageError) Error() string        { return e.err.Error() }
func (e *usageError) Unwrap() error        { return e.err }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

// prog is argparse's program name: the base name of sys.argv[0], here of
// the name NewParser was given (os.Args[0] in runtime.Serve).
func (p *Parser) prog() string { return filepath.Base(p.fs.Name()) }

// Fail writes err as argparse's parser.error does, to FlagSet().Output():
// the usage block, then one "prog: error: …" line per line of err; it
// returns err marked to match ErrUsage. Parse calls it for its own errors;
// a main calls it for flags it checks itself after Parse
// (onnx.Flags.Validate), then exits with status 2 on ErrUsage.
func (p *Parser) Fail(err error) error {
	return p.fail(err, true)
}

// fail is Fail with the usage of the seed's parser (seed) or of KServe's.
//
// A KServe program parses twice: "import kserve" runs KServe's own parser
// (no -h, only its flags) over sys.argv, then the program's parser (with
// parents=[that parser]) adds -h and its own flags. A bad value of one of
// KServe's flags is therefore reported by the first, whose usage lists
// neither; one of the program's flags by the second. Our extensions count
// as KServe's.
func (p *Parser) fail(err error, seed bool) error {
	w := p.fs.Output()
	fmt.Fprint(w, p.usageLine(seed))
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s: error: %s\n", p.prog(), line)
	}
	return &usageError{err}
}

// seedError reports whether KServe's own parser would have let err pass
// and the seed's reported it: an argument of the program's own flags, or a
// prefix that is ambiguous only with them or --help.
func (p *Parser) seedError(err error) bool {
	own := map[string]bool{}
	for _, name := range p.order {
		own["--"+name] = true
	}
	var ae *ArgError
	if errors.As(err, &ae) {
		return strings.HasPrefix(ae.Arg, "--") && !own[ae.Arg]
	}
	var amb *ambiguousError
	if errors.As(err, &amb) {
		n := 0
		for _, name := range amb.names {
			if own[name] {
				n++
			}
		}
		return n < 2 // KServe's parser alone saw no ambiguity
	}
	return false // validation and the environment: KServe's side
}

// ambiguousError is argparse's error for a prefix of several options.
type ambiguousError struct {
	token string
	names []string // in the parser's order
}

func (e *ambiguousError) Error() string {
	return fmt.Sprintf("ambiguous option: %s could match %s", e.token, strings.Join(e.names, ", "))
}

// usageLine is argparse's usage block ("usage: prog [-h] [--http_port
// HTTP_PORT] …\n"), wrapped as argparse's HelpFormatter wraps it at the
// COLUMNS the parser read (80 when unset), options in the order KServe's
// parser adds them, then ours, then, with seed, the program's
// (alphabetical: Go's flag package keeps no order).
func (p *Parser) usageLine(seed bool) string {
	const prefix = "usage: "
	prog := p.prog()
	parts := p.usageParts(seed)
	cols := p.columns
	if cols == 0 { // Fail before Parse
		cols = columns(os.Getenv)
	}
	width := cols - 2
	if len(prefix)+len(prog)+1+len(strings.Join(parts, " ")) <= width {
		return prefix + strings.TrimRight(prog+" "+strings.Join(parts, " "), " ") + "\n"
	}
	var lines []string
	if float64(len(prefix)+len(prog)) <= 0.75*float64(width) {
		indent := strings.Repeat(" ", len(prefix)+len(prog)+1)
		lines = wrapParts(append([]string{prog}, parts...), indent, len(prefix), width)
		lines[0] = strings.TrimPrefix(lines[0], indent)
	} else {
		indent := strings.Repeat(" ", len(prefix))
		lines = append([]string{prog}, wrapParts(parts, indent, len(indent), width)...)
	}
	return prefix + strings.Join(lines, "\n") + "\n"
}

// wrapParts is argparse's get_lines: parts joined by spaces, a new line
// (starting with indent) before a part that would pass width.
func wrapParts(parts []string, indent string, start, width int) []string {
	var lines, line []string
	n := start - 1
	for _, part := range parts {
		if n+1+len(part) > width && len(line) > 0 {
			lines = append(lines, indent+strings.Join(line, " "))
			line, n = nil, len(indent)-1
		}
		line = append(line, part)
		n += len(part) + 1
	}
	if len(line) > 0 {
		lines = append(lines, indent+strings.Join(line, " "))
	}
	return lines
}

// usageParts lists "[-h]" (when the program has not taken -h or --help)
// and every flag as argparse shows it: "[--name NAME]", "[--name
// {a,b}]", "[--switch]"; without seed, only the parser's own flags and no
// -h, as KServe's parser shows them (see fail).
func (p *Parser) usageParts(seed bool) []string {
	var parts []string
	if seed && p.helpAvailable() {
		parts = append(parts, "[-h]")
	}
	for i, f := range p.flagsInOrder() {
		if !seed && i >= len(p.order) {
			break
		}
		parts = append(parts, "["+optionUsage(f)+"]")
	}
	return parts
}

// helpAvailable reports whether -h/--help are the parser's: the program
// has taken neither name.
func (p *Parser) helpAvailable() bool {
	return p.fs.Lookup("h") == nil && p.fs.Lookup("help") == nil
}

// flagsInOrder is the parser's own flags in registration order, then the
// user's sorted by name.
func (p *Parser) flagsInOrder() []*flag.Flag {
	var fs []*flag.Flag
	own := map[string]bool{}
	for _, name := range p.order {
		own[name] = true
		fs = append(fs, p.fs.Lookup(name))
	}
	var user []*flag.Flag
	p.fs.VisitAll(func(f *flag.Flag) {
		if !own[f.Name] {
			user = append(user, f)
		}
	})
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	return append(fs, user...)
}

// optionUsage is "--name METAVAR" with argparse's metavar: the choices in
// braces, else the dest (dashes as underscores) upper-cased; a switch has none.
func optionUsage(f *flag.Flag) string {
	switch v := f.Value.(type) {
	case interface{ storeTrue() }:
		return "--" + f.Name
	case choiceValue:
		return "--" + f.Name + " {" + strings.Join(v.choices, ",") + "}"
	}
	return "--" + f.Name + " " + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
}

// columns is Python's shutil.get_terminal_size().columns, which argparse
// wraps at (less 2): $COLUMNS when a positive number, else the width of the
// terminal on standard output, else 80.
func columns(getenv func(string) string) int {
	if n, err := strconv.Atoi(strings.TrimSpace(getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if n := stdoutColumns(); n > 0 {
		return n
	}
	return 80
}
