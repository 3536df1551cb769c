package trend

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// maxBaselineDays bounds baseline(): each day is one more storage query per
// round, and retention is 30 days by default.
const maxBaselineDays = 28

// env is what an expression sees besides the functions.
type env struct {
	Window *Window           `expr:"window"`
	Now    time.Time         `expr:"now"`
	Labels map[string]string `expr:"labels"`
}

// Compiled is a rule whose selector and expression have been checked and
// compiled. It is immutable and safe for concurrent use by several
// Evaluate and Backtest calls.
type Compiled struct {
	rule     Rule
	matchers []*labels.Matcher
	program  *vm.Program
	// baselineDays is the largest days argument of baseline() in the
	// expression: how many previous days Evaluate reads besides the window.
	baselineDays int
	// usesLabels is whether the expression reads labels: building the map
	// for every series is skipped otherwise.
	usesLabels bool
}

// Rule returns the rule as it was compiled.
func (c *Compiled) Rule() Rule { return c.rule }

// Compile checks and compiles a rule. The selector is parsed with p, or with
// a default parser when p is nil. Type errors, unknown functions or
// variables, and string results that are not states are rejected here, so a
// bad rule fails when it is saved, not at evaluation.
func Compile(r Rule, p parser.Parser) (*Compiled, error) {
	if r.Window <= 0 {
		return nil, fmt.Errorf("rule %q: window must be positive, got %s", r.Name, r.Window)
	}
	if r.Interval < 0 {
		return nil, fmt.Errorf("rule %q: interval must not be negative, got %s", r.Name, r.Interval)
	}
	if p == nil {
		p = parser.NewParser(parser.Options{})
	}
	ms, err := p.ParseMetricSelector(r.Selector)
	if err != nil {
		return nil, fmt.Errorf("rule %q: selector: %w", r.Name, err)
	}
	program, err := compileExpr(r.Expr)
	if err != nil {
		return nil, fmt.Errorf("rule %q: expression: %w", r.Name, err)
	}
	c := &Compiled{rule: r, matchers: ms, program: program}
	root := program.Node()
	if c.baselineDays, err = baselineDays(root); err != nil {
		return nil, fmt.Errorf("rule %q: expression: %w", r.Name, err)
	}
	ast.Find(root, func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		c.usesLabels = c.usesLabels || ok && id.Value == "labels"
		return false
	})
	if err := checkConstants(root); err != nil {
		return nil, fmt.Errorf("rule %q: expression: %w", r.Name, err)
	}
	if err := checkStates(root); err != nil {
		return nil, fmt.Errorf("rule %q: expression: %w", r.Name, err)
	}
	return c, nil
}

// compileExpr compiles the expression against the typed environment.
func compileExpr(src string) (prog *vm.Program, err error) {
	if src == "" {
		return nil, errors.New("empty expression")
	}
	// expr's compiler is not fuzzed by us; a panic in it must not take the
	// server down when a user saves a rule.
	defer func() {
		if p := recover(); p != nil {
			prog, err = nil, fmt.Errorf("compile: %v", p)
		}
	}()
	opts := []expr.Option{
		expr.Env(env{}),
		expr.AsKind(reflect.String),
		expr.Patch(patcher{}),
		// Expressions are short; this bounds what a pasted monster costs.
		expr.MaxNodes(2000),
	}
	opts = append(opts, functions()...)
	return expr.Compile(src, opts...)
}

// patcher rewrites the tree before type checking:
//   - baseline(days) becomes baseline(window, days);
//   - a numeric a / b becomes _div(a, b), which fails on a zero divisor
//     instead of yielding ±Inf or NaN, so the series becomes unknown with a
//     clear error.
type patcher struct{}

var durationType = reflect.TypeOf(time.Duration(0))

func (patcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "baseline" && len(n.Arguments) == 1 {
			// A new node: the checker has already typed this one as the
			// one-argument form.
			ast.Patch(node, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: "baseline"},
				Arguments: []ast.Node{&ast.IdentifierNode{Value: "window"}, n.Arguments[0]},
			})
		}
	case *ast.BinaryNode:
		if n.Operator != "/" || !numeric(n.Left) || !numeric(n.Right) {
			return
		}
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: "_div"},
			Arguments: []ast.Node{n.Left, n.Right},
		})
	}
}

func numeric(n ast.Node) bool {
	t := n.Type()
	if t == nil || t == durationType {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// baselineDays finds the baseline() calls and returns their largest days
// argument, which must be an integer constant: the engine has to know how
// much history to read before running the expression.
func baselineDays(root ast.Node) (int, error) {
	v := &baselineVisitor{}
	ast.Walk(&root, v)
	return v.days, v.err
}

type baselineVisitor struct {
	days int
	err  error
}

func (v *baselineVisitor) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok || v.err != nil {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || id.Value != "baseline" {
		return
	}
	if len(call.Arguments) != 2 {
		v.err = errors.New("baseline takes (days) or (window, days)")
		return
	}
	if w, ok := call.Arguments[0].(*ast.IdentifierNode); !ok || w.Value != "window" {
		v.err = errors.New("baseline: the first argument must be window")
		return
	}
	d, ok := call.Arguments[1].(*ast.IntegerNode)
	if !ok {
		v.err = errors.New("baseline: days must be an integer constant")
		return
	}
	if d.Value < 1 || d.Value > maxBaselineDays {
		v.err = fmt.Errorf("baseline: days must be between 1 and %d, got %d", maxBaselineDays, d.Value)
		return
	}
	v.days = max(v.days, d.Value)
}

// checkStates checks the string constants the expression can yield (a
// literal, or the branches of conditionals) at compile time. Other results
// are checked at run time.
func checkStates(n ast.Node) error {
	switch n := n.(type) {
	case *ast.StringNode:
		if !ValidState(n.Value) {
			return fmt.Errorf("%q is not a state (want ok, minor, major, critical or unknown)", n.Value)
		}
	case *ast.ConditionalNode:
		if err := checkStates(n.Exp1); err != nil {
			return err
		}
		return checkStates(n.Exp2)
	}
	return nil
}

// checkConstants rejects constant arguments that would fail on every
// series: quantile's q outside [0, 1], holt's factors outside (0, 1).
func checkConstants(root ast.Node) error {
	var err error
	ast.Find(root, func(n ast.Node) bool {
		call, ok := n.(*ast.CallNode)
		if !ok || err != nil {
			return false
		}
		id, ok := call.Callee.(*ast.IdentifierNode)
		if !ok {
			return false
		}
		switch {
		case id.Value == "quantile" && len(call.Arguments) == 2:
			if q, ok := constant(call.Arguments[1]); ok && !(q >= 0 && q <= 1) {
				err = fmt.Errorf("quantile: q must be in [0, 1], got %g", q)
			}
		case id.Value == "holt" && len(call.Arguments) == 4:
			for _, a := range call.Arguments[1:3] {
				if f, ok := constant(a); ok && !(f > 0 && f < 1) {
					err = fmt.Errorf("holt: smoothing and trend factors must be in (0, 1), got %g", f)
				}
			}
		}
		return false
	})
	return err
}

func constant(n ast.Node) (float64, bool) {
	switch n := n.(type) {
	case *ast.FloatNode:
		return n.Value, true
	case *ast.IntegerNode:
		return float64(n.Value), true
	}
	return 0, false
}
