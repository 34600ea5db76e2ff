package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/distill-dev/distill/"

// goDirs are the directories of the checkout that hold Go files, relative
// to the root ("." for main), without test data and installed tools.
func goDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if dir := filepath.Dir(path); strings.HasSuffix(path, ".go") && !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

var layoutEntry = regexp.MustCompile("^- `([^`]+)`:")

// TestLayoutInReadme holds README's layout section to the tree: every
// directory with Go files is listed, and every listed path exists.
func TestLayoutInReadme(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]bool{}
	for line := range strings.SplitSeq(section, "\n") {
		m := layoutEntry.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		p := strings.TrimSuffix(m[1], "/")
		listed[p] = true
		if _, err := os.Stat(p); err != nil {
			t.Errorf("README's layout lists %s: %v", m[1], err)
		}
	}
	for _, d := range goDirs(t) {
		if d == "." {
			d = "main.go"
		}
		if !listed[d] {
			t.Errorf("README's layout does not list %s/", d)
		}
	}
}

// TestPackageDocs holds each package's doc comment to the layering: it says
// what the package is for ("Package x ..." or "Command x ...") and which of
// our packages it may import, and the package imports no others.
func TestPackageDocs(t *testing.T) {
	dirs := goDirs(t)
	for _, dir := range dirs {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for name, pkg := range pkgs {
			var docs []string
			var imports []string
			for _, f := range pkg.Files {
				if f.Doc != nil {
					docs = append(docs, f.Doc.Text())
				}
				for _, imp := range f.Imports {
					p, _ := strconv.Unquote(imp.Path.Value)
					if p, ours := strings.CutPrefix(p, module); ours && !slices.Contains(imports, p) {
						imports = append(imports, p)
					}
				}
			}
			if len(docs) != 1 {
				t.Errorf("%s: %d doc comments, want one", dir, len(docs))
				continue
			}
			allowed, err := mayImport(docs[0], name)
			if err != nil {
				t.Errorf("%s: %v", dir, err)
				continue
			}
			for _, a := range allowed {
				if !slices.Contains(dirs, a) {
					t.Errorf("%s: may import %s, which is not a package here", dir, a)
				}
			}
			for _, p := range imports {
				if !slices.Contains(allowed, p) {
					t.Errorf("%s imports %s, which its doc does not allow", dir, p)
				}
			}
		}
	}
}

var importOnly = regexp.MustCompile(`Of ours it may import only ([^.]*)\.`)
var backquoted = regexp.MustCompile("`([^`]+)`")

// mayImport reads the packages a doc comment allows: none after "It imports
// nothing of ours.", else the quoted paths after "Of ours it may import only".
func mayImport(doc, name string) ([]string, error) {
	if !strings.HasPrefix(doc, "Package "+name+" ") && !(name == "main" && strings.HasPrefix(doc, "Command ")) {
		return nil, fmt.Errorf("doc opens with %.30q, not with what the package is for (Package %s ...)", doc, name)
	}
	doc = strings.Join(strings.Fields(doc), " ")
	if strings.Contains(doc, "It imports nothing of ours.") {
		return nil, nil
	}
	m := importOnly.FindStringSubmatch(doc)
	if m == nil {
		return nil, fmt.Errorf("doc says neither \"It imports nothing of ours.\" nor \"Of ours it may import only `a` and `b`.\"")
	}
	var allowed []string
	for _, q := range backquoted.FindAllStringSubmatch(m[1], -1) {
		allowed = append(allowed, q[1])
	}
	return allowed, nil
}
