package repotest

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// ProcStatus reads a kB field of /proc/self/status (VmHWM, RssAnon, …) in
// bytes, for the tests that measure a process's memory; 0 when it cannot.
func ProcStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
