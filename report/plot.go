package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// Plot is one PNG of the report.
type Plot struct {
	Name    string // file name in the plots directory
	Title   string
	Caption string
}

// plotHeight is the height of every figure; widths vary with content.
const plotHeight = 3.6 * vg.Inch

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	return p
}

// headroom raises the top of the y axis above the data, for the legend.
func headroom(p *plot.Plot, legendLines int) {
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.08 * float64(max(2, legendLines))
}

// noVerticalGrid drops the grid's vertical lines, which in a bar chart
// would run through the bars.
func noVerticalGrid(p *plot.Plot) {
	p.Add(&plotter.Grid{Horizontal: plotter.NewGrid().Horizontal})
}

// savePNG renders p into dir/name, atomically so a reader never sees half
// an image.
func savePNG(p *plot.Plot, w vg.Length, dir, name string) error {
	wt, err := p.WriterTo(w, plotHeight, "png")
	if err != nil {
		return fmt.Errorf("plot %s: %w", name, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", name, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
}

func xys(xs, ys []float64) plotter.XYs {
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	return pts
}

// addLine adds a line, with dots when there are few points, in the i-th
// colour of the palette.
func addLine(p *plot.Plot, name string, i int, dashed bool, pts plotter.XYs) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Width = vg.Points(1)
	}
	p.Add(l)
	thumbs := []plot.Thumbnailer{l}
	if len(pts) <= 40 {
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.Color = l.Color
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(2)
		p.Add(s)
		thumbs = append(thumbs, s)
	}
	p.Legend.Add(name, thumbs...)
	return nil
}

// lossPlot is the SFT training loss and held-out loss against the step.
func lossPlot(s *SFTRun) (*plot.Plot, error) {
	p := newPlot("SFT: loss", "update step", "loss (nats / token)")
	p.Add(plotter.NewGrid())
	var tx, ty, ex, ey []float64
	for _, m := range s.Metrics {
		tx, ty = append(tx, float64(m.Step)), append(ty, m.Loss)
		if m.EvalLoss != nil {
			ex, ey = append(ex, float64(m.Step)), append(ey, *m.EvalLoss)
		}
	}
	if err := addLine(p, "train loss", 0, false, xys(tx, ty)); err != nil {
		return nil, err
	}
	if len(ex) > 0 {
		if err := addLine(p, "held-out loss", 1, false, xys(ex, ey)); err != nil {
			return nil, err
		}
	}
	p.Y.Min = 0
	headroom(p, 2)
	return p, nil
}

// rewardPlot is the mean reward per step of every GRPO stage, with the
// unweighted reward functions dashed when there are several.
func rewardPlot(runs []*RLRun) (*plot.Plot, error) {
	p := newPlot("GRPO: reward", "update step", "mean reward of the step's completions")
	p.Add(plotter.NewGrid())
	p.Legend.Left = true // rewards rise: the top left is where the lines are not
	lines := 0
	for i, r := range runs {
		if err := addLine(p, r.Stage+": reward", i, false, xys(r.Series("reward", "mean"))); err != nil {
			return nil, err
		}
		lines++
		names := r.RewardNames()
		if len(names) < 2 {
			continue
		}
		for j, n := range names {
			xs, ys := r.Series("rewards", n, "mean")
			if len(xs) == 0 {
				continue
			}
			if err := addLine(p, r.Stage+": "+n, len(runs)+i*len(names)+j, true, xys(xs, ys)); err != nil {
				return nil, err
			}
			lines++
		}
	}
	headroom(p, lines)
	return p, nil
}

// klPlot is the mean KL divergence from the reference per step.
func klPlot(runs []*RLRun) (*plot.Plot, error) {
	p := newPlot("GRPO: KL to the reference policy", "update step", "mean k3 KL per completion token")
	p.Add(plotter.NewGrid())
	p.Legend.Left = true // KL grows from 0
	n := 0
	for i, r := range runs {
		xs, ys := r.Series("kl")
		if len(xs) == 0 {
			continue
		}
		if err := addLine(p, r.Stage, i, false, xys(xs, ys)); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, nil
	}
	p.Y.Min = 0
	headroom(p, n)
	return p, nil
}

// accuracyPlot is pass@1 and cons@k of every evaluated stage as bars with
// their 95% intervals.
func accuracyPlot(evals []*EvalStage) (*plot.Plot, vg.Length, error) {
	k := evals[0].K
	for _, e := range evals[1:] {
		if e.K != k {
			k = 0 // stages with different k: say cons@k without a number
		}
	}
	consName := "cons@k"
	if k > 0 {
		consName = fmt.Sprintf("cons@%d", k)
	}
	p := newPlot("Accuracy on the held-out prompts", "", "accuracy")
	noVerticalGrid(p)
	n := len(evals)
	width := max(5*vg.Inch, vg.Length(n)*1.4*vg.Inch)
	barW := (width - vg.Inch) / vg.Length(n) * 0.3
	names := make([]string, n)
	for i, e := range evals {
		names[i] = e.Stage
	}
	const shift = 0.18
	for j, series := range []struct {
		name string
		get  func(e *EvalStage) (v, lo, hi float64)
	}{
		{"pass@1", func(e *EvalStage) (float64, float64, float64) { return e.PassAt1, e.PassAt1CI.Low, e.PassAt1CI.High }},
		{consName, func(e *EvalStage) (float64, float64, float64) { return e.ConsAtK, e.ConsAtKCI.Low, e.ConsAtKCI.High }},
	} {
		vals := make(plotter.Values, n)
		errs := struct {
			plotter.XYs
			plotter.YErrors
		}{make(plotter.XYs, n), make(plotter.YErrors, n)}
		labels := plotter.XYLabels{XYs: make(plotter.XYs, n), Labels: make([]string, n)}
		x0 := -shift + 2*shift*float64(j)
		for i, e := range evals {
			v, lo, hi := series.get(e)
			vals[i] = v
			errs.XYs[i] = plotter.XY{X: x0 + float64(i), Y: v}
			errs.YErrors[i] = struct{ Low, High float64 }{math.Max(0, v-lo), math.Max(0, hi-v)}
			labels.XYs[i] = plotter.XY{X: x0 + float64(i), Y: math.Max(hi, v) + 0.02}
			labels.Labels[i] = fmt.Sprintf("%.2f", v)
		}
		b, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, 0, err
		}
		b.XMin = x0
		b.Color = plotutil.Color(j)
		b.LineStyle.Width = 0
		eb, err := plotter.NewYErrorBars(errs)
		if err != nil {
			return nil, 0, err
		}
		eb.Color = color.Gray{Y: 40}
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, 0, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].Font.Size = vg.Points(8)
		}
		p.Add(b, eb, lb)
		p.Legend.Add(series.name+" (95% interval)", b)
	}
	p.NominalX(names...)
	// Room above 1 for the legend, which would hide a bar anywhere else.
	p.Y.Min, p.Y.Max = 0, 1.3
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.2}, {Value: 0.4, Label: "0.4"},
		{Value: 0.6}, {Value: 0.8, Label: "0.8"}, {Value: 1, Label: "1.0"}})
	p.Legend.Left = true
	p.X.Min, p.X.Max = -0.6, float64(n)-0.4
	return p, width, nil
}

// lengthPlot is the histogram of kept traces by num_tokens.
func lengthPlot(bins []LengthBinView) (*plot.Plot, vg.Length, error) {
	p := newPlot("Dataset: length of the kept traces", "tokens of the assistant reply", "rows")
	noVerticalGrid(p)
	vals := make(plotter.Values, len(bins))
	names := make([]string, len(bins))
	for i, b := range bins {
		vals[i] = float64(b.Count)
		names[i] = b.Label
	}
	width := max(5*vg.Inch, vg.Length(len(bins))*0.7*vg.Inch)
	b, err := plotter.NewBarChart(vals, (width-vg.Inch)/vg.Length(len(bins))*0.8)
	if err != nil {
		return nil, 0, err
	}
	b.Color = plotutil.Color(0)
	b.LineStyle.Width = 0
	p.Add(b)
	p.NominalX(names...)
	p.Y.Min = 0
	return p, width, nil
}
