package model

import "testing"

// BenchmarkAttendDecode times one layer's attention for a decode step of 16
// sequences at position 80 (qwen-tiny heads).
func BenchmarkAttendDecode(b *testing.B) {
	c := Presets["qwen-tiny"].Config
	d := c.HeadDimension()
	rows := make([]row, 16)
	for i := range rows {
		kc := newKVCache(&c, 96)
		for j := range kc.k[0] {
			kc.k[0][j] = float32(j%13) * 0.01
			kc.v[0][j] = float32(j%7) * 0.01
		}
		rows[i] = row{cache: kc, pos: 80}
	}
	q := make([]float32, 16*c.NumAttentionHeads*d)
	for i := range q {
		q[i] = float32(i%5) * 0.1
	}
	out := make([]float32, len(q))
	var scratch [][]float32
	for b.Loop() {
		attend(out, q, rows, 0, &c, &scratch)
	}
}
