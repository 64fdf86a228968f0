package demo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vucelink/vucelink/lifecycle"
)

// browserContext starts Debian's chromium, headless, on a throwaway
// profile. Without chromium the test is skipped, unless
// VUCELINK_REQUIRE_BROWSER is set (CI sets it, so it cannot silently skip).
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is required (VUCELINK_REQUIRE_BROWSER is set) but not installed: apt-get install chromium")
		}
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // the test may run as root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(bctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return tctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	// `VUCELINK_UPDATE_SCREENSHOTS=1 go test ./demo -run Browser` refreshes
	// the README's picture of the console.
	if os.Getenv("VUCELINK_UPDATE_SCREENSHOTS") != "" {
		if err := os.WriteFile(filepath.Join("..", "docs", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// An operator in a real browser: logs in, finds the certificate that could
// not be delivered while Mexico's node was down, and once Mexico is back
// presses "Resend now" and watches it become received-correctly.
func TestConsole_BrowserResendAfterOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx := browserContext(t)
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true, GiveUpAfter: time.Second})
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Stop(sctx, "MX"); err != nil {
		t.Fatal(err)
	}
	tid := sendNative(t, n, 1)
	waitState(t, n, "CL", tid, lifecycle.Incomplete)
	d, err := n.Nodes["CL"].Store.Get(context.Background(), tid)
	if err != nil {
		t.Fatal(err)
	}
	base := n.ConsoleURL("CL")

	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "operator"),
		chromedp.SendKeys(chromedp.CSS("#password"), n.ConsolePassword),
		chromedp.Click(chromedp.CSS(`form.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/console/documents?direction=outbound&state=incomplete"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.docs")),
	); err != nil {
		t.Fatal(err)
	}
	if list := text("table.docs tbody"); !strings.Contains(list, d.DocumentID) || !strings.Contains(list, "incomplete") {
		t.Fatalf("the incomplete list does not show %s:\n%s", d.DocumentID, list)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/console/documents/`+tid+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#state")),
	); err != nil {
		t.Fatal(err)
	}
	if state := text("#state"); state != "incomplete" {
		t.Fatalf("document page shows state %q", state)
	}

	// Accessibility basics the browser can judge: every visible control
	// has a label, and the page fits a phone's width without sideways
	// scrolling. (Evaluate runs through the DevTools protocol, which the
	// page's no-script CSP does not restrict.)
	unlabeled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input:not([type=hidden]),select,textarea')].filter(e => !e.labels || e.labels.length === 0).map(e => e.name)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(unlabeled) > 0 {
		t.Errorf("controls without a label: %v", unlabeled)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the document page scrolls sideways on a 390 px wide screen")
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000)); err != nil {
		t.Fatal(err)
	}

	if err := n.Restart("MX", nil); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#reason-resend"), "Mexico's node is back"),
		chromedp.Click(chromedp.CSS("#do-resend")),
		chromedp.WaitVisible(chromedp.CSS(`p[role="status"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if done := text(`p[role="status"]`); !strings.Contains(done, "queued for delivery again") {
		t.Fatalf("confirmation %q", done)
	}
	deadline := time.Now().Add(30 * time.Second)
	for state := text("#state"); state != string(lifecycle.ReceivedCorrectly); state = text("#state") {
		if time.Now().After(deadline) {
			t.Fatalf("the page still shows %q after 30 s", state)
		}
		time.Sleep(300 * time.Millisecond)
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#state"))); err != nil {
			t.Fatal(err)
		}
	}
	if timeline := text("ol.timeline"); !strings.Contains(timeline, "operator:operator: resend: Mexico's node is back") {
		t.Errorf("the timeline does not record who resent it and why:\n%s", timeline)
	}
	screenshot(t, ctx, "console-document.png")
	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS(".tiles"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "console.png")
}
