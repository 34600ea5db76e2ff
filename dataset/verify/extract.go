package verify

import "strings"

// Extract returns the final answer of a model response, trying in order:
// the last complete \boxed{…} or \fbox{…} (nested braces, and the "\boxed 5"
// form), the last <answer>…</answer>, the last GSM8K "#### N" line, and the
// last "The answer is …" / "Final answer: …" phrase. The boxed form wins
// because R1-style prompts ask for it and a chain of thought often says "the
// answer is" about intermediate steps.
//
// When the text holds a closed chain of thought (R1's "<think>…</think>"),
// only what follows the last </think> is searched: a box inside the
// reasoning is a draft, not the answer the model commits to.
func Extract(text string) (answer string, ok bool) {
	if i := lastIndex(text, "</think>"); i >= 0 {
		text = text[i+len("</think>"):]
	}
	if a, ok := extractBoxed(text); ok {
		return a, true
	}
	if a, ok := extractTag(text); ok {
		if b, ok := extractPhrase(a); ok {
			return b, true
		}
		return cleanPhrase(a), true
	}
	if a, ok := extractHashes(text); ok {
		return a, true
	}
	return extractPhrase(text)
}

// extractBoxed finds the last \boxed or \fbox whose argument is complete; a
// truncated last box falls back to the one before it.
func extractBoxed(text string) (string, bool) {
	end := len(text)
	for end > 0 {
		s := text[:end]
		i := lastIndex(s, `\boxed`)
		n := len(`\boxed`)
		if j := lastIndex(s, `\fbox`); j > i {
			i, n = j, len(`\fbox`)
		}
		if i < 0 {
			return "", false
		}
		if a, ok := boxArg(text[i+n:]); ok {
			return a, true
		}
		end = i
	}
	return "", false
}

// boxArg reads the argument after \boxed: a braced group, or in the
// "\boxed 5" form the run of characters up to a space, '$' or line end.
func boxArg(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if s[0] == ' ' {
		t := strings.TrimLeft(s, " ")
		if t != "" && t[0] == '{' {
			s = t
		} else {
			j := strings.IndexAny(t, " $\n")
			if j < 0 {
				j = len(t)
			}
			a := strings.TrimRight(t[:j], ".,")
			return a, a != ""
		}
	}
	if s[0] != '{' {
		return "", false
	}
	inner, ok := braced(s)
	if !ok {
		return "", false
	}
	inner = strings.TrimSpace(inner)
	return inner, inner != ""
}

// braced returns the content of the brace group s starts with, honouring
// nesting and skipping escaped braces (\{ \}).
func braced(s string) (string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped character
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], true
			}
		}
	}
	return "", false
}

func extractTag(text string) (string, bool) {
	j := lastIndex(text, "</answer>")
	if j < 0 {
		return "", false
	}
	i := lastIndex(text[:j], "<answer>")
	if i < 0 {
		return "", false
	}
	a := strings.TrimSpace(text[i+len("<answer>") : j])
	return a, a != ""
}

func extractHashes(text string) (string, bool) {
	i := lastIndex(text, "####")
	if i < 0 {
		return "", false
	}
	a := text[i+4:]
	if j := strings.IndexByte(a, '\n'); j >= 0 {
		a = a[:j]
	}
	a = cleanPhrase(a)
	return a, a != ""
}

// extractPhrase finds the last "answer is …" or "answer: …" in prose ("The
// answer is 5.", "Final answer: 5", "**Final Answer**: 5", "the correct
// answer is 5"). "answer" is matched as "?nswer" and "?NSWER" by forward,
// vectorised search, so a long chain of thought costs little.
func extractPhrase(text string) (string, bool) {
	best := -1
	for _, pat := range [...]string{"nswer", "NSWER"} {
		for off := 0; ; {
			i := strings.Index(text[off:], pat)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			if i == 0 || lower(text[i-1]) != 'a' || i-1 <= best {
				continue
			}
			if i >= 2 && isLetter(text[i-2]) {
				continue // "reanswer", not a phrase
			}
			if _, ok := phraseRest(text[i+len(pat):]); ok {
				best = i - 1
			}
		}
	}
	if best < 0 {
		return "", false
	}
	rest, _ := phraseRest(text[best+len("answer"):])
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	a := cleanPhrase(firstSentence(rest))
	return a, a != ""
}

// firstSentence keeps the answer of a phrase and drops the prose after it:
// a leading math span ("$5$. I hope it is correct." as in Minerva's format)
// or the text up to the first ". ".
func firstSentence(s string) string {
	s = strings.TrimLeft(s, " :*")
	for _, d := range [...][2]string{{"$$", "$$"}, {"$", "$"}, {`\(`, `\)`}, {`\[`, `\]`}} {
		if strings.HasPrefix(s, d[0]) {
			if j := indexUnescaped(s[len(d[0]):], d[1]); j >= 0 {
				return s[len(d[0]) : len(d[0])+j]
			}
			return s
		}
	}
	if j := strings.Index(s, ". "); j >= 0 {
		return s[:j]
	}
	return s
}

// phraseRest checks what follows "answer": optional spaces and markdown
// bold, then ":" or "is"; it returns the text after that.
func phraseRest(rest string) (string, bool) {
	rest = strings.TrimLeft(rest, " *")
	switch {
	case strings.HasPrefix(rest, ":"):
		return rest[1:], true
	case len(rest) >= 2 && lower(rest[0]) == 'i' && lower(rest[1]) == 's' && (len(rest) == 2 || !isLetter(rest[2])):
		return strings.TrimPrefix(rest[2:], ":"), true
	}
	return "", false
}

// cleanPhrase trims the decoration around an answer written in prose:
// colons, markdown bold, math delimiters and the closing full stop.
func cleanPhrase(a string) string {
	a = strings.TrimSpace(a)
	for {
		b := strings.TrimSpace(a)
		b = strings.TrimPrefix(b, ":")
		b = strings.TrimSpace(b)
		b = strings.Trim(b, "*")
		b = strings.TrimSpace(b)
		b = strings.TrimSuffix(b, ".")
		b = strings.TrimSpace(b)
		if strings.HasPrefix(b, `\(`) && strings.HasSuffix(b, `\)`) {
			b = b[2 : len(b)-2]
		} else if strings.HasPrefix(b, `\[`) && strings.HasSuffix(b, `\]`) {
			b = b[2 : len(b)-2]
		} else if len(b) >= 2 && b[0] == '$' && b[len(b)-1] == '$' {
			b = strings.Trim(b, "$")
		}
		if b == a {
			return a
		}
		a = b
	}
}

// indexUnescaped is strings.Index skipping matches right after a backslash,
// so the closing "$" of "$\$18$" is found, not the escaped one.
func indexUnescaped(s, sub string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], sub)
		if i < 0 {
			return -1
		}
		i += off
		if sub[0] == '$' && i > 0 && s[i-1] == '\\' {
			off = i + 1
			continue
		}
		return i
	}
}

// lastIndex is strings.LastIndex by repeated forward search: the standard
// LastIndex hashes byte by byte and is several times slower on long traces,
// where the patterns we look for occur a few times at most.
func lastIndex(s, sub string) int {
	last := -1
	for off := 0; ; {
		i := strings.Index(s[off:], sub)
		if i < 0 {
			return last
		}
		last = off + i
		off = last + 1
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ExtractChoice returns the multiple-choice letter (A–J) a response settles
// on: a boxed or stated answer that is a letter, "(C)", "C)" or "C.", or a
// response that is nothing but the letter.
func ExtractChoice(text string) (letter string, ok bool) {
	if a, ok := Extract(text); ok {
		if l, ok := choiceLetter(a); ok {
			return l, true
		}
	}
	return choiceLetter(text)
}

func choiceLetter(a string) (string, bool) {
	a = stripTextMacros(strings.TrimSpace(a))
	a = strings.TrimSpace(strings.Trim(strings.TrimSpace(a), "$*"))
	a = strings.TrimPrefix(a, "option ")
	a = strings.TrimPrefix(a, "Option ")
	if len(a) >= 3 && a[0] == '(' && a[2] == ')' {
		a = a[1:2]
	} else if len(a) >= 2 && (a[1] == ')' || a[1] == '.' || a[1] == ':') {
		if len(a) == 2 || a[2] == ' ' {
			a = a[:1]
		}
	}
	if len(a) != 1 {
		return "", false
	}
	c := a[0]
	if 'a' <= c && c <= 'j' {
		c -= 'a' - 'A'
	}
	if 'A' <= c && c <= 'J' {
		return string(c), true
	}
	return "", false
}
