package memory

import (
	"fmt"
	"strings"
)

// Advice gathers what a refused run could do instead, cheapest first,
// keeping only the alternatives that fit.
type Advice struct {
	Avail int64
	hints []string
}

// Try adds format (its last verb is given what need totals) when need fits.
func (a *Advice) Try(need Breakdown, format string, args ...any) bool {
	if need.Total > a.Avail {
		return false
	}
	a.hints = append(a.hints, fmt.Sprintf(format, append(args, Format(need.Total))...))
	return true
}

// Add adds an alternative whose memory is not estimated here.
func (a *Advice) Add(hint string) { a.hints = append(a.hints, hint) }

// Refuse is the error of a run that does not fit: what it is, what it
// needs, part by part, and the advice.
func (a *Advice) Refuse(what string, need Breakdown) error {
	return fmt.Errorf("%w: %s needs about %s (%s) but %s is available; try %s",
		ErrDoesNotFit, what, Format(need.Total), need.Parts(), Format(a.Avail), strings.Join(a.hints, ", "))
}

// FormatParams writes a parameter count as model cards do: 7.62B, 5.0M.
func FormatParams(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.0fK", float64(n)/1e3)
	}
}
