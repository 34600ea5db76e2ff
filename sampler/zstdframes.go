package sampler

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// The journal writes one zstd frame per flushed batch of whole lines, so a
// file cut by kill -9 is a run of complete frames followed by at most one
// torn frame. completeFrames finds where the complete frames end by walking
// frame and block headers (RFC 8878), without decompressing anything.

const (
	zstdMagic         = 0xFD2FB528
	skippableMask     = 0xFFFFFFF0
	skippableMagicLow = 0x184D2A50
)

var errTornFrame = errors.New("torn zstd frame")

// completeFrames returns the length of the longest prefix of r made of
// complete zstd (or skippable) frames; the error is errTornFrame when a
// partial frame follows, nil when r ends on a frame boundary. Block bodies
// are skipped, not read, so this streams files of any size.
func completeFrames(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return off, nil
		}
		n, err := frameLen(br)
		if err != nil {
			return off, err
		}
		off += n
	}
}

// frameLen consumes one frame from br and returns its length.
func frameLen(br *bufio.Reader) (int64, error) {
	var n int64
	read := func(k int) ([]byte, error) {
		b := make([]byte, k)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, errTornFrame
		}
		n += int64(k)
		return b, nil
	}
	skip := func(k int) error {
		d, _ := br.Discard(k)
		n += int64(d)
		if d < k {
			return errTornFrame
		}
		return nil
	}
	b, err := read(4)
	if err != nil {
		return 0, err
	}
	magic := binary.LittleEndian.Uint32(b)
	if magic&skippableMask == skippableMagicLow {
		b, err := read(4)
		if err != nil {
			return 0, err
		}
		err = skip(int(binary.LittleEndian.Uint32(b)))
		return n, err
	}
	if magic != zstdMagic {
		return 0, errors.New("not a zstd frame")
	}
	b, err = read(1)
	if err != nil {
		return 0, err
	}
	fhd := b[0]
	single := fhd&0x20 != 0
	checksum := fhd&0x04 != 0
	hdr := 0
	if !single {
		hdr++ // window descriptor
	}
	hdr += [4]int{0, 1, 2, 4}[fhd&3] // dictionary id
	fcs := [4]int{0, 2, 4, 8}[fhd>>6]
	if fhd>>6 == 0 && single {
		fcs = 1
	}
	if err := skip(hdr + fcs); err != nil {
		return 0, err
	}
	for {
		b, err := read(3)
		if err != nil {
			return 0, err
		}
		h := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		size := int(h >> 3)
		switch (h >> 1) & 3 {
		case 1: // RLE: one byte repeated size times
			size = 1
		case 3:
			return 0, errors.New("reserved zstd block type")
		}
		if err := skip(size); err != nil {
			return 0, err
		}
		if h&1 != 0 {
			break
		}
	}
	if checksum {
		if err := skip(4); err != nil {
			return 0, err
		}
	}
	return n, nil
}
