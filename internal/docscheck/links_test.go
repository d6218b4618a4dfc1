package docscheck

import (
	"io/fs"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"
)

var (
	fence   = regexp.MustCompile("(?s)```.*?```")
	link    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	inline  = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	scheme  = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:`)
)

// slug is the anchor GitHub gives a heading: lower case, links reduced to
// their text, letters, digits, '-' and '_' kept, spaces turned into '-',
// everything else dropped.
func slug(h string) string {
	h = strings.ToLower(strings.TrimSpace(inline.ReplaceAllString(h, "$1")))
	var b strings.Builder
	for _, r := range h {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// htmlAnchor is an HTML anchor in Markdown (<a id="x"></a>), which GitHub
// keeps and a link "#x" reaches: it names a bullet or a paragraph that has
// no heading.
var htmlAnchor = regexp.MustCompile(`<a (?:id|name)="([^"]+)"`)

// anchors lists the anchors of a Markdown text's headings and its HTML
// anchors, outside code fences; a repeated heading gets -1, -2, ... as on
// GitHub.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, a := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			out[a[1]] = true
		}
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := slug(m[2])
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// brokenLinks returns one line per relative link, in the Markdown files of
// fsys, that names a missing file or a heading its file does not have.
// Links with a scheme (https:, mailto:) are not followed.
func brokenLinks(fsys fs.FS) ([]string, error) {
	var broken []string
	cache := map[string]map[string]bool{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return fs.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".md") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		for _, m := range link.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
			target := m[1]
			if scheme.MatchString(target) {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			resolved := p
			if file != "" {
				resolved = path.Clean(path.Join(path.Dir(p), file))
				if _, err := fs.Stat(fsys, resolved); err != nil {
					broken = append(broken, p+": "+target+": no such file")
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(resolved, ".md") {
				continue
			}
			if cache[resolved] == nil {
				tb, err := fs.ReadFile(fsys, resolved)
				if err != nil {
					return err
				}
				cache[resolved] = anchors(string(tb))
			}
			if !cache[resolved][anchor] {
				broken = append(broken, p+": "+target+": no heading with that anchor in "+resolved)
			}
		}
		return nil
	})
	return broken, err
}

// Every relative link and anchor in the repository's Markdown (README,
// docs/, examples, templates, the golden projects' READMEs) resolves.
func TestMarkdownLinksResolve(t *testing.T) {
	broken, err := brokenLinks(os.DirFS("../.."))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range broken {
		t.Error(b)
	}
}

// The checker itself: it finds a missing file, a missing anchor, and takes
// what GitHub takes (punctuation dropped, a repeated heading numbered, a
// link in a code fence ignored).
func TestBrokenLinksFindsWhatIsBroken(t *testing.T) {
	fsys := fstest.MapFS{
		"README.md": {Data: []byte("# Top\n[a](docs/a.md#flags-and-env) [b](docs/a.md#the-env) [c](docs/gone.md) [d](#top) " +
			"[e](docs/a.md#notes-1) [f](https://example.invalid/x) [g](docs/a.md#nope) [i](docs/a.md#a-bullet) [j](docs/a.md#fenced)\n```\n[h](nothere.md)\n```\n")},
		"docs/a.md": {Data: []byte("## Flags, and env!\n## `The` env\n## Notes\n## Notes\n- <a id=\"a-bullet\"></a>**A bullet**\n```\n# not a heading\n<a id=\"fenced\"></a>\n```\n")},
	}
	got, err := brokenLinks(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md: docs/gone.md: no such file",
		"README.md: docs/a.md#nope: no heading with that anchor in docs/a.md",
		"README.md: docs/a.md#fenced: no heading with that anchor in docs/a.md",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
