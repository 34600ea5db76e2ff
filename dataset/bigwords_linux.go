package dataset

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// bigWords returns n zeroed words mapped outside the Go heap, on transparent
// huge pages where the kernel gives them (its "madvise" mode, the usual
// default), and the function that unmaps them. The Bloom filter is 64 MB
// touched at random: on the heap's 4 KB pages that is 16,000 page faults,
// and the collector lets the heap grow by its size again before it runs; at
// 800,000 traces the two cost about 30,000 faults and 0.2 s of system time.
// Where the mapping fails the words come from the heap.
func bigWords(n int) ([]uint64, func()) {
	b, err := unix.Mmap(-1, 0, n*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]uint64, n), func() {}
	}
	unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: refused, the pages are 4 KB
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), func() { unix.Munmap(b) }
}
