// Package browsertest drives the dashboard's page in a real headless Chromium
// (Debian's /usr/bin/chromium, through chromedp), for the dashboard's own test
// against a fake cluster and for cmd/devcluster's end-to-end test against a
// real one: both open the URL `devcluster up` prints and use the same helpers.
//
// It reads the page through the data attributes app.js sets:
// tr[data-id=ID] td[data-col=COL] for the instance table,
// button[data-action=KIND][data-target=ID] for the actions,
// input[data-field=FIELD][data-target=ID] for their values.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/devcluster/devcluster/internal/tstest"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// Chromium returns the browser's path: Debian's, else a chromium on PATH. Without
// one it skips the test with the install line, or fails it under CI, by
// tstest.NeedTool's rule (CI installs chromium: a missing one is a broken CI, never a
// silent skip).
func Chromium(t testing.TB) string {
	t.Helper()
	if p, err := tstest.LookTool(ChromiumPath); err == nil {
		return p
	}
	return tstest.NeedTool(t, "chromium", "sudo apt-get install -y chromium")
}

// Artifacts is where screenshots go: $DEVCLUSTER_ARTIFACTS if set (CI keeps
// it), else a directory removed after the test.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DEVCLUSTER_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	return dir
}

// Page is one open tab.
type Page struct {
	t         testing.TB
	ctx       context.Context
	artifacts string
	prefix    string // screenshot names start with it: the test's name
}

// stepTimeout bounds one browser step; waits have their own timeouts.
const stepTimeout = 20 * time.Second

// Open starts a fresh headless Chromium (its own profile, no network beyond
// the page) and opens url, the dashboard URL with its #token=. The browser is
// stopped, and waited for, when the test ends.
func Open(t testing.TB, url string) *Page {
	t.Helper()
	return OpenSized(t, url, 1600, 1400)
}

// OpenSized is Open with a viewport of width×height CSS pixels, for the
// layout tests (a projector's or a laptop's window).
func OpenSized(t testing.TB, url string, width, height int) *Page {
	t.Helper()
	return open(t, url, width, height)
}

// OpenEnv is Open with a browser whose environment has env added ("HOME=…":
// the NSS database of that home, where devcluster trust installed its CA).
func OpenEnv(t testing.TB, url string, env ...string) *Page {
	t.Helper()
	return open(t, url, 1600, 1400, chromedp.Env(env...))
}

func open(t testing.TB, url string, width, height int, extra ...chromedp.ExecAllocatorOption) *Page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // kills the browser and waits for it
	})
	p := &Page{t: t, ctx: ctx, artifacts: Artifacts(t), prefix: strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())}
	// The browser belongs to the context of the first Do: start it on the
	// test-long ctx, not on a step's timeout (whose end would close it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	sctx, scancel := context.WithTimeout(ctx, stepTimeout)
	defer scancel()
	if err := chromedp.Do(sctx, chromedp.EmulateViewport(int64(width), int64(height)), chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in chromium: %v", url, err)
	}
	return p
}

// Eval evaluates a JavaScript expression and decodes its value into v.
func (p *Page) Eval(expr string, v any) error {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// Text returns the text of the first element sel matches, "" if none does.
func (p *Page) Text(sel string) string {
	var s string
	q, _ := json.Marshal(sel)
	if err := p.Eval(fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").trim()`, q), &s); err != nil {
		p.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// WaitText waits until the text of sel satisfies ok.
func (p *Page) WaitText(sel, what string, timeout time.Duration, ok func(string) bool) string {
	p.t.Helper()
	var last string
	if !tstest.Poll(timeout, func() bool { last = p.Text(sel); return ok(last) }) {
		p.Screenshot("timeout")
		p.t.Fatalf("timed out after %s waiting for %s (%s is %q)", timeout, what, sel, last)
	}
	return last
}

// Cell is the CSS selector of instance id's cell in column col (id, state,
// balancer, pid, total, p50, faults, ...; see app.js).
func Cell(id, col string) string {
	return fmt.Sprintf(`#instances tr[data-id=%q] td[data-col=%q]`, id, col)
}

// Button is the selector of the action kind's button for target.
func Button(kind, target string) string {
	return fmt.Sprintf(`button[data-action=%q][data-target=%q]`, kind, target)
}

// Field is the selector of an action's input for target (delay_ms,
// jitter_ms, delay_percent, fail_percent, fail_status, reset_percent,
// timeout_percent, weight).
func Field(field, target string) string {
	return fmt.Sprintf(`input[data-field=%q][data-target=%q]`, field, target)
}

// WaitCell waits until instance id's cell col satisfies ok.
func (p *Page) WaitCell(id, col, what string, timeout time.Duration, ok func(string) bool) string {
	p.t.Helper()
	return p.WaitText(Cell(id, col), what, timeout, ok)
}

// Click clicks the element sel, as the user would (a real mouse event).
func (p *Page) Click(sel string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		p.t.Fatalf("click %s: %v", sel, err)
	}
}

// SetValue replaces the value of the input sel.
func (p *Page) SetValue(sel, value string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible)); err != nil {
		p.t.Fatalf("set %s to %s: %v", sel, value, err)
	}
}

// Screenshot saves a PNG of the whole page as TESTNAME-name.png in the
// artifacts directory, logs its path and returns it.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(p.artifacts, p.prefix+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	p.t.Logf("screenshot: %s", path)
	return path
}
