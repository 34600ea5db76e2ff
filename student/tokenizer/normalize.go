package tokenizer

import (
	"fmt"

	"golang.org/x/text/unicode/norm"
)

// normalizer is the normalizer section of tokenizer.json. Only the Unicode
// normal forms are supported: they are what byte-level BPE files use (Qwen2
// and Qwen3 say NFC, Llama 3 says nothing).
type normalizer []norm.Form

func parseNormalizer(c *componentJSON) (normalizer, error) {
	if c == nil {
		return nil, nil
	}
	var forms normalizer
	var walk func(c *componentJSON) error
	walk = func(c *componentJSON) error {
		switch c.Type {
		case "NFC":
			forms = append(forms, norm.NFC)
		case "NFD":
			forms = append(forms, norm.NFD)
		case "NFKC":
			forms = append(forms, norm.NFKC)
		case "NFKD":
			forms = append(forms, norm.NFKD)
		case "Sequence":
			for _, n := range c.Normalizers {
				if err := walk(n); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("normalizer: type %q not supported (want NFC, NFD, NFKC, NFKD or a Sequence of them)", c.Type)
		}
		return nil
	}
	if err := walk(c); err != nil {
		return nil, err
	}
	return forms, nil
}

func (n normalizer) apply(s string) string {
	for _, f := range n {
		if !f.IsNormalString(s) {
			s = f.String(s)
		}
	}
	return s
}
