package model

import "math"

// rope holds the rotary inverse frequencies of one config: HF's
// ROPE_INIT_FUNCTIONS for "default" and Llama 3.1's "llama3" scaling.
type rope struct {
	invFreq []float64 // [D/2]
}

// newRope holds the config's RopeInvFreq.
func newRope(c *Config) *rope { return &rope{invFreq: RopeInvFreq(c)} }

// RopeInvFreq computes inv_freq[i] = theta^(-2i/D) [D/2], then applies
// _compute_llama3_parameters when the config asks for it: long wavelengths
// are divided by factor, short ones kept, the band in between interpolated.
// The training graph uses the same frequencies.
func RopeInvFreq(c *Config) []float64 {
	d := c.HeadDimension()
	inv := make([]float64, d/2)
	for i := range inv {
		// HF computes the exponent in float32; keep that rounding so the
		// frequencies match to the last bit before scaling.
		e := float32(2*i) / float32(d)
		inv[i] = float64(1 / float32(math.Pow(c.RopeTheta, float64(e))))
	}
	if s := c.RopeScaling; s != nil && (s.RopeType == "llama3" || s.Type == "llama3") {
		old := float64(s.OriginalMaxPositionEmbeddings)
		lowWave := old / s.LowFreqFactor
		highWave := old / s.HighFreqFactor
		for i, f := range inv {
			wave := 2 * math.Pi / f
			switch {
			case wave < highWave:
				// high frequency: unchanged
			case wave > lowWave:
				inv[i] = f / s.Factor
			default:
				smooth := (old/wave - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				inv[i] = (1-smooth)*f/s.Factor + smooth*f
			}
		}
	}
	return inv
}

// tables fills cos and sin for each position.
//
//	pos: [n]; cos, sin: [n, D/2]
func (r *rope) tables(cos, sin []float32, pos []int) {
	half := len(r.invFreq)
	for j, p := range pos {
		for i, f := range r.invFreq {
			// HF multiplies in float32 (inv_freq @ position_ids); so do we.
			a := float64(float32(f) * float32(p))
			s, c := math.Sincos(a)
			cos[j*half+i], sin[j*half+i] = float32(c), float32(s)
		}
	}
}

// apply rotates every head of each row in place with HF's rotate_half
// convention (the two halves of a head form the pairs, not adjacent
// elements): x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin.
//
//	x: [n, heads*D]; cos, sin: [n, D/2]
func (r *rope) apply(x, cos, sin []float32, n, heads int) {
	half := len(r.invFreq)
	d := 2 * half
	for j := 0; j < n; j++ {
		c, s := cos[j*half:(j+1)*half], sin[j*half:(j+1)*half]
		row := x[j*heads*d : (j+1)*heads*d]
		for h := 0; h < heads; h++ {
			x1 := row[h*d : h*d+half]
			x2 := row[h*d+half : (h+1)*d]
			for i := range half {
				a, b := x1[i], x2[i]
				x1[i] = a*c[i] - b*s[i]
				x2[i] = b*c[i] + a*s[i]
			}
		}
	}
}
