package classify

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// concatName is the global that every `a .. b` of a classifier is rewritten
// to call. gopher-lua concatenates inside one VM instruction, with no hook, so
// `s = s..s..s..s` could allocate gigabytes between two checks of the memory
// watchdog; the Go function behind this name refuses results over MaxString.
// A classifier may not use the name itself.
const concatName = "__prophasis_concat"

// rewriteChunk replaces every string concatenation in chunk by a call to
// concatName, and rejects any use of that name by the user (returning the
// line).
func rewriteChunk(chunk []ast.Stmt) (int, error) {
	w := rewriter{}
	w.stmts(chunk)
	return w.line, w.err
}

type rewriter struct {
	err  error
	line int
}

func (w *rewriter) name(n string, line int) {
	if n == concatName && w.err == nil {
		w.err, w.line = fmt.Errorf("the name %s is reserved", concatName), line
	}
}

func (w *rewriter) stmts(list []ast.Stmt) {
	for _, s := range list {
		w.stmt(s)
	}
}

func (w *rewriter) exprs(list []ast.Expr) {
	for i := range list {
		list[i] = w.expr(list[i])
	}
}

func (w *rewriter) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		w.exprs(s.Lhs)
		w.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		for _, n := range s.Names {
			w.name(n, s.Line())
		}
		w.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = w.expr(s.Expr)
	case *ast.DoBlockStmt:
		w.stmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *ast.RepeatStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *ast.IfStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Then)
		w.stmts(s.Else)
	case *ast.NumberForStmt:
		w.name(s.Name, s.Line())
		s.Init = w.expr(s.Init)
		s.Limit = w.expr(s.Limit)
		s.Step = w.expr(s.Step)
		w.stmts(s.Stmts)
	case *ast.GenericForStmt:
		for _, n := range s.Names {
			w.name(n, s.Line())
		}
		w.exprs(s.Exprs)
		w.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			s.Name.Func = w.expr(s.Name.Func)
			s.Name.Receiver = w.expr(s.Name.Receiver)
			w.name(s.Name.Method, s.Line())
		}
		w.function(s.Func)
	case *ast.ReturnStmt:
		w.exprs(s.Exprs)
	}
}

func (w *rewriter) function(f *ast.FunctionExpr) {
	if f == nil {
		return
	}
	if f.ParList != nil {
		for _, n := range f.ParList.Names {
			w.name(n, f.Line())
		}
	}
	w.stmts(f.Stmts)
}

func (w *rewriter) expr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *ast.IdentExpr:
		w.name(e.Value, e.Line())
	case *ast.AttrGetExpr:
		e.Object = w.expr(e.Object)
		e.Key = w.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			f.Key = w.expr(f.Key)
			f.Value = w.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		e.Func = w.expr(e.Func)
		e.Receiver = w.expr(e.Receiver)
		w.exprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs = w.expr(e.Lhs)
		e.Rhs = w.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs = w.expr(e.Lhs)
		e.Rhs = w.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs = w.expr(e.Lhs)
		e.Rhs = w.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = w.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = w.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = w.expr(e.Expr)
	case *ast.FunctionExpr:
		w.function(e)
	case *ast.StringConcatOpExpr:
		fn := &ast.IdentExpr{Value: concatName}
		fn.SetLine(e.Line())
		fn.SetLastLine(e.LastLine())
		call := &ast.FuncCallExpr{Func: fn, Args: []ast.Expr{w.expr(e.Lhs), w.expr(e.Rhs)}, AdjustRet: true}
		call.SetLine(e.Line())
		call.SetLastLine(e.LastLine())
		return call
	}
	return e
}
