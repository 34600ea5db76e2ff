package distill

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how a long command is doing: a progress bar when stderr
// is a terminal, otherwise (logs of batch jobs) a plain line every 10 s,
// with no escape sequence or carriage return. Safe for concurrent use.
type progress struct {
	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	w      io.Writer
	desc   string
	total  int64
	done   int64
	status string
	every  time.Duration
	start  time.Time
	last   time.Time
	ended  bool
}

// newProgress reports on stderr; total may be 0 when unknown.
func newProgress(total int64, desc string) *progress {
	return newProgressTo(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())), total, desc, 10*time.Second)
}

func newProgressTo(w io.Writer, tty bool, total int64, desc string, every time.Duration) *progress {
	p := &progress{w: w, desc: desc, total: total, every: every, start: time.Now()}
	p.last = p.start
	if tty {
		max := total
		if max <= 0 {
			max = -1 // spinner
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return p
}

// Add records n more units done.
func (p *progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.bar != nil {
		p.bar.Add64(n)
		return
	}
	p.maybeLog()
}

// SetStatus sets the text shown after the counts (rates, failures, cost).
func (p *progress) SetStatus(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = s
	if p.bar != nil {
		p.bar.Describe(p.desc + " " + s)
		return
	}
	p.maybeLog()
}

func (p *progress) maybeLog() {
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.logLine()
	}
}

func (p *progress) logLine() {
	el := time.Since(p.start).Round(time.Second)
	if p.total > 0 {
		fmt.Fprintf(p.w, "%s: %d/%d (%.1f%%) %s %s\n", p.desc, p.done, p.total, 100*float64(p.done)/float64(p.total), el, p.status)
	} else {
		fmt.Fprintf(p.w, "%s: %d %s %s\n", p.desc, p.done, el, p.status)
	}
}

// Finish ends the bar (or writes a last line); later calls do nothing.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended = true
	if p.bar != nil {
		if p.total > 0 && p.done < p.total {
			// Stopped early (budget, Ctrl-C): leave the bar where it is.
			p.bar.Exit()
			fmt.Fprintln(p.w)
			return
		}
		p.bar.Finish()
		return
	}
	p.logLine()
}
