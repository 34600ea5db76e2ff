package sampler

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// journalWriter is the only writer of this run's journal file. Workers
// hand it whole lines; it writes them in batches, each with one write
// call, and fsyncs periodically. The file is created with the first record,
// so a run with nothing to do leaves no empty file behind.
type journalWriter struct {
	cfg    Config
	name   string
	in     chan []byte
	closed chan struct{}
	failed chan struct{} // closed on the first error
	err    error
	once   sync.Once
}

func newJournalWriter(cfg Config) *journalWriter {
	return &journalWriter{cfg: cfg, in: make(chan []byte, 4*cfg.Concurrency), closed: make(chan struct{}), failed: make(chan struct{})}
}

func (w *journalWriter) fail(err error) {
	w.once.Do(func() { w.err = err; close(w.failed) })
}

// batchBytes bounds a batch: big enough for few syscalls, small enough
// that a torn zstd frame costs little.
const batchBytes = 256 << 10

func (w *journalWriter) run() {
	defer close(w.closed)
	var f *os.File
	var bw *batchWriter
	dirty := false
	flush := time.NewTicker(w.cfg.FlushEvery)
	defer flush.Stop()
	sync := time.NewTicker(w.cfg.SyncEvery)
	defer sync.Stop()
	doFlush := func() {
		if bw == nil || w.err != nil {
			return
		}
		if len(bw.buf) > 0 {
			dirty = true
		}
		if err := bw.flush(); err != nil {
			w.fail(err)
		}
	}
	doSync := func() {
		if f == nil || !dirty || w.err != nil {
			return
		}
		if err := f.Sync(); err != nil {
			w.fail(err)
		}
		dirty = false
	}
	for {
		select {
		case line, ok := <-w.in:
			if !ok {
				doFlush()
				doSync()
				if f != nil {
					if err := f.Close(); err != nil {
						w.fail(err)
					}
				}
				return
			}
			if w.err != nil {
				continue // keep draining so workers never block
			}
			if f == nil {
				var err error
				if f, err = w.create(); err != nil {
					w.fail(err)
					continue
				}
				bw = newBatchWriter(f, w.cfg.Compress)
			}
			bw.buf = append(bw.buf, line...)
			if len(bw.buf) >= batchBytes {
				doFlush()
			}
		case <-flush.C:
			doFlush()
		case <-sync.C:
			doSync()
		}
	}
}

// create opens a new file for this run; O_EXCL guards against a second
// process on the same shard picking the same name.
func (w *journalWriter) create() (*os.File, error) {
	for {
		files, err := journalFiles(w.cfg.Out)
		if err != nil {
			return nil, err
		}
		w.name = nextJournalName(files, w.cfg.Shard, w.cfg.Compress)
		f, err := os.OpenFile(filepath.Join(w.cfg.Out, w.name), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err == nil {
			err = atomicfile.SyncDir(w.cfg.Out)
		}
		return f, err
	}
}
