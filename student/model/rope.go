package model

import "math"

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
