package verify

import (
	"strings"
)

// Normalize puts a final answer into the canonical form the MATH graders
// compare (Hendrycks' strip_string, lm-eval's normalize_final_answer): no
// spacing macros, \dfrac and \tfrac as \frac, no \left/\right, no \text{}
// wrappers or units, no degree, dollar or percent signs, no thousands
// separators, no trailing ".0", no "x =" prefix and no spaces. Percentages
// keep their number as written: "50\%" becomes "50", not "0.5".
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if plainNumber(s) { // the common case, GSM8K and arithmetic: skip the LaTeX rules
		return fixDecimal(stripThousands(strings.TrimRight(s, ".")))
	}
	if a, ok := extractBoxed(s); ok && strings.HasPrefix(strings.TrimLeft(s, "$ "), `\boxed`) {
		s = a
	}
	s = normReplacer.Replace(s)
	s = stripLeftRight(s)
	s = stripTextMacros(s)
	s = stripUnitWords(s)
	s = stripVarPrefix(s)
	s = stripMembership(s)
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '~':
			return -1
		}
		return r
	}, s)
	s = fixSqrtFrac(s)
	s = unbraceScripts(s)
	s = strings.TrimRight(s, ".")
	s = stripThousands(s)
	s = fixDecimal(s)
	return s
}

// normReplacer does the plain substitutions, in one pass over the string.
var normReplacer = strings.NewReplacer(
	"\n", " ",
	`\\`, `\\`, // a LaTeX line break stays; "\\ " is not "\ "
	`\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, " ",
	`\qquad`, " ", `\quad`, " ",
	`\displaystyle`, "",
	`\dfrac`, `\frac`, `\tfrac`, `\frac`,
	`^{\circ}`, "", `^\circ`, "", `^{\circ }`, "", `\circ`, "", `\degree`, "", "°", "",
	`\$`, "", "$", "",
	`\%`, "", "%", "",
	`{,}`, "",
	`\varnothing`, `\emptyset`,
	`\le `, `\leq `, `\ge `, `\geq `,
	`\infinity`, `\infty`, `infinity`, `\infty`,
	`\mathrm{th}`, "",
	`\cdot`, `\cdot`,
	`\times`, `\times`,
	`\lbrace`, `\{`, `\rbrace`, `\}`,
	`\lvert`, "|", `\rvert`, "|",
	// Unicode a model may write instead of LaTeX.
	"−", "-", "–", "-", "π", `\pi`, "×", `\times`, "·", `\cdot`, "÷", `\div`,
	"∞", `\infty`, "√", `\sqrt`, "±", `\pm`, "∪", `\cup`, "\u00a0", " ", "\u202f", " ",
)

// stripLeftRight drops the sizing commands \left, \right, \bigl … and the
// "." that stands for an invisible delimiter after them.
func stripLeftRight(s string) string {
	if !strings.Contains(s, `\left`) && !strings.Contains(s, `\right`) && !strings.Contains(s, `\big`) && !strings.Contains(s, `\Big`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			i++
			continue
		}
		matched := false
		for _, m := range sizeMacros {
			if strings.HasPrefix(s[i:], m) {
				j := i + len(m)
				// \leftarrow, \rightarrow and friends are not sizing commands.
				if j < len(s) && isLetter(s[j]) {
					break
				}
				if j < len(s) && s[j] == '.' {
					j++
				}
				i = j
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

var sizeMacros = []string{`\left`, `\right`, `\bigl`, `\bigr`, `\Bigl`, `\Bigr`, `\big`, `\Big`}

// plainNumber reports whether s has only digits, signs, dots and commas.
func plainNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && c != '.' && c != ',' && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

var textMacros = []string{`\text`, `\textbf`, `\textit`, `\textrm`, `\mbox`, `\mathrm`, `\mathbf`, `\mathit`, `\operatorname`}

// stripTextMacros unwraps \text{…} and its relatives. A text group that
// follows a number is a unit ("5\text{ cm}") and is dropped, as Hendrycks'
// _remove_right_units does; any other keeps its content ("\text{Evelyn}").
func stripTextMacros(s string) string {
	if !strings.Contains(s, `\text`) && !strings.Contains(s, `\m`) && !strings.Contains(s, `\operatorname`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\\' {
			if m, ok := textMacroAt(s[i:]); ok {
				j := i + len(m)
				for j < len(s) && s[j] == ' ' {
					j++
				}
				if j < len(s) && s[j] == '{' {
					if inner, ok := braced(s[j:]); ok {
						prev := strings.TrimRight(b.String(), " ")
						k := j + len(inner) + 2
						if k+1 < len(s) && s[k] == '^' && isDigit(s[k+1]) {
							k += 2
						}
						// A unit is words after a number at the end of the
						// answer; "2\text{ and }3" is not a unit.
						if isUnitText(inner) && prev != "" && (isDigit(prev[len(prev)-1]) || prev[len(prev)-1] == '}') && strings.Trim(s[k:], " .") == "" {
							i = k
							continue
						}
						b.WriteString(inner)
						i = j + len(inner) + 2
						continue
					}
				}
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func textMacroAt(s string) (string, bool) {
	for _, m := range textMacros {
		if strings.HasPrefix(s, m) && (len(s) == len(m) || !isLetter(s[len(m)])) {
			return m, true
		}
	}
	return "", false
}

// isUnitText reports whether a \text group reads like a unit: words only.
func isUnitText(t string) bool {
	t = strings.TrimSpace(t)
	if t == "" {
		return true
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isLetter(c) && c != ' ' && c != '.' && c != '^' && !isDigit(c) {
			return false
		}
	}
	return isLetter(t[0])
}

// stripUnitWords drops words after a leading number ("5 cm", "12 apples",
// "3 \text{ cm}^2" after unwrapping): the MATH and GSM8K graders accept a
// number followed by its unit.
func stripUnitWords(s string) string {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == ',') {
		i++
	}
	if i == start || i >= len(s) || s[i] != ' ' {
		return s
	}
	rest := strings.TrimSpace(s[i:])
	if len(rest) < 2 {
		return s
	}
	for k := 0; k < len(rest); k++ {
		c := rest[k]
		if !isLetter(c) && c != ' ' && c != '.' && !(c == '^' && k+1 < len(rest) && isDigit(rest[k+1])) && !(k > 0 && rest[k-1] == '^' && isDigit(c)) {
			return s
		}
	}
	if !isLetter(rest[0]) || len(rest) < 2 || !isLetter(rest[1]) {
		return s
	}
	// Words that are mathematics, not units: "2 pi" is not 2.
	w := strings.ToLower(strings.Fields(rest)[0])
	if w == "pi" || w == "sqrt" || w == "root" || w == "times" || w == "over" || w == "plus" || w == "minus" {
		return s
	}
	return s[:i]
}

// stripVarPrefix turns "x = 5", "k=3", "a_1 = 2" or "\theta = 1" into the
// right-hand side when the left-hand side is a single variable, as Hendrycks'
// grader does (it allows any left side of up to two characters).
func stripVarPrefix(s string) string {
	i := strings.IndexByte(s, '=')
	if i < 0 || strings.IndexByte(s[i+1:], '=') >= 0 {
		return s
	}
	if isVariable(strings.TrimSpace(s[:i])) {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}

// stripMembership turns "x \in [-2,7]" into the set or interval.
func stripMembership(s string) string {
	i := strings.Index(s, `\in`)
	if i < 0 || (i+3 < len(s) && isLetter(s[i+3])) {
		return s
	}
	if isVariable(strings.TrimSpace(s[:i])) {
		return strings.TrimSpace(s[i+3:])
	}
	return s
}

func isVariable(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == '\\' {
		for j := 1; j < len(v); j++ {
			if !isLetter(v[j]) {
				return false
			}
		}
		return len(v) > 1
	}
	if !isLetter(v[0]) {
		return false
	}
	switch rest := v[1:]; {
	case rest == "":
		return true
	case len(rest) == 1:
		return isLetter(rest[0]) || isDigit(rest[0])
	case rest[0] == '_':
		sub := strings.TrimSuffix(strings.TrimPrefix(rest[1:], "{"), "}")
		return sub != "" && len(sub) <= 3 && allAlnum(sub)
	}
	return false
}

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// fixSqrtFrac braces the short forms \sqrt3, \frac12, \frac1{2} and
// \frac{270}7.
func fixSqrtFrac(s string) string {
	if !strings.Contains(s, `\sqrt`) && !strings.Contains(s, `\frac`) {
		return s
	}
	var b strings.Builder
	// arg copies one argument at s[i:], bracing a lone character.
	arg := func(i int) int {
		if i >= len(s) {
			return i
		}
		if s[i] == '{' {
			if inner, ok := braced(s[i:]); ok {
				b.WriteString(s[i : i+len(inner)+2])
				return i + len(inner) + 2
			}
		}
		if s[i] == '\\' {
			return i // a command argument such as \frac\pi2: left alone
		}
		b.WriteByte('{')
		b.WriteByte(s[i])
		b.WriteByte('}')
		return i + 1
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], `\sqrt`) && i+5 < len(s) && s[i+5] != '[' && !isLetter(s[i+5]):
			b.WriteString(`\sqrt`)
			i = arg(i + 5)
		case strings.HasPrefix(s[i:], `\frac`) && i+5 < len(s) && !isLetter(s[i+5]):
			b.WriteString(`\frac`)
			i = arg(arg(i + 5))
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// unbraceScripts writes one-character exponents and subscripts bare:
// "x^{2}" as "x^2", "52_{8}" as "52_8".
func unbraceScripts(s string) string {
	if !strings.Contains(s, "^{") && !strings.Contains(s, "_{") {
		return s
	}
	b := []byte(s)
	out := b[:0]
	for i := 0; i < len(b); i++ {
		if (b[i] == '^' || b[i] == '_') && i+3 < len(b) && b[i+1] == '{' && b[i+3] == '}' && b[i+2] != '\\' && b[i+2] != '{' && b[i+2] != '}' {
			out = append(out, b[i], b[i+2])
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

// stripThousands removes the commas of "1,234,567" (and "-1,234.5") when the
// whole answer is one such number; "1,-2" or "3,5" stay lists.
func stripThousands(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	t := strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(t, ".")
	groups := strings.Split(intPart, ",")
	if len(groups[0]) < 1 || len(groups[0]) > 3 || !allDigits(groups[0]) {
		return s
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !allDigits(g) {
			return s
		}
	}
	if hasFrac && (frac == "" || !allDigits(frac)) {
		return s
	}
	return strings.ReplaceAll(s, ",", "")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// fixDecimal writes a plain decimal canonically: ".5" → "0.5", "5.00" → "5",
// "2.50" → "2.5".
func fixDecimal(s string) string {
	t := strings.TrimPrefix(s, "-")
	if t == "" {
		return s
	}
	intPart, frac, ok := strings.Cut(t, ".")
	if !ok || (intPart != "" && !allDigits(intPart)) || !allDigits(frac) {
		return s
	}
	neg := len(t) < len(s)
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
