package memory

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// Available is the memory a new allocation can use, in bytes: the kernel's
// MemAvailable, lowered to the cgroup's remaining allowance (limit minus
// usage) when the process runs under a memory limit, as in containers and
// Slurm jobs. 0 means unknown (not Linux, or unreadable files). A variable
// so that tests of the refusals can fix what the machine has.
var Available = func() int64 { return availableIn(os.DirFS("/")) }

func availableIn(fsys fs.FS) int64 {
	avail := memAvailable(fsys)
	if c := cgroupAvailable(fsys); c > 0 && (avail <= 0 || c < avail) {
		avail = c
	}
	return avail
}

func memAvailable(fsys fs.FS) int64 {
	b, err := fs.ReadFile(fsys, "proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupAvailable reads the process's cgroup limit and usage: v2's
// memory.max, else v1's memory.limit_in_bytes. The process's own cgroup
// directory is used when it is visible; inside a container the namespace
// root is mounted at /sys/fs/cgroup, so that is the fallback.
func cgroupAvailable(fsys fs.FS) int64 {
	v2, v1 := "sys/fs/cgroup", "sys/fs/cgroup/memory"
	if b, err := fs.ReadFile(fsys, "proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.SplitN(line, ":", 3)
			if len(f) != 3 {
				continue
			}
			rel := strings.TrimPrefix(f[2], "/")
			switch {
			case f[0] == "0" && f[1] == "":
				if c := path.Join(v2, rel); exists(fsys, path.Join(c, "memory.max")) {
					v2 = c
				}
			case f[1] == "memory":
				if c := path.Join(v1, rel); exists(fsys, path.Join(c, "memory.limit_in_bytes")) {
					v1 = c
				}
			}
		}
	}
	if limit := readInt(fsys, path.Join(v2, "memory.max")); limit > 0 {
		return max(limit-readInt(fsys, path.Join(v2, "memory.current")), 1)
	}
	// v1 reports "no limit" as a number near MaxInt64.
	if limit := readInt(fsys, path.Join(v1, "memory.limit_in_bytes")); limit > 0 && limit < 1<<60 {
		return max(limit-readInt(fsys, path.Join(v1, "memory.usage_in_bytes")), 1)
	}
	return 0
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

// readInt parses a one-number file; "max" and errors give 0.
func readInt(fsys fs.FS, name string) int64 {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
