package verify

import (
	"math"
	"math/cmplx"
	"strings"
)

// matrixEnvs are the environments compared as matrices, cell by cell; the
// bracket style does not change the matrix.
var matrixEnvs = []string{"pmatrix", "bmatrix", "matrix", "Bmatrix"}

// parseMatrix reads \begin{pmatrix}a&b\\c&d\end{pmatrix} into rows of cells.
func parseMatrix(s string) ([][]string, bool) {
	for _, env := range matrixEnvs {
		begin, end := `\begin{`+env+`}`, `\end{`+env+`}`
		if !strings.HasPrefix(s, begin) || !strings.HasSuffix(s, end) {
			continue
		}
		body := strings.TrimSuffix(s[len(begin):len(s)-len(end)], `\\`)
		var rows [][]string
		for _, r := range strings.Split(body, `\\`) {
			rows = append(rows, strings.Split(r, "&"))
		}
		return rows, true
	}
	return nil, false
}

func equivMatrix(a, b string) (eq, ok bool) {
	ma, okA := parseMatrix(a)
	mb, okB := parseMatrix(b)
	if !okA || !okB {
		return false, okA || okB
	}
	if len(ma) != len(mb) {
		return false, true
	}
	for i := range ma {
		if !equalOrdered(ma[i], mb[i], equivItem) {
			return false, true
		}
	}
	return true, true
}

// expandPM turns "a\pm b" into the list "a+b,a-b", the two answers it
// stands for; ok is false without exactly one \pm or \mp.
func expandPM(s string) (string, bool) {
	op := `\pm`
	i := strings.Index(s, op)
	if i < 0 {
		op = `\mp`
		if i = strings.Index(s, op); i < 0 {
			return "", false
		}
	}
	rest := s[i+len(op):]
	if strings.Contains(rest, `\pm`) || strings.Contains(rest, `\mp`) || strings.Contains(s, ",") {
		return "", false
	}
	return s[:i] + "+" + rest + "," + s[:i] + "-" + rest, true
}

// equivEquation compares two equations lhs=rhs. They are the same when
// lhs-rhs of one is a nonzero constant multiple of the other's
// (5x-7y+11z+4=0 and 10x-14y+22z=-8), checked by evaluation at the sample
// points; this never calls equations with different solution sets equal.
func equivEquation(a, b string) (eq, ok bool) {
	la, ra, okA := strings.Cut(a, "=")
	lb, rb, okB := strings.Cut(b, "=")
	if !okA || !okB || strings.Contains(ra, "=") || strings.Contains(rb, "=") {
		return false, okA || okB
	}
	fa, errA := parseExpr("(" + la + ")-(" + ra + ")")
	fb, errB := parseExpr("(" + lb + ")-(" + rb + ")")
	if errA != nil || errB != nil {
		return false, true
	}
	vars := map[string]int{}
	fa.vars(vars)
	fb.vars(vars)
	if len(vars) == 0 {
		return false, true
	}
	var ratio complex128
	for i, pt := range samplePoints {
		env := pointEnv(vars, pt)
		va, vb := fa.eval(env), fb.eval(env)
		if !finite(va) || !finite(vb) || vb == 0 || va == 0 {
			return false, true
		}
		if i == 0 {
			ratio = va / vb
			continue
		}
		scale := math.Max(1, cmplx.Abs(va))
		if cmplx.Abs(va-ratio*vb) > 1e-9*scale {
			return false, true
		}
	}
	return true, true
}
