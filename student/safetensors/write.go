package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// NamedTensor is a tensor to write. Dtype is "F32" (the default when empty)
// or "BF16".
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32
	Dtype string
}

// Write stores tensors in order, with metadata as __metadata__, atomically:
// it writes a temporary file next to path, syncs it and renames it into
// place, so readers never see a partial file. transformers refuses files
// whose metadata lacks "format": "pt"; callers writing checkpoints set it.
func Write(path string, tensors []NamedTensor, metadata map[string]string) error {
	hdr, err := encodeHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer tmp.Abort()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	var lb [8]byte
	binary.LittleEndian.PutUint64(lb[:], uint64(len(hdr)))
	bw.Write(lb[:])
	bw.Write(hdr)
	buf := make([]byte, 0, 64<<10)
	for _, t := range tensors {
		switch t.Dtype {
		case "", "F32":
			if littleEndian {
				bw.Write(bytesOf(t.Data))
				continue
			}
			for i := 0; i < len(t.Data); i += cap(buf) / 4 {
				buf = buf[:0]
				for _, x := range t.Data[i:min(i+cap(buf)/4, len(t.Data))] {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
				}
				bw.Write(buf)
			}
		case "BF16":
			for i := 0; i < len(t.Data); i += cap(buf) / 2 {
				src := t.Data[i:min(i+cap(buf)/2, len(t.Data))]
				buf = buf[:2*len(src)]
				if u, ok := uint16sOf(buf); ok && littleEndian {
					for j, x := range src {
						u[j] = f32ToBF16(x)
					}
				} else {
					for j, x := range src {
						binary.LittleEndian.PutUint16(buf[2*j:], f32ToBF16(x))
					}
				}
				bw.Write(buf)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return tmp.Commit()
}

// encodeHeader builds the JSON header by hand so that tensors keep the given
// order (a Go map would sort them) and pads it with spaces to a multiple of
// 8 bytes, as the spec asks, so the data section stays aligned.
func encodeHeader(tensors []NamedTensor, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"__metadata__":`)
		b.Write(m)
	}
	seen := make(map[string]bool, len(tensors))
	var off int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" || seen[t.Name] {
			return nil, fmt.Errorf("tensor name %q is empty, reserved or repeated", t.Name)
		}
		seen[t.Name] = true
		dt := t.Dtype
		if dt == "" {
			dt = "F32"
		}
		if dt != "F32" && dt != "BF16" {
			return nil, fmt.Errorf("tensor %q: cannot write dtype %q (F32 or BF16)", t.Name, t.Dtype)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v has %d elements, data %d", t.Name, t.Shape, n, len(t.Data))
		}
		end := off + int64(n)*dtypeSize[dt]
		name, _ := json.Marshal(t.Name)
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(name)
		b.WriteString(`:{"dtype":"` + dt + `","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteString(`],"data_offsets":[` + strconv.FormatInt(off, 10) + "," + strconv.FormatInt(end, 10) + "]}")
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}
