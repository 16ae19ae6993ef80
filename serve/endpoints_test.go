package serve

import (
	"encoding/base64"
	"image"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/latent"
)

// latentOf returns a latent of the given size filled from f.
func latentOf(size int, f func(i int) float32) []float32 {
	z := make([]float32, size)
	for i := range z {
		z[i] = f(i)
	}
	return z
}

func TestReconstruct(t *testing.T) {
	tests := []struct {
		name  string
		req   func() *http.Request
		res   int  // the model's resolution
		grey  bool // the model is grey
		model string
	}{
		{"multipart grey PNG", func() *http.Request {
			return newFormRequest(t, "/reconstruct", file("image", greyPNG))
		}, 32, true, gaussianName},
		{"multipart colour JPEG", func() *http.Request {
			return newFormRequest(t, "/reconstruct", file("image", colourJPEG))
		}, 32, true, gaussianName},
		{"multipart base64 text field", func() *http.Request {
			return newFormRequest(t, "/reconstruct", text("image", base64.StdEncoding.EncodeToString(colourPNG)))
		}, 32, true, gaussianName},
		{"JSON base64 PNG", func() *http.Request {
			return newJSONRequest(t, "/reconstruct", map[string]any{"image": base64.StdEncoding.EncodeToString(colourPNG)})
		}, 32, true, gaussianName},
		{"JSON data URL, colour model", func() *http.Request {
			return newJSONRequest(t, "/reconstruct", map[string]any{"model": sphereName, "image": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(greyJPEG)})
		}, 16, false, sphereName},
		{"model in the query", func() *http.Request {
			return newFormRequest(t, "/reconstruct?model="+url.QueryEscape(sphereName), file("image", colourPNG))
		}, 16, false, sphereName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(tt.req())
			img := wantPNG(t, w)
			if got := img.Bounds().Size(); got != image.Pt(tt.res, tt.res) {
				t.Errorf("PNG is %v, want %dx%d", got, tt.res, tt.res)
			}
			if _, grey := img.(*image.Gray); grey != tt.grey {
				t.Errorf("PNG is a %T; want grey %v", img, tt.grey)
			}
			if !isVaried(img) {
				t.Error("reconstruction is flat")
			}
			if got := w.Header().Get("X-Model"); got != tt.model {
				t.Errorf("X-Model = %q, want %q", got, tt.model)
			}
			var resp api.Images
			wantJSONBody(t, serve(asJSON(tt.req())), &resp)
			if resp.Model != tt.model || resp.Decoder != "decoder" || len(resp.Images) != 1 || len(resp.Z) != 1 {
				t.Fatalf("JSON answer %+v: want model %s, decoder, one image and one latent", resp, tt.model)
			}
			if d := maxDiff(t, pngs(t, resp.Images)[0], img); d != 0 {
				t.Errorf("JSON image differs from the PNG answer by %d", d)
			}
		})
	}
}

// encodeJSON calls /encode on an image of the given model.
func encodeJSON(t *testing.T, model string, img []byte) api.Encoding {
	t.Helper()
	var resp api.Encoding
	wantJSONBody(t, serve(newFormRequest(t, "/encode", text("model", model), file("image", img))), &resp)
	return resp
}

func TestEncode(t *testing.T) {
	g := encodeJSON(t, gaussianName, colourJPEG)
	if len(g.Z) != 32 || !slices.Equal(g.Z, g.Mu) || len(g.LogVar) != 32 || g.LatentKind != "gaussian" {
		t.Errorf("Gaussian encoding %+v: want 32 values of z equal to mu, and logvar", g)
	}
	s := encodeJSON(t, sphereName, greyPNG)
	if len(s.Z) != 8 || s.Mu != nil || s.LogVar != nil || s.LatentKind != "sphere" {
		t.Errorf("sphere encoding %+v: want 8 values of z, no mu or logvar", s)
	}
	if n := latent.Norm(s.Z); math.Abs(n-1) > 1e-5 {
		t.Errorf("sphere latent has norm %g, want 1", n)
	}
	other := encodeJSON(t, gaussianName, greyPNG)
	if slices.Equal(other.Z, g.Z) {
		t.Error("two different images have the same latent")
	}
}

// TestReconstructIsEncodeDecode checks that /reconstruct decodes the latent /encode gives.
func TestReconstructIsEncodeDecode(t *testing.T) {
	for _, model := range []string{gaussianName, sphereName} {
		enc := encodeJSON(t, model, colourPNG)
		dec := wantPNG(t, serve(newJSONRequest(t, "/decode", map[string]any{"model": model, "z": enc.Z})))
		rec := wantPNG(t, serve(newFormRequest(t, "/reconstruct", text("model", model), file("image", colourPNG))))
		if d := maxDiff(t, dec, rec); d > 1 {
			t.Errorf("%s: decode(encode(x)) differs from reconstruct(x) by %d", model, d)
		}
	}
}

func TestDecode(t *testing.T) {
	zs := [][]float32{
		latentOf(32, func(i int) float32 { return float32(i%5) - 2 }),
		latentOf(32, func(i int) float32 { return 0 }),
		latentOf(32, func(i int) float32 { return float32(math.Sin(float64(i))) }),
	}
	one := wantPNG(t, serve(newJSONRequest(t, "/decode", map[string]any{"z": zs[0]})))
	if got := one.Bounds().Size(); got != image.Pt(32, 32) {
		t.Fatalf("one latent decodes to %v, want 32x32", got)
	}
	strip := wantPNG(t, serve(newJSONRequest(t, "/decode", map[string]any{"z": zs})))
	if got := strip.Bounds().Size(); got != image.Pt(96, 32) {
		t.Fatalf("three latents decode to %v, want a 96x32 strip", got)
	}
	var resp api.Images
	wantJSONBody(t, serve(asJSON(newJSONRequest(t, "/decode", map[string]any{"z": zs}))), &resp)
	if len(resp.Images) != 3 || len(resp.Z) != 3 || !slices.Equal(resp.Z[2], zs[2]) {
		t.Fatalf("JSON answer has %d images and latents %v, want 3 and the latents sent", len(resp.Images), resp.Z)
	}
	for i, img := range pngs(t, resp.Images) {
		if d := maxDiff(t, img, crop(strip, 32, i, 0)); d > 1 {
			t.Errorf("JSON image %d differs from the strip's cell by %d", i, d)
		}
	}
	if d := maxDiff(t, one, crop(strip, 32, 0, 0)); d > 1 {
		t.Errorf("a latent decoded alone and in a batch differ by %d", d)
	}
	if maxDiff(t, crop(strip, 32, 0, 0), crop(strip, 32, 1, 0)) == 0 {
		t.Error("different latents decode to the same image")
	}

	// The same latents as repeated form fields, and URL-encoded.
	words := func(z []float32) string {
		s := make([]string, len(z))
		for i, v := range z {
			s[i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		return strings.Join(s, ",")
	}
	form := wantPNG(t, serve(newFormRequest(t, "/decode", text("z", words(zs[0])), text("z", "["+words(zs[1])+"]"))))
	if d := maxDiff(t, form, region(strip, image.Rect(0, 0, 64, 32))); d > 1 {
		t.Errorf("multipart latents differ by %d from JSON", d)
	}
	r := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader(url.Values{"z": {words(zs[2])}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if d := maxDiff(t, wantPNG(t, serve(r)), crop(strip, 32, 2, 0)); d > 1 {
		t.Errorf("URL-encoded latent differs by %d", d)
	}
}

func TestDecodeSphereNormalises(t *testing.T) {
	unitZ := latentOf(8, func(i int) float32 { return float32(i) / float32(math.Sqrt(140)) })
	long := latentOf(8, func(i int) float32 { return float32(3 * i) })
	var resp api.Images
	wantJSONBody(t, serve(asJSON(newJSONRequest(t, "/decode", map[string]any{"model": sphereName, "z": [][]float32{unitZ, long}}))), &resp)
	for i, z := range resp.Z {
		if n := latent.Norm(z); math.Abs(n-1) > 1e-6 {
			t.Errorf("latent %d answered with norm %g, want 1", i, n)
		}
	}
	imgs := pngs(t, resp.Images)
	if d := maxDiff(t, imgs[0], imgs[1]); d > 1 {
		t.Errorf("a latent and 3 times it decode differently (by %d): off-sphere input is not normalised", d)
	}
	if _, grey := imgs[0].(*image.Gray); grey || imgs[0].Bounds().Dx() != 16 {
		t.Errorf("sphere model image is a %T of %v, want 16x16 colour", imgs[0], imgs[0].Bounds().Size())
	}
}

func TestDecoderChoice(t *testing.T) {
	z := latentOf(8, func(i int) float32 { return float32(i%3) - 1 })
	dec := wantPNG(t, serve(newJSONRequest(t, "/decode", map[string]any{"model": sphereName, "z": z})))
	w := serve(newJSONRequest(t, "/decode?decoder=generator", map[string]any{"model": sphereName, "z": z}))
	gen := wantPNG(t, w)
	if w.Header().Get("X-Decoder") != "generator" {
		t.Errorf("X-Decoder = %q, want generator", w.Header().Get("X-Decoder"))
	}
	if maxDiff(t, dec, gen) == 0 {
		t.Error("decoder and generator give the same image")
	}
	again := wantPNG(t, serve(newJSONRequest(t, "/decode", map[string]any{"model": sphereName, "z": z, "decoder": "generator"})))
	if maxDiff(t, gen, again) != 0 {
		t.Error("decoder in the body and in the query pick different graphs")
	}
}

func TestInterpolateLatents(t *testing.T) {
	za := latentOf(32, func(i int) float32 { return float32(i%4) - 1.5 })
	zb := latentOf(32, func(i int) float32 { return float32(math.Cos(float64(i))) })
	req := func() *http.Request {
		return newJSONRequest(t, "/interpolate", map[string]any{"za": za, "zb": zb, "steps": 5})
	}
	strip := wantPNG(t, serve(req()))
	if got := strip.Bounds().Size(); got != image.Pt(5*32, 32) {
		t.Fatalf("5 steps give %v, want a 160x32 strip", got)
	}
	var resp api.Images
	wantJSONBody(t, serve(asJSON(req())), &resp)
	if resp.Path != latent.PathLinear || len(resp.Z) != 5 || len(resp.Images) != 5 {
		t.Fatalf("answer has path %q, %d latents, %d images; want linear, 5, 5", resp.Path, len(resp.Z), len(resp.Images))
	}
	if !slices.Equal(resp.Z[0], za) || !slices.Equal(resp.Z[4], zb) {
		t.Error("the path's ends are not za and zb")
	}
	for i := range za {
		if mid := (za[i] + zb[i]) / 2; math.Abs(float64(resp.Z[2][i]-mid)) > 1e-6 {
			t.Fatalf("linear middle %v, want %v", resp.Z[2], mid)
		}
	}
	for i, z := range [][]float32{za, zb} {
		end := wantPNG(t, serve(newJSONRequest(t, "/decode", map[string]any{"z": z})))
		if d := maxDiff(t, crop(strip, 32, 4*i, 0), end); d > 1 {
			t.Errorf("frame %d differs from the decoded end by %d", 4*i, d)
		}
	}
}

func TestInterpolateImagesOnSphere(t *testing.T) {
	req := func(path string) *http.Request {
		parts := []part{text("model", sphereName), file("a", colourPNG), file("b", greyJPEG), text("steps", "7")}
		if path != "" {
			parts = append(parts, text("path", path))
		}
		return newFormRequest(t, "/interpolate", parts...)
	}
	strip := wantPNG(t, serve(req("")))
	if got := strip.Bounds().Size(); got != image.Pt(7*16, 16) {
		t.Fatalf("7 steps give %v, want a 112x16 strip", got)
	}
	for i, img := range [][]byte{colourPNG, greyJPEG} {
		end := wantPNG(t, serve(newFormRequest(t, "/reconstruct", text("model", sphereName), file("image", img))))
		if d := maxDiff(t, crop(strip, 16, 6*i, 0), end); d > 1 {
			t.Errorf("frame %d differs from the reconstruction of its image by %d", 6*i, d)
		}
	}
	za, zb := encodeJSON(t, sphereName, colourPNG).Z, encodeJSON(t, sphereName, greyJPEG).Z
	var slerped, straight api.Images
	wantJSONBody(t, serve(asJSON(req(""))), &slerped)
	wantJSONBody(t, serve(asJSON(req(latent.PathLinear))), &straight)
	if slerped.Path != latent.PathSlerp || straight.Path != latent.PathLinear {
		t.Fatalf("paths %q and %q, want slerp (the sphere default) and linear", slerped.Path, straight.Path)
	}
	for i := range za {
		if math.Abs(float64(slerped.Z[0][i]-za[i])) > 1e-6 || math.Abs(float64(slerped.Z[6][i]-zb[i])) > 1e-6 {
			t.Fatal("the path's ends are not the latents /encode gives for a and b")
		}
	}
	for _, resp := range []api.Images{slerped, straight} {
		for i, z := range resp.Z {
			if n := latent.Norm(z); math.Abs(n-1) > 1e-5 {
				t.Errorf("%s step %d has norm %g, want 1", resp.Path, i, n)
			}
		}
	}
	// Slerp moves by equal angles; normalised linear steps do not.
	step := latent.Angle(slerped.Z[0], slerped.Z[1])
	for i := 1; i < 6; i++ {
		if d := latent.Angle(slerped.Z[i], slerped.Z[i+1]); math.Abs(d-step) > 1e-4 {
			t.Errorf("slerp step %d turns by %g, step 0 by %g", i, d, step)
		}
	}
	if slices.Equal(slerped.Z[3], straight.Z[3]) && latent.Angle(za, zb) > 0.1 {
		t.Error("slerp and linear paths agree in the middle")
	}
}

func TestInterpolateMixedEnds(t *testing.T) {
	zb := latentOf(32, func(i int) float32 { return 1 })
	var resp api.Images
	wantJSONBody(t, serve(asJSON(newJSONRequest(t, "/interpolate", map[string]any{
		"a": base64.StdEncoding.EncodeToString(greyPNG), "zb": zb, "path": "slerp",
	}))), &resp)
	if len(resp.Z) != defaultSteps || resp.Path != latent.PathSlerp {
		t.Fatalf("got %d steps on path %q, want %d on slerp", len(resp.Z), resp.Path, defaultSteps)
	}
	if !slices.Equal(resp.Z[0], encodeJSON(t, gaussianName, greyPNG).Z) || !slices.Equal(resp.Z[defaultSteps-1], zb) {
		t.Error("the ends are not the image's latent and zb")
	}
}

func TestSample(t *testing.T) {
	get := func(target string) *httptest.ResponseRecorder {
		return serve(httptest.NewRequest(http.MethodPost, target, nil))
	}
	w := get("/sample?n=5&seed=3")
	grid := wantPNG(t, w)
	if got := grid.Bounds().Size(); got != image.Pt(3*32, 2*32) {
		t.Fatalf("5 samples give %v, want a 3x2 grid of 32x32", got)
	}
	if w.Header().Get("X-Seed") != "3" {
		t.Errorf("X-Seed = %q, want 3", w.Header().Get("X-Seed"))
	}
	if again := wantPNG(t, get("/sample?n=5&seed=3")); maxDiff(t, again, grid) != 0 {
		t.Error("the same seed gives different samples")
	}
	if other := wantPNG(t, get("/sample?n=5&seed=4")); maxDiff(t, other, grid) == 0 {
		t.Error("seeds 3 and 4 give the same samples")
	}
	for i := range 4 {
		if maxDiff(t, crop(grid, 32, i%3, i/3), crop(grid, 32, (i+1)%3, (i+1)/3)) == 0 {
			t.Errorf("samples %d and %d are the same", i, i+1)
		}
	}

	var resp api.Images
	wantJSONBody(t, serve(asJSON(newJSONRequest(t, "/sample", map[string]any{"n": 5, "seed": 3}))), &resp)
	if resp.Seed == nil || *resp.Seed != 3 || len(resp.Images) != 5 || len(resp.Z) != 5 || len(resp.Z[0]) != 32 {
		t.Fatalf("JSON answer: seed %v, %d images, %d latents; want seed 3 and 5 each", resp.Seed, len(resp.Images), len(resp.Z))
	}
	for i, img := range pngs(t, resp.Images) {
		if d := maxDiff(t, img, crop(grid, 32, i%3, i/3)); d != 0 {
			t.Errorf("JSON sample %d differs from the PNG grid by %d", i, d)
		}
	}

	// Without a seed the server picks one and says which.
	w = get("/sample?n=2")
	seed := w.Header().Get("X-Seed")
	if _, err := strconv.ParseInt(seed, 10, 64); err != nil {
		t.Fatalf("X-Seed %q: %v", seed, err)
	}
	if maxDiff(t, wantPNG(t, w), wantPNG(t, get("/sample?n=2&seed="+seed))) != 0 {
		t.Error("replaying the reported seed gives other samples")
	}
	if got := wantPNG(t, get("/sample")).Bounds().Size(); got != image.Pt(4*32, 4*32) {
		t.Errorf("default sample grid is %v, want 4x4 cells", got)
	}
}

func TestSampleSphere(t *testing.T) {
	var gen, dec api.Images
	wantJSONBody(t, serve(asJSON(newJSONRequest(t, "/sample", map[string]any{"model": sphereName, "n": 4, "seed": 11}))), &gen)
	wantJSONBody(t, serve(asJSON(newJSONRequest(t, "/sample", map[string]any{"model": sphereName, "n": 4, "seed": 11, "decoder": "decoder"}))), &dec)
	if gen.Decoder != "generator" || dec.Decoder != "decoder" {
		t.Errorf("decoders %q and %q, want the manifest's sample graph (generator) and decoder", gen.Decoder, dec.Decoder)
	}
	for i, z := range gen.Z {
		if n := latent.Norm(z); math.Abs(n-1) > 1e-6 {
			t.Errorf("sample %d has norm %g, want 1", i, n)
		}
		if !slices.Equal(z, dec.Z[i]) {
			t.Errorf("sample %d: the same seed drew different latents for another decoder", i)
		}
	}
	if maxDiff(t, pngs(t, gen.Images)[0], pngs(t, dec.Images)[0]) == 0 {
		t.Error("generator and decoder give the same sample")
	}
}
