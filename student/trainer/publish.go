package trainer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// publish puts the model files of a checkpoint into out, each renamed into
// place, leaving out's other files (metrics, checkpoints) alone. Files are
// hard-linked where the file system allows (no copy of a multi-gigabyte
// model, and no second copy in memory), else streamed.
func publish(ckpt, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(ckpt)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || name == stateFile || name == optimizerFile {
			continue
		}
		if err := publishFile(filepath.Join(ckpt, name), filepath.Join(out, name)); err != nil {
			return err
		}
	}
	return nil
}

// publishFile puts src at dst by a hard link, else by a copy. The link is
// synced too: a checkpoint may come from a run that never synced it.
func publishFile(src, dst string) error {
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	os.Remove(tmp) // a leftover of an interrupted publish
	if err := os.Link(src, tmp); err == nil {
		return atomicfile.Rename(tmp, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	return out.Commit()
}
