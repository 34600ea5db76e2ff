//go:build !linux

package dataset

// bigWords returns n zeroed words and the function that frees them: on the
// heap here (see bigwords_linux.go).
func bigWords(n int) ([]uint64, func()) { return make([]uint64, n), func() {} }
