package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/pixels"
	"github.com/latentzoo/latentzoo/serve"
	"github.com/latentzoo/latentzoo/zoo"
)

// EnvScreenshot names the file the browser test saves its screenshot to; by default it
// goes to the test's temporary folder.
const envScreenshot = "LATENTZOO_SCREENSHOT"

// EnvChromium names the browser to run; by default the first of chromium,
// chromium-browser and google-chrome on the PATH.
const envChromium = "LATENTZOO_CHROMIUM"

// findChromium finds the browser, or fails the test saying how to install it.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(envChromium); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no Chromium on the PATH: install the Debian package chromium (make deps does), or set %s", envChromium)
	return ""
}

// demoModel is the built-in entry the page is tested with: the one make run serves by
// default, which must carry attribute directions for the page's edit panel.
const demoModel = "vae/fashion-mnist:v1"

// builtinEntries are the built-in autoencoders, as make run serves them: demoModel first
// (the page's default), which must carry attribute directions for the edit panel.
func builtinEntries(t *testing.T) []zoo.Entry {
	t.Helper()
	builtin, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var demo zoo.Entry
	var others []zoo.Entry
	for _, e := range zoo.Autoencoders(builtin) {
		if e.Manifest().Name == demoModel {
			demo = e
		} else {
			others = append(others, e)
		}
	}
	if demo == nil {
		t.Fatalf("no built-in entry %s: make run would not serve it", demoModel)
	}
	if len(demo.Manifest().Attributes) == 0 {
		t.Fatalf("built-in entry %s has no attribute directions: run latentzoo attributes on its folder under zoo/builtin", demoModel)
	}
	return append([]zoo.Entry{demo}, others...)
}

// testImage writes test image i of Fashion-MNIST, as the data set has it (28×28 grey), to a
// PNG file in dir.
func testImage(t *testing.T, dir string, i int) string {
	t.Helper()
	set, err := dataset.Load(dataset.FashionMNIST, dataset.Test, 28, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := pixels.ToImage(set.Image(i), 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("fashion-test-%d.png", i))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// profile makes a fresh folder for the browser's profile. Chromium's helper processes may
// still write to it for a moment after the browser quits, so its removal is tried again for
// a few seconds rather than left to t.TempDir, whose one try would fail the test.
func profile(t *testing.T) string {
	dir, err := os.MkdirTemp("", "latentzoo-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("browser profile %s left behind: %v", dir, err)
	})
	return dir
}

// page drives the demo page in the browser.
type page struct {
	t   *testing.T
	ctx context.Context
}

// run runs browser actions, failing the test on error.
func (p *page) run(what string, actions ...chromedp.Action) {
	p.t.Helper()
	if err := chromedp.Run(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript condition until it holds.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	p.run("wait for "+what, chromedp.Poll(cond, nil, chromedp.WithPollingTimeout(60*time.Second)))
}

// eval evaluates a JavaScript expression into res.
func (p *page) eval(expr string, res any) {
	p.t.Helper()
	p.run("evaluate "+expr, chromedp.Evaluate(expr, res))
}

// canvas is a canvas's render count and its pixels as a data URL.
type canvas struct {
	Renders int    `json:"renders"`
	Pixels  string `json:"pixels"`
}

func (p *page) canvas(id string) canvas {
	p.t.Helper()
	var c canvas
	p.eval(fmt.Sprintf(`(() => { const c = document.getElementById(%q); return {renders: Number(c.dataset.renders || 0), pixels: c.toDataURL()}; })()`, id), &c)
	return c
}

// changed waits until canvas id has rendered again since before, and checks that its
// pixels differ.
func (p *page) changed(id string, before canvas) canvas {
	p.t.Helper()
	p.wait(id+" to render again", fmt.Sprintf(`Number(document.getElementById(%q).dataset.renders || 0) > %d`, id, before.Renders))
	after := p.canvas(id)
	if after.Pixels == before.Pixels {
		p.t.Errorf("canvas %s rendered again with the same pixels", id)
	}
	return after
}

// box is an element's position in the viewport.
type box struct{ X, Y, W, H float64 }

func (p *page) box(selector string) box {
	p.t.Helper()
	var b box
	p.eval(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`, selector), &b)
	if b.W == 0 || b.H == 0 {
		p.t.Fatalf("%s is not visible", selector)
	}
	return b
}

// scrollTo scrolls an element into the middle of the viewport.
func (p *page) scrollTo(selector string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`document.querySelector(%q).scrollIntoView({block: "center"}), true`, selector), nil)
}

// clickAt clicks an element with the mouse at fraction fx of its width, in the middle of
// its height.
func (p *page) clickAt(selector string, fx float64) {
	p.t.Helper()
	p.scrollTo(selector)
	b := p.box(selector)
	p.run("click "+selector, chromedp.MouseClickXY(b.X+fx*b.W, b.Y+b.H/2))
}

// TestDemoPage loads the page in headless Chromium against a real server of the built-in
// model and uses it as a person would: it waits for the test images and the first
// reconstruction, draws with the mouse, uploads a Fashion-MNIST test image, drops another on
// the input panel, moves the interpolation slider and an attribute slider, samples with a
// seed, checks that each canvas changed, saves a screenshot, and finally uploads a file that
// is no image, whose error the page must show in words.
func TestDemoPage(t *testing.T) {
	browser := findChromium(t)
	dir := t.TempDir()
	entries := builtinEntries(t)
	entry := entries[0]
	srv, err := serve.New(serve.Config{IntraOpThreads: 1, Logger: slog.New(slog.DiscardHandler)}, entries...)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile(t)),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	var pageErrors []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			pageErrors = append(pageErrors, e.ExceptionDetails.Error())
		}
	})
	p := &page{t: t, ctx: ctx}
	name := entry.Manifest().Name

	p.run("load the page", chromedp.Navigate(ts.URL+"/"))
	p.wait("the model's details", `document.getElementById("model-info").textContent.includes("attributes")`)
	var info string
	p.eval(`document.getElementById("model-info").textContent`, &info)
	for _, want := range []string{fmt.Sprintf("%d×%d", entry.Manifest().Resolution, entry.Manifest().Resolution), entry.Manifest().LatentKind, "attributes"} {
		if !strings.Contains(info, want) {
			t.Errorf("model details %q lack %q", info, want)
		}
	}
	if _, ok := entry.Manifest().Pictures[zoo.PictureSheet]; ok {
		p.wait("the model's sheet", `(() => { const i = document.getElementById("model-sheet"); return !i.hidden && i.complete && i.naturalWidth > 0; })()`)
		for _, want := range []string{"FID samples", "precision", "recall"} {
			if !strings.Contains(info, want) {
				t.Errorf("model details %q lack %q", info, want)
			}
		}
	} else {
		t.Errorf("built-in entry %s has no sheet: run latentzoo eval on its folder under zoo/builtin", name)
	}
	var selected string
	p.eval(`document.getElementById("model").value`, &selected)
	if selected != name {
		t.Errorf("model picked %q, want %q", selected, name)
	}
	p.wait("the test images", `document.querySelectorAll("#examples img").length === 12`)
	p.wait("the first reconstruction", `Number(document.getElementById("recon").dataset.renders || 0) >= 1`)
	p.wait("the first frame", `Number(document.getElementById("interp-frame").dataset.renders || 0) >= 1`)
	p.wait("the first path", `Number(document.getElementById("interp-strip").dataset.renders || 0) >= 1`)
	p.wait("the first edit", `Number(document.getElementById("edited").dataset.renders || 0) >= 1`)
	p.wait("the first samples", `Number(document.getElementById("samples").dataset.renders || 0) >= 1`)

	t.Run("draw", func(t *testing.T) {
		before := p.canvas("recon")
		p.scrollTo("#draw")
		b := p.box("#draw")
		p.run("draw a stroke",
			chromedp.MouseEvent(input.MousePressed, b.X+b.W*0.3, b.Y+b.H*0.2, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.MouseMoved, b.X+b.W*0.5, b.Y+b.H*0.5, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.MouseMoved, b.X+b.W*0.6, b.Y+b.H*0.8, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.MouseReleased, b.X+b.W*0.6, b.Y+b.H*0.8, chromedp.ButtonLeft),
		)
		p.wait("the drawing to be the input", `document.getElementById("input-status").textContent.startsWith("your drawing: encoded")`)
		p.changed("recon", before)
	})

	t.Run("upload", func(t *testing.T) {
		in, recon := p.canvas("input"), p.canvas("recon")
		file := testImage(t, dir, 42)
		p.run("upload", chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByID))
		p.wait("the upload to be encoded", `document.getElementById("input-status").textContent.startsWith("fashion-test-42.png: encoded")`)
		p.changed("input", in)
		p.changed("recon", recon)
	})

	t.Run("drop", func(t *testing.T) {
		recon := p.canvas("recon")
		// A file dragged from the desktop arrives as a drop event holding it; the test builds
		// one from a test image the page shows.
		p.eval(`(async () => {
			const blob = await (await fetch(document.querySelector("#examples img:nth-child(5)").src)).blob();
			const dt = new DataTransfer();
			dt.items.add(new File([blob], "dropped.png", {type: "image/png"}));
			document.getElementById("input-panel").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
			return true;
		})()`, nil)
		p.wait("the dropped file to be encoded", `document.getElementById("input-status").textContent.startsWith("dropped.png: encoded")`)
		p.changed("recon", recon)
	})

	t.Run("interpolate", func(t *testing.T) {
		frame := p.canvas("interp-frame")
		p.clickAt("#interp-t", 0.1)
		frame = p.changed("interp-frame", frame)
		var caption string
		p.eval(`document.getElementById("interp-caption").textContent`, &caption)
		want := map[string]string{"gaussian": "linear", "sphere": "slerp"}[entry.Manifest().LatentKind]
		if !strings.Contains(caption, want) {
			t.Errorf("caption %q does not name the %s path", caption, want)
		}
		p.clickAt("#interp-t", 0.9)
		frame = p.changed("interp-frame", frame)
		// The uploaded image becomes A: the path and the frame change.
		strip := p.canvas("interp-strip")
		p.clickAt("#set-a", 0.5)
		p.changed("interp-strip", strip)
		p.changed("interp-frame", frame)
	})

	t.Run("edit", func(t *testing.T) {
		edited := p.canvas("edited")
		p.clickAt(`#sliders input[data-attribute]`, 0.95)
		p.changed("edited", edited)
		var status string
		p.eval(`document.getElementById("edit-status").textContent`, &status)
		if !strings.HasPrefix(status, "edited: ") {
			t.Errorf("edit status %q", status)
		}
	})

	t.Run("sample", func(t *testing.T) {
		samples := p.canvas("samples")
		p.scrollTo("#seed")
		p.run("sample with seed 7",
			chromedp.SetValue("#seed", "7", chromedp.ByID),
			chromedp.Click("#sample", chromedp.ByID),
		)
		p.changed("samples", samples)
	})

	var shot []byte
	p.eval(`window.scrollTo(0, 0), true`, nil)
	p.run("screenshot", chromedp.FullScreenshot(&shot, 100))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if img.Bounds().Dx() < 1000 || img.Bounds().Dy() < 600 {
		t.Errorf("screenshot is %v", img.Bounds())
	}
	path := os.Getenv(envScreenshot)
	if path == "" {
		path = filepath.Join(dir, "demo.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", image.Pt(img.Bounds().Dx(), img.Bounds().Dy()), path)

	t.Run("a server error in words", func(t *testing.T) {
		file := filepath.Join(dir, "notes.png")
		if err := os.WriteFile(file, []byte("not an image at all"), 0o644); err != nil {
			t.Fatal(err)
		}
		p.run("upload a non-image", chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByID))
		p.wait("the error", `document.getElementById("input-status").classList.contains("error")`)
		var status, overlay string
		p.eval(`document.getElementById("input-status").textContent`, &status)
		p.eval(`document.querySelector("#recon").parentElement.classList.contains("failed") ? document.querySelector("#recon + .msg").textContent : ""`, &overlay)
		if !strings.Contains(status, "not a readable image") || !strings.Contains(status, "HTTP 400") {
			t.Errorf("status %q does not give the server's words", status)
		}
		if !strings.Contains(overlay, "not a readable image") {
			t.Errorf("the reconstruction panel shows %q, not the error", overlay)
		}
	})

	// Every other built-in model, picked from the list: its details and numbers, its
	// sheet, its first reconstruction and its samples, by the graph its manifest samples
	// with (AVAE's generator); a sphere model interpolates along the great circle.
	for _, e := range entries[1:] {
		m := e.Manifest()
		t.Run("model "+m.Name, func(t *testing.T) {
			recon, samples := p.canvas("recon"), p.canvas("samples")
			p.eval(fmt.Sprintf(`(() => { const s = document.getElementById("model"); s.value = %q; s.dispatchEvent(new Event("change")); return s.value; })()`, m.Name), nil)
			p.wait(m.Name+"'s details", fmt.Sprintf(`(() => { const t = document.getElementById("model-info").textContent; return t.includes("family %s") && t.includes("attributes"); })()`, m.Family))
			var info string
			p.eval(`document.getElementById("model-info").textContent`, &info)
			for _, want := range []string{m.LatentKind, "FID samples", "precision", "recall"} {
				if !strings.Contains(info, want) {
					t.Errorf("model details %q lack %q", info, want)
				}
			}
			if _, ok := m.Pictures[zoo.PictureSheet]; !ok {
				t.Errorf("built-in entry %s has no sheet: run latentzoo eval on its folder under zoo/builtin", m.Name)
			} else {
				p.wait("the sheet", fmt.Sprintf(`(() => { const i = document.getElementById("model-sheet"); return !i.hidden && i.complete && i.naturalWidth > 0 && i.src.includes(%q); })()`, "/models/"+m.Family+"/"))
			}
			p.changed("recon", recon)
			p.changed("samples", samples)
			var status string
			p.wait("the samples' status", `document.getElementById("sample-status").textContent.includes("decoded")`)
			p.eval(`document.getElementById("sample-status").textContent`, &status)
			if by := " by the " + m.Sample; m.Sample != "decoder" && !strings.Contains(status, by) {
				t.Errorf("sample status %q does not say %q", status, by)
			}
			if m.LatentKind == "sphere" {
				frame := p.canvas("interp-frame")
				p.clickAt("#interp-t", 0.3)
				p.changed("interp-frame", frame)
				var caption string
				p.eval(`document.getElementById("interp-caption").textContent`, &caption)
				if !strings.Contains(caption, "slerp") {
					t.Errorf("caption %q does not name the slerp path", caption)
				}
			}
		})
	}

	if len(pageErrors) > 0 {
		t.Errorf("the page threw: %s", strings.Join(pageErrors, "; "))
	}
}
