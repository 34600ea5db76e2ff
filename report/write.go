package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/distill-dev/distill/internal/atomicfile"
)

//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("report").Parse(pageSource))

// PlotsDir is the directory, next to the HTML file, that holds its PNGs.
const PlotsDir = "plots"

// Write renders r as an HTML page at out, with its PNG plots in the plots
// directory next to it, and returns the plots it drew.
func (r *Run) Write(out string) ([]Plot, error) {
	dir := filepath.Join(filepath.Dir(out), PlotsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var drawn []Plot
	draw := func(s *section, name, title, caption string, p *plot.Plot, w vg.Length, err error) error {
		if err != nil {
			return fmt.Errorf("report: plot %s: %w", name, err)
		}
		if p == nil {
			return nil
		}
		if err := savePNG(p, w, dir, name); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		pl := Plot{Name: PlotsDir + "/" + name, Title: title, Caption: caption}
		s.Plots = append(s.Plots, pl)
		drawn = append(drawn, pl)
		return nil
	}
	const wide = 7 * vg.Inch

	results := r.evalSection()
	if len(r.Evals) > 0 {
		p, w, err := accuracyPlot(r.Evals)
		if err := draw(results, "accuracy.png", "Accuracy per stage",
			"pass@1 and cons@k on the held-out prompts, with 95% intervals.", p, w, err); err != nil {
			return nil, err
		}
	}
	data := r.dataSection()
	if r.Data != nil {
		if bins := lengthView(r.Data.Lengths); len(bins) > 0 {
			p, w, err := lengthPlot(bins)
			if err := draw(data, "lengths.png", "Trace lengths", "Kept rows by num_tokens, from "+r.Data.LengthsFrom+".",
				p, w, err); err != nil {
				return nil, err
			}
		}
	}
	sft := r.sftSection()
	if r.SFT != nil {
		p, err := lossPlot(r.SFT)
		if err := draw(sft, "sft_loss.png", "SFT loss", "Training loss per update and held-out loss on the test shards.",
			p, wide, err); err != nil {
			return nil, err
		}
	}
	rl := r.rlSection()
	if len(r.RL) > 0 {
		p, err := rewardPlot(r.RL)
		if err := draw(rl, "rl_reward.png", "GRPO reward", "Mean weighted reward of each step's completions.",
			p, wide, err); err != nil {
			return nil, err
		}
		p, err = klPlot(r.RL)
		if err := draw(rl, "rl_kl.png", "GRPO KL", "Mean KL divergence from the reference policy per completion token.",
			p, wide, err); err != nil {
			return nil, err
		}
		if p == nil {
			rl.Notes = append(rl.Notes, "No KL logged (beta 0 runs without a reference model).")
		}
	}
	pg := page{Dir: r.Dir, Generated: r.Loaded.Format(time.RFC3339), Missing: r.Missing, Problems: r.Problems,
		Sections: []*section{results, r.generateSection(), data, sft, rl, r.recordSection()}}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := atomicfile.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return drawn, nil
}
