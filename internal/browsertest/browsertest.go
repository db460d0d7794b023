// Package browsertest starts the headless Chromium that restauth's browser
// tests drive through chromedp. The tests skip when Chromium is missing,
// unless RESTAUTH_TEST_BROWSER=1 (set by .ci/run), which makes a missing
// browser a failure.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds Chromium, from RESTAUTH_CHROMIUM or the usual names, or skips
// (or fails, with RESTAUTH_TEST_BROWSER=1) the test.
func Path(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("RESTAUTH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	const how = "Chromium not found: install it (Debian: apt-get update && apt-get install -y chromium) or set RESTAUTH_CHROMIUM to its path"
	if os.Getenv("RESTAUTH_TEST_BROWSER") == "1" {
		t.Fatal(how + "; RESTAUTH_TEST_BROWSER=1 makes this a failure")
	}
	t.Skip(how)
	return ""
}

// New starts a headless Chromium with a fresh profile and no background
// networking (the test machine may have no internet, and the browser must
// only talk to the test servers), and returns the context of its tab, which
// ends after three minutes at the most. extra options come last, so they
// may override the defaults.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := Path(t)
	// The profile is not t.TempDir: Chromium's helper processes may still
	// write to it for a moment after the browser is stopped, and
	// t.TempDir's cleanup fails the test on a folder that is not empty.
	profile, err := os.MkdirTemp("", "restauth-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Without site isolation the frames of other sites share the
		// page's process, so that its frame tree shows what they rendered.
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,IsolateOrigins,site-per-process"),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(900, 800),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
		removeProfile(t, profile)
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(900, 800)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// removeProfile removes a Chromium profile, retrying while the browser's
// helper processes finish writing to it; a profile that still cannot be
// removed is only logged, since it says nothing about restauth.
func removeProfile(t testing.TB, dir string) {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Chromium profile %s left behind: %v", dir, err)
}
