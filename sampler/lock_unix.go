//go:build unix

package sampler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockShard takes an exclusive lock on DIR for one shard, so that a second
// process on the same shard (a requeued array task while the old one still
// runs, a command started twice) is refused instead of sampling every pair
// twice. The kernel drops the lock when the process dies, kill -9 included.
func lockShard(dir string, s Shard) (release func(), err error) {
	path := filepath.Join(dir, "."+journalPrefix(s)+"lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another distill generate is writing shard %s of %s", ErrBusy, s, dir)
		}
		return nil, fmt.Errorf("sampler: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
