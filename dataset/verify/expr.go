package verify

import (
	"errors"
	"math"
	"math/big"
	"math/cmplx"
	"strings"
)

// equivExpr compares two expressions that are neither plain numbers nor
// structures, such as 3\sqrt{13}, \frac{\pi}{2} or x^2+2x+1. Both are parsed
// into small expression trees. Without variables, \sqrt or \pi they are
// compared exactly as rationals (so 2^{100} is not "equal" to a neighbour by
// rounding). Otherwise they are evaluated in complex floating point at a few
// fixed points for their variables, and must agree to 1e-9 relative at all of
// them: for polynomials and the like, identical values at arbitrary points
// mean identical expressions (Schwartz–Zippel), and for closed forms
// (\sqrt{12} vs 2\sqrt{3}) they are the same number. An answer that does not
// parse falls back to its normalised text.
func equivExpr(a, b string) bool {
	if a == b {
		return true
	}
	ea, errA := parseExpr(a)
	eb, errB := parseExpr(b)
	if errA != nil || errB != nil {
		return false
	}
	ra, okA := ea.rat()
	rb, okB := eb.rat()
	if okA && okB {
		return ra.Cmp(rb) == 0
	}
	// A rational against a closed form (2 vs \sqrt{4}) is decided by value
	// only when its denominator is small: 3.14159265358979 is an
	// approximation of \pi, not the answer \pi.
	if (okA && ra.Denom().BitLen() > 10) || (okB && rb.Denom().BitLen() > 10) {
		return false
	}
	vars := map[string]int{}
	ea.vars(vars)
	eb.vars(vars)
	for _, pt := range samplePoints {
		env := pointEnv(vars, pt)
		va, vb := ea.eval(env), eb.eval(env)
		if !finite(va) || !finite(vb) {
			return false
		}
		scale := math.Max(1, math.Max(cmplx.Abs(va), cmplx.Abs(vb)))
		if cmplx.Abs(va-vb) > 1e-9*scale {
			return false
		}
	}
	return true
}

// samplePoints are the values given to the variables (the k-th variable in
// order of first appearance takes the k-th entry): positive, distinct, not
// small integers, so that √(x²) = x holds as it does for the positive
// quantities MATH answers are about.
var samplePoints = [][]complex128{
	{1.3183, 2.0417, 0.7271, 1.6653, 2.4391, 0.9113},
	{0.6217, 1.7329, 2.2861, 1.1491, 0.8359, 1.9937},
	{2.7713, 0.5531, 1.4467, 2.1127, 1.2803, 0.6949},
}

// pointEnv gives the k-th variable the k-th value of the point (shifted for
// answers with more variables than the point has values).
func pointEnv(vars map[string]int, pt []complex128) map[string]complex128 {
	env := make(map[string]complex128, len(vars))
	for name, k := range vars {
		env[name] = pt[k%len(pt)] + complex(float64(k/len(pt))*0.173, 0)
	}
	return env
}

func finite(z complex128) bool {
	return !cmplx.IsNaN(z) && !cmplx.IsInf(z)
}

// node is an expression tree.
type node struct {
	op   byte // 'n' number, 'v' variable, 'c' constant, '+', '-', '*', '/', '^', '~' negate, 'f' function
	num  *big.Rat
	c    complex128
	name string // variable or function name
	kids []*node
}

// rat evaluates exactly, or reports false when the tree needs more than
// rational arithmetic (variables, constants, functions, non-integer powers).
func (n *node) rat() (*big.Rat, bool) {
	switch n.op {
	case 'n':
		return n.num, true
	case '~':
		x, ok := n.kids[0].rat()
		if !ok {
			return nil, false
		}
		return new(big.Rat).Neg(x), true
	case '+', '-', '*', '/':
		x, ok1 := n.kids[0].rat()
		y, ok2 := n.kids[1].rat()
		if !ok1 || !ok2 {
			return nil, false
		}
		r := new(big.Rat)
		switch n.op {
		case '+':
			r.Add(x, y)
		case '-':
			r.Sub(x, y)
		case '*':
			r.Mul(x, y)
		case '/':
			if y.Sign() == 0 {
				return nil, false
			}
			r.Quo(x, y)
		}
		return r, true
	case '!':
		x, ok := n.kids[0].rat()
		if !ok || !x.IsInt() || x.Sign() < 0 || x.Num().Cmp(big.NewInt(1000)) > 0 {
			return nil, false
		}
		return new(big.Rat).SetInt(new(big.Int).MulRange(1, x.Num().Int64())), true
	case '^':
		x, ok1 := n.kids[0].rat()
		y, ok2 := n.kids[1].rat()
		if !ok1 || !ok2 || !y.IsInt() || y.Num().BitLen() > 12 {
			return nil, false
		}
		e := y.Num().Int64()
		if x.Sign() == 0 && e < 0 {
			return nil, false
		}
		// Bound the size of the exact result: (999^{4000})^{4000} would
		// take seconds and gigabytes; float evaluation decides those.
		if int64(max(x.Num().BitLen(), x.Denom().BitLen()))*abs64(e) > 1<<16 {
			return nil, false
		}
		num := new(big.Int).Exp(x.Num(), big.NewInt(abs64(e)), nil)
		den := new(big.Int).Exp(x.Denom(), big.NewInt(abs64(e)), nil)
		if e < 0 {
			num, den = den, num
		}
		return new(big.Rat).SetFrac(num, den), true
	}
	return nil, false
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func (n *node) vars(seen map[string]int) {
	if n.op == 'v' {
		if _, ok := seen[n.name]; !ok {
			seen[n.name] = len(seen)
		}
	}
	for _, k := range n.kids {
		k.vars(seen)
	}
}

func (n *node) eval(env map[string]complex128) complex128 {
	switch n.op {
	case 'n':
		if n.c == 0 && n.num.Sign() != 0 {
			f, _ := n.num.Float64()
			n.c = complex(f, 0) // cached: trees are evaluated at several points
		}
		return n.c
	case 'c':
		return n.c
	case 'v':
		return env[n.name]
	case '~':
		// 0-x, not -x: keeps +0 imaginary parts, so \sqrt{-1} is i, not -i.
		return 0 - n.kids[0].eval(env)
	case '+':
		return n.kids[0].eval(env) + n.kids[1].eval(env)
	case '-':
		return n.kids[0].eval(env) - n.kids[1].eval(env)
	case '*':
		return n.kids[0].eval(env) * n.kids[1].eval(env)
	case '/':
		d := n.kids[1].eval(env)
		if d == 0 {
			return cmplx.NaN()
		}
		return n.kids[0].eval(env) / d
	case '^':
		x, y := n.kids[0].eval(env), n.kids[1].eval(env)
		if imag(y) == 0 && real(y) == math.Trunc(real(y)) && math.Abs(real(y)) <= 64 {
			return ipow(x, int(real(y)))
		}
		if x == 0 {
			return cmplx.NaN()
		}
		return cmplx.Pow(x, y)
	case '!':
		x := n.kids[0].eval(env)
		if imag(x) != 0 || real(x) < 0 {
			return cmplx.NaN()
		}
		return complex(math.Gamma(real(x)+1), 0)
	case 'f':
		x := n.kids[0].eval(env)
		if f, ok := funcs[n.name]; ok {
			return f(x)
		}
	}
	return cmplx.NaN()
}

// ipow is exact repeated multiplication, so (-2)^3 stays real.
func ipow(x complex128, e int) complex128 {
	if e < 0 {
		if x == 0 {
			return cmplx.NaN()
		}
		return 1 / ipow(x, -e)
	}
	r := complex(1, 0)
	for ; e > 0; e-- {
		r *= x
	}
	return r
}

var funcs = map[string]func(complex128) complex128{
	`\sqrt`: cmplx.Sqrt,
	`\sin`:  cmplx.Sin, `\cos`: cmplx.Cos, `\tan`: cmplx.Tan,
	`\cot`:    func(z complex128) complex128 { return 1 / cmplx.Tan(z) },
	`\sec`:    func(z complex128) complex128 { return 1 / cmplx.Cos(z) },
	`\csc`:    func(z complex128) complex128 { return 1 / cmplx.Sin(z) },
	`\arcsin`: cmplx.Asin, `\arccos`: cmplx.Acos, `\arctan`: cmplx.Atan,
	`\ln`: cmplx.Log, `\log`: cmplx.Log10, // \log without a base is base 10 in MATH `\exp`: cmplx.Exp,
}

// commands the parser knows, longest first so that "\sinx" (spaces were
// removed by Normalize) reads as \sin x.
var commands = []string{`\arcsin`, `\arccos`, `\arctan`, `\sqrt`, `\frac`, `\cdot`, `\times`, `\sin`, `\cos`, `\tan`, `\cot`, `\sec`, `\csc`, `\exp`, `\div`, `\pi`, `\ln`, `\log`}

var errSyntax = errors.New("not an expression")

// parseExpr parses a normalised answer. The grammar is the school algebra of
// final answers: + - * / ^, \cdot, \times, \div, implicit multiplication,
// \frac, \sqrt (with an optional [n] index), \pi, i, functions, single-letter
// variables (with subscripts), parentheses and braces.
func parseExpr(s string) (*node, error) {
	if len(s) > 512 {
		return nil, errSyntax
	}
	p := &parser{s: s}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, errSyntax
	}
	return n, nil
}

type parser struct {
	s     string
	i     int
	depth int
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) command() string {
	if p.peek() != '\\' {
		return ""
	}
	for _, c := range commands {
		if strings.HasPrefix(p.s[p.i:], c) {
			return c
		}
	}
	return ""
}

func (p *parser) expr() (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 64 {
		return nil, errSyntax
	}
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '+' && c != '-' {
			return n, nil
		}
		p.i++
		m, err := p.term()
		if err != nil {
			return nil, err
		}
		n = &node{op: c, kids: []*node{n, m}}
	}
}

func (p *parser) term() (*node, error) {
	n, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := byte(0)
		switch c := p.command(); {
		case p.peek() == '*':
			op = '*'
			p.i++
		case p.peek() == '/':
			op = '/'
			p.i++
		case c == `\cdot` || c == `\times`:
			op = '*'
			p.i += len(c)
		case c == `\div`:
			op = '/'
			p.i += len(c)
		case p.startsPrimary():
			op = '*' // implicit multiplication
		default:
			return n, nil
		}
		m, err := p.power()
		if err != nil {
			return nil, err
		}
		n = &node{op: op, kids: []*node{n, m}}
	}
}

func (p *parser) startsPrimary() bool {
	c := p.peek()
	switch {
	case isDigit(c), isLetter(c), c == '(', c == '{', c == '.':
		return true
	case c == '\\':
		cmd := p.command()
		return cmd != "" && cmd != `\cdot` && cmd != `\times` && cmd != `\div` || p.greek() != ""
	}
	return false
}

func (p *parser) unary() (*node, error) {
	switch p.peek() {
	case '-':
		p.i++
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &node{op: '~', kids: []*node{n}}, nil
	case '+':
		p.i++
		return p.unary()
	}
	return p.power()
}

func (p *parser) power() (*node, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peek() == '!' {
		p.i++
		n = &node{op: '!', kids: []*node{n}}
	}
	if p.peek() != '^' {
		return n, nil
	}
	p.i++
	var e *node
	switch c := p.peek(); {
	case c == '{':
		e, err = p.group('{', '}')
	case isDigit(c):
		// x^23 in LaTeX is x^2 3: one character.
		e = &node{op: 'n', num: new(big.Rat).SetInt64(int64(c - '0'))}
		p.i++
	case c == '-':
		p.i++
		e, err = p.primary()
		e = &node{op: '~', kids: []*node{e}}
	default:
		e, err = p.primary()
	}
	if err != nil || e == nil {
		return nil, errSyntax
	}
	return &node{op: '^', kids: []*node{n, e}}, nil
}

func (p *parser) group(open, close byte) (*node, error) {
	if p.peek() != open {
		return nil, errSyntax
	}
	p.i++
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek() != close {
		return nil, errSyntax
	}
	p.i++
	return n, nil
}

func (p *parser) primary() (*node, error) {
	c := p.peek()
	switch {
	case isDigit(c) || c == '.':
		j := p.i
		for j < len(p.s) && (isDigit(p.s[j]) || p.s[j] == '.') {
			j++
		}
		r, ok := parseDecimal(p.s[p.i:j])
		if !ok {
			return nil, errSyntax
		}
		p.i = j
		if p.peek() == '_' { // a base subscript such as 52_8: not arithmetic
			return nil, errSyntax
		}
		return &node{op: 'n', num: r}, nil
	case c == '(':
		return p.group('(', ')')
	case c == '{':
		return p.group('{', '}')
	case c == 'i' && !p.subscriptFollows():
		p.i++
		return &node{op: 'c', c: complex(0, 1)}, nil
	case isLetter(c):
		j := p.i + 1
		if j < len(p.s) && p.s[j] == '_' {
			j++
			if j < len(p.s) && p.s[j] == '{' {
				inner, ok := braced(p.s[j:])
				if !ok {
					return nil, errSyntax
				}
				j += len(inner) + 2
			} else if j < len(p.s) {
				j++
			}
		}
		n := &node{op: 'v', name: p.s[p.i:j]}
		p.i = j
		return n, nil
	case c == '\\':
		cmd := p.command()
		switch cmd {
		case `\pi`:
			p.i += len(cmd)
			return &node{op: 'c', c: complex(math.Pi, 0)}, nil
		case `\frac`:
			p.i += len(cmd)
			num, err := p.group('{', '}')
			if err != nil {
				return nil, err
			}
			den, err := p.group('{', '}')
			if err != nil {
				return nil, err
			}
			return &node{op: '/', kids: []*node{num, den}}, nil
		case `\sqrt`:
			p.i += len(cmd)
			var index *node
			if p.peek() == '[' {
				var err error
				if index, err = p.group('[', ']'); err != nil {
					return nil, err
				}
			}
			arg, err := p.group('{', '}')
			if err != nil {
				return nil, err
			}
			if index != nil {
				one := &node{op: 'n', num: big.NewRat(1, 1)}
				return &node{op: '^', kids: []*node{arg, {op: '/', kids: []*node{one, index}}}}, nil
			}
			return &node{op: 'f', name: cmd, kids: []*node{arg}}, nil
		case "", `\cdot`, `\times`, `\div`:
			if name := p.greek(); name != "" {
				p.i += len(name)
				return &node{op: 'v', name: name}, nil
			}
			return nil, errSyntax
		default: // a function: \sin x, \ln(2), \cos{\theta}
			p.i += len(cmd)
			if p.peek() == '^' { // \sin^2 x: leave to text comparison
				return nil, errSyntax
			}
			arg, err := p.power()
			if err != nil {
				return nil, err
			}
			return &node{op: 'f', name: cmd, kids: []*node{arg}}, nil
		}
	}
	return nil, errSyntax
}

// greekVars are the Greek letters read as variables (\pi is the constant).
var greekVars = []string{`\alpha`, `\beta`, `\gamma`, `\delta`, `\epsilon`, `\theta`, `\lambda`, `\mu`, `\phi`, `\psi`, `\omega`, `\sigma`, `\tau`, `\rho`}

func (p *parser) greek() string {
	for _, g := range greekVars {
		if strings.HasPrefix(p.s[p.i:], g) && (p.i+len(g) == len(p.s) || !isLetter(p.s[p.i+len(g)])) {
			return g
		}
	}
	return ""
}

func (p *parser) subscriptFollows() bool {
	return p.i+1 < len(p.s) && p.s[p.i+1] == '_'
}
