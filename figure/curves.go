package figure

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Curves draws a run's training curves from its log, as latentzoo train writes it (one
// JSON object per line; train-log.jsonl in an entry): the loss against the step, and
// beside it, where the log holds sample FIDs scored during training, the FID against the
// step with the best score marked. It returns the picture as PNG.
func Curves(log []byte, title string) ([]byte, error) {
	var loss, fid plotter.XYs
	best := -1
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var rec struct {
			Step int64    `json:"step"`
			Loss *float64 `json:"loss"`
			FID  *float64 `json:"fid_samples"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("figure: training log line %d: %w", line, err)
		}
		switch {
		case rec.FID != nil:
			fid = append(fid, plotter.XY{X: float64(rec.Step), Y: *rec.FID})
			if best < 0 || *rec.FID < fid[best].Y {
				best = len(fid) - 1
			}
		case rec.Loss != nil:
			loss = append(loss, plotter.XY{X: float64(rec.Step), Y: *rec.Loss})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("figure: training log: %w", err)
	}
	if len(loss) == 0 {
		return nil, fmt.Errorf("figure: the training log has no loss")
	}
	lp, err := curve(title+": loss", loss, -1)
	if err != nil {
		return nil, err
	}
	plots := []*plot.Plot{lp}
	if len(fid) > 0 {
		fp, err := curve("sample FID during training", fid, best)
		if err != nil {
			return nil, err
		}
		plots = append(plots, fp)
	}
	const panelW, panelH = 4 * vg.Inch, 3 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(panelW*vg.Length(len(plots)), panelH), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("figure: curves: %w", err)
	}
	return buf.Bytes(), nil
}

// curve is one panel: pts as a line over the steps, the point at index mark (if any)
// drawn as a dot.
func curve(title string, pts plotter.XYs, mark int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Add(plotter.NewGrid())
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, fmt.Errorf("figure: %s: %w", title, err)
	}
	line.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	p.Add(line)
	if mark >= 0 { // scores are few: show each
		pts, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("figure: %s: %w", title, err)
		}
		pts.GlyphStyle.Color = line.Color
		pts.GlyphStyle.Radius = vg.Points(2)
		p.Add(pts)
	}
	if mark >= 0 {
		dot, err := plotter.NewScatter(plotter.XYs{pts[mark]})
		if err != nil {
			return nil, fmt.Errorf("figure: %s: %w", title, err)
		}
		dot.GlyphStyle.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
		dot.GlyphStyle.Radius = vg.Points(4)
		dot.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(dot)
		p.Title.Text += fmt.Sprintf("\n(best %.1f at step %.0f, in red)", pts[mark].Y, pts[mark].X)
	}
	return p, nil
}
