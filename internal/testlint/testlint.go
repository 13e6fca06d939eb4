// Package testlint checks the test code of the whole module for the one mistake that
// turns a failing test into a hanging one: t.Fatal (FailNow, Skip) called from a
// goroutine other than the test's. testing.T documents that FailNow "must be called
// from the goroutine running the test"; called elsewhere it ends only that goroutine
// (runtime.Goexit), so whatever the test waits on next never comes and the run dies at
// its timeout, far from the cause. A goroutine reports its error on a channel, or calls
// t.Error and returns, instead.
//
// The check is syntactic (go/ast, no type checking, so it needs no build and no
// dependency): it knows a testing value by its declared type (*testing.T, *testing.B,
// *testing.F, testing.TB), follows helpers that fail on a testing argument (get(t, …),
// tstest.WaitFor(t, …)) through every package of the module, and looks inside function
// literals that run on another goroutine: the function of a go statement, an argument of
// a .Go method (sync.WaitGroup.Go, errgroup), time.AfterFunc, and HTTP handlers
// (http.HandlerFunc, HandleFunc), which the server calls on its own goroutines.
package testlint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Finding is one call that may end a goroutine other than the test's.
type Finding struct {
	Pos  token.Position // file (relative to the module root), line, column
	Call string         // what is called: "t.Fatalf", "get", "tstest.WaitFor"
	Via  string         // where that goroutine starts: "go statement", "http.HandlerFunc", …
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s called on a goroutine that is not the test's (started by %s); send the error back on a channel or use t.Error and return",
		f.Pos.Filename, f.Pos.Line, f.Call, f.Via)
}

// failNowMethods end the calling goroutine through runtime.Goexit.
var failNowMethods = map[string]bool{
	"Fatal": true, "Fatalf": true, "FailNow": true,
	"Skip": true, "Skipf": true, "SkipNow": true,
}

// pkg is one directory's files, parsed.
type pkg struct {
	dir   string // relative to the module root, slash-separated
	path  string // import path
	files []*ast.File
}

// Check parses every Go file under root (a module root: it reads the module path from
// root/go.mod), skipping testdata, vendor and hidden directories, and returns the
// calls that may fail a test from another goroutine, sorted by position.
func Check(root string) ([]Finding, error) {
	modPath, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	pkgs, err := parseTree(fset, root, modPath)
	if err != nil {
		return nil, err
	}
	fails := failingFuncs(pkgs)
	var out []Finding
	for _, p := range pkgs {
		for _, f := range p.files {
			name := fset.Position(f.Package).Filename
			if !strings.HasSuffix(name, "_test.go") && !declaresTestingHelpers(f) {
				continue
			}
			out = append(out, checkFile(fset, root, p, f, fails)...)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Line < b.Line
	})
	return out, nil
}

// declaresTestingHelpers reports whether a non-test file imports testing: a helper
// package (tstest, browsertest) whose functions run inside tests.
func declaresTestingHelpers(f *ast.File) bool {
	return importName(f, "testing") != ""
}

func modulePath(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("testlint: read the module path: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("testlint: %s/go.mod has no module line", root)
}

func parseTree(fset *token.FileSet, root, modPath string) ([]*pkg, error) {
	byDir := map[string]*pkg{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("testlint: %w", err)
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		p := byDir[rel]
		if p == nil {
			ip := modPath
			if rel != "." {
				ip += "/" + rel
			}
			p = &pkg{dir: rel, path: ip}
			byDir[rel] = p
		}
		p.files = append(p.files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var pkgs []*pkg
	for _, p := range byDir {
		pkgs = append(pkgs, p)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].dir < pkgs[j].dir })
	return pkgs, nil
}

// importName is the name under which f imports path, or "".
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return p[strings.LastIndex(p, "/")+1:]
	}
	return ""
}

// isTestingType reports whether e spells *testing.T, *testing.B, *testing.F or
// testing.TB, with testing imported as tname.
func isTestingType(e ast.Expr, tname string) bool {
	if tname == "" {
		return false
	}
	if st, ok := e.(*ast.StarExpr); ok {
		sel, ok := st.X.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		x, ok := sel.X.(*ast.Ident)
		return ok && x.Name == tname && (sel.Sel.Name == "T" || sel.Sel.Name == "B" || sel.Sel.Name == "F")
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == tname && sel.Sel.Name == "TB"
}

// testingNames returns the names of fl's parameters (and receiver) of a testing type.
func testingNames(fl *ast.FieldList, tname string) map[string]bool {
	names := map[string]bool{}
	if fl == nil {
		return names
	}
	for _, field := range fl.List {
		if isTestingType(field.Type, tname) {
			for _, n := range field.Names {
				names[n.Name] = true
			}
		}
	}
	return names
}

// funcKey names a function or method across the module: "path.Name" or
// "path.Type.Name".
func funcKey(path string, fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return path + "." + fd.Name.Name
	}
	return path + "." + recvType(fd.Recv.List[0].Type) + "." + fd.Name.Name
}

func recvType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvType(e.X)
	case *ast.IndexExpr:
		return recvType(e.X)
	case *ast.IndexListExpr:
		return recvType(e.X)
	case *ast.Ident:
		return e.Name
	}
	return "?"
}

// failing is the set of functions that may call FailNow on a testing value they are
// handed, by funcKey; methodNames maps a method name to the keys of such methods,
// for calls whose receiver type a syntactic check cannot know.
type failing struct {
	funcs       map[string]bool
	methodNames map[string][]string
}

// testingFields returns, per struct type name of p, its fields of a testing type.
func testingFields(p *pkg) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, f := range p.files {
		tname := importName(f, "testing")
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			if names := testingNames(st.Fields, tname); len(names) > 0 {
				out[ts.Name.Name] = names
			}
			return true
		})
	}
	return out
}

// failingFuncs finds, to a fixed point over the whole module, every function that
// calls a FailNow method on a testing parameter (or receiver field), or passes one to
// a function that does.
func failingFuncs(pkgs []*pkg) failing {
	fs := failing{funcs: map[string]bool{}, methodNames: map[string][]string{}}
	fields := map[*pkg]map[string]map[string]bool{}
	for _, p := range pkgs {
		fields[p] = testingFields(p)
	}
	for changed := true; changed; {
		changed = false
		for _, p := range pkgs {
			for _, f := range p.files {
				tname := importName(f, "testing")
				if tname == "" {
					continue
				}
				for _, d := range f.Decls {
					fd, ok := d.(*ast.FuncDecl)
					if !ok || fd.Body == nil {
						continue
					}
					key := funcKey(p.path, fd)
					if fs.funcs[key] {
						continue
					}
					tvals := testingNames(fd.Type.Params, tname)
					for n := range testingNames(fd.Recv, tname) {
						tvals[n] = true
					}
					var recvFields map[string]bool
					recvName := ""
					if fd.Recv != nil && len(fd.Recv.List) == 1 && len(fd.Recv.List[0].Names) == 1 {
						recvName = fd.Recv.List[0].Names[0].Name
						recvFields = fields[p][recvType(fd.Recv.List[0].Type)]
					}
					r := resolver{p: p, f: f, fs: fs}
					if bodyFails(fd.Body, func(e ast.Expr) bool {
						return isTestingValue(e, tvals, recvName, recvFields)
					}, r) {
						fs.funcs[key] = true
						if fd.Recv != nil {
							fs.methodNames[fd.Name.Name] = append(fs.methodNames[fd.Name.Name], key)
						}
						changed = true
					}
				}
			}
		}
	}
	return fs
}

// isTestingValue reports whether e is one of the testing values: a name in tvals, or
// recv.field for a testing field of the receiver's struct.
func isTestingValue(e ast.Expr, tvals map[string]bool, recv string, recvFields map[string]bool) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return tvals[e.Name]
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		return ok && recv != "" && x.Name == recv && recvFields[e.Sel.Name]
	case *ast.ParenExpr:
		return isTestingValue(e.X, tvals, recv, recvFields)
	}
	return false
}

// resolver finds the failing function a call names, as seen from one file.
type resolver struct {
	p  *pkg
	f  *ast.File
	fs failing
}

// failingCallee returns the name of the failing function or method call calls, or "".
func (r resolver) failingCallee(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		if r.fs.funcs[r.p.path+"."+fn.Name] {
			return fn.Name
		}
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok {
			for _, imp := range r.f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				name := path[strings.LastIndex(path, "/")+1:]
				if imp.Name != nil {
					name = imp.Name.Name
				}
				if name == x.Name {
					if r.fs.funcs[path+"."+fn.Sel.Name] {
						return x.Name + "." + fn.Sel.Name
					}
					return ""
				}
			}
		}
		// A method: the receiver's type is unknown without type checking, so any
		// failing method of that name in this package or one the file imports counts.
		for _, key := range r.fs.methodNames[fn.Sel.Name] {
			if strings.HasPrefix(key, r.p.path+".") && !strings.Contains(key[len(r.p.path)+1:], "/") {
				return "." + fn.Sel.Name
			}
			for _, imp := range r.f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if strings.HasPrefix(key, path+".") && !strings.Contains(key[len(path)+1:], "/") {
					return "." + fn.Sel.Name
				}
			}
		}
	}
	return ""
}

// bodyFails reports whether body calls a FailNow method on a testing value (as
// isT decides) or hands one to a failing function, outside nested function literals
// that declare their own testing parameter (a subtest's func(t *testing.T)).
func bodyFails(body ast.Node, isT func(ast.Expr) bool, r resolver) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if found {
			return false
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if failNowCall(call, isT) || (r.failingCallee(call) != "" && passesTesting(call, isT)) {
			found = true
			return false
		}
		return true
	})
	return found
}

// failNowCall reports whether call is x.Fatal(…) (or another FailNow method) on a
// testing value x.
func failNowCall(call *ast.CallExpr, isT func(ast.Expr) bool) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && failNowMethods[sel.Sel.Name] && isT(sel.X)
}

// passesTesting reports whether call hands a testing value to its callee, as an
// argument or as the receiver of a method.
func passesTesting(call *ast.CallExpr, isT func(ast.Expr) bool) bool {
	for _, a := range call.Args {
		if isT(a) {
			return true
		}
	}
	// h.must(…) where h holds a t: a failing method's receiver owns the testing
	// value, so calling it is passing one.
	_, isMethod := call.Fun.(*ast.SelectorExpr)
	return isMethod
}

// checkFile reports the failing calls inside f's function literals that run on
// another goroutine.
func checkFile(fset *token.FileSet, root string, p *pkg, f *ast.File, fs failing) []Finding {
	tname := importName(f, "testing")
	httpName := importName(f, "net/http")
	timeName := importName(f, "time")
	r := resolver{p: p, f: f, fs: fs}
	var out []Finding
	report := func(lit *ast.FuncLit, via string) {
		out = append(out, goroutineFindings(fset, root, lit, via, tname, r)...)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			if lit, ok := n.Call.Fun.(*ast.FuncLit); ok {
				report(lit, "a go statement")
			} else if name := r.failingCallee(n.Call); name != "" && passesTesting(n.Call, maybeTesting) {
				out = append(out, Finding{Pos: relPos(fset, root, n.Pos()), Call: name, Via: "a go statement"})
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, _ := sel.X.(*ast.Ident)
			var via string
			switch {
			case sel.Sel.Name == "Go":
				via = "a .Go method"
			case x != nil && x.Name == timeName && timeName != "" && sel.Sel.Name == "AfterFunc":
				via = "time.AfterFunc"
			case x != nil && x.Name == httpName && httpName != "" && sel.Sel.Name == "HandlerFunc":
				via = "http.HandlerFunc"
			case sel.Sel.Name == "HandleFunc":
				via = "an HTTP handler (HandleFunc)"
			default:
				return true
			}
			for _, a := range n.Args {
				if lit, ok := a.(*ast.FuncLit); ok {
					report(lit, via)
				}
			}
		}
		return true
	})
	return out
}

// goroutineFindings walks a function literal that runs on another goroutine and
// returns its failing calls on testing values. A nested literal with a testing
// parameter of its own (t.Run's subtest) is skipped: the subtest runs on a goroutine
// of its own, where FailNow is right. The literal's own parameters are not skipped:
// go func(t *testing.T) {…}(t) still hands the test's t to another goroutine.
func goroutineFindings(fset *token.FileSet, root string, lit *ast.FuncLit, via, tname string, r resolver) []Finding {
	var out []Finding
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return len(testingNames(n.Type.Params, tname)) == 0
		case *ast.CallExpr:
			if failNowCall(n, maybeTesting) {
				sel := n.Fun.(*ast.SelectorExpr)
				out = append(out, Finding{Pos: relPos(fset, root, n.Pos()), Call: exprString(sel.X) + "." + sel.Sel.Name, Via: via})
			} else if name := r.failingCallee(n); name != "" && passesTesting(n, maybeTesting) {
				out = append(out, Finding{Pos: relPos(fset, root, n.Pos()), Call: exprString(n.Fun), Via: via})
			}
		}
		return true
	})
	return out
}

// maybeTesting reports whether e may be a testing value inside a goroutine, where its
// declaration is out of sight: any identifier (t, tb, b) but the log package, or a
// field named t or tb (h.t).
func maybeTesting(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name != "log"
	case *ast.SelectorExpr:
		_, ok := e.X.(*ast.Ident)
		return ok && (e.Sel.Name == "t" || e.Sel.Name == "tb")
	case *ast.ParenExpr:
		return maybeTesting(e.X)
	}
	return false
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	}
	return "?"
}

func relPos(fset *token.FileSet, root string, pos token.Pos) token.Position {
	p := fset.Position(pos)
	if rel, err := filepath.Rel(root, p.Filename); err == nil {
		p.Filename = filepath.ToSlash(rel)
	}
	return p
}
