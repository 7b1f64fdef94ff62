//! A walk over a parsed template (minijinja's AST): every statement and
//! expression, for the passes that read templates before they run (which
//! macros a macro calls, which `+` and `-` may involve dates).

use minijinja::machinery::ast;

/// What a pass does at each expression and call; returning false skips
/// the node's children (the pass walked them itself, or needs not).
pub trait Visitor {
    fn expr(&mut self, _e: &ast::Expr<'_>) -> bool {
        true
    }

    fn call(&mut self, _c: &ast::Call<'_>) -> bool {
        true
    }

    /// A `{% macro %}` definition, before its defaults and body are walked.
    fn macro_def(&mut self, _m: &ast::Macro<'_>) {}
}

pub fn walk_stmts(stmts: &[ast::Stmt<'_>], v: &mut dyn Visitor) {
    for s in stmts {
        walk_stmt(s, v);
    }
}

pub fn walk_stmt(stmt: &ast::Stmt<'_>, v: &mut dyn Visitor) {
    use ast::Stmt::*;
    match stmt {
        Template(t) => walk_stmts(&t.children, v),
        EmitExpr(e) => walk_expr(&e.expr, v),
        ForLoop(f) => {
            walk_expr(&f.target, v);
            walk_expr(&f.iter, v);
            if let Some(c) = &f.filter_expr {
                walk_expr(c, v);
            }
            walk_stmts(&f.body, v);
            walk_stmts(&f.else_body, v);
        }
        IfCond(i) => {
            walk_expr(&i.expr, v);
            walk_stmts(&i.true_body, v);
            walk_stmts(&i.false_body, v);
        }
        WithBlock(w) => {
            for (target, e) in &w.assignments {
                walk_expr(target, v);
                walk_expr(e, v);
            }
            walk_stmts(&w.body, v);
        }
        Set(s) => {
            walk_expr(&s.target, v);
            walk_expr(&s.expr, v);
        }
        SetBlock(s) => {
            walk_expr(&s.target, v);
            if let Some(f) = &s.filter {
                walk_expr(f, v);
            }
            walk_stmts(&s.body, v);
        }
        AutoEscape(a) => walk_stmts(&a.body, v),
        FilterBlock(f) => {
            walk_expr(&f.filter, v);
            walk_stmts(&f.body, v);
        }
        Block(b) => walk_stmts(&b.body, v),
        Macro(m) => {
            v.macro_def(m);
            for d in &m.defaults {
                walk_expr(d, v);
            }
            walk_stmts(&m.body, v);
        }
        CallBlock(c) => {
            walk_call(&c.call, v);
            for d in &c.macro_decl.defaults {
                walk_expr(d, v);
            }
            walk_stmts(&c.macro_decl.body, v);
        }
        Do(d) => walk_call(&d.call, v),
        _ => {}
    }
}

pub fn walk_call(c: &ast::Call<'_>, v: &mut dyn Visitor) {
    if !v.call(c) {
        return;
    }
    walk_expr(&c.expr, v);
    walk_args(&c.args, v);
}

pub fn walk_args(args: &[ast::CallArg<'_>], v: &mut dyn Visitor) {
    for a in args {
        match a {
            ast::CallArg::Pos(e)
            | ast::CallArg::PosSplat(e)
            | ast::CallArg::KwargSplat(e)
            | ast::CallArg::Kwarg(_, e) => walk_expr(e, v),
        }
    }
}

pub fn walk_expr(e: &ast::Expr<'_>, v: &mut dyn Visitor) {
    use ast::Expr::*;
    if !v.expr(e) {
        return;
    }
    let opt = |x: &Option<ast::Expr<'_>>, v: &mut dyn Visitor| {
        if let Some(x) = x {
            walk_expr(x, v);
        }
    };
    match e {
        Call(c) => walk_call(c, v),
        Slice(s) => {
            walk_expr(&s.expr, v);
            opt(&s.start, v);
            opt(&s.stop, v);
            opt(&s.step, v);
        }
        UnaryOp(u) => walk_expr(&u.expr, v),
        BinOp(b) => {
            walk_expr(&b.left, v);
            walk_expr(&b.right, v);
        }
        Compare(c) => {
            walk_expr(&c.expr, v);
            for op in &c.ops {
                walk_expr(&op.expr, v);
            }
        }
        IfExpr(i) => {
            walk_expr(&i.test_expr, v);
            walk_expr(&i.true_expr, v);
            opt(&i.false_expr, v);
        }
        Filter(f) => {
            opt(&f.expr, v);
            walk_args(&f.args, v);
        }
        Test(t) => {
            walk_expr(&t.expr, v);
            walk_args(&t.args, v);
        }
        GetAttr(g) => walk_expr(&g.expr, v),
        GetItem(g) => {
            walk_expr(&g.expr, v);
            walk_expr(&g.subscript_expr, v);
        }
        List(l) => l.items.iter().for_each(|x| walk_expr(x, v)),
        Tuple(t) => t.items.iter().for_each(|x| walk_expr(x, v)),
        Map(m) => {
            m.keys.iter().for_each(|x| walk_expr(x, v));
            m.values.iter().for_each(|x| walk_expr(x, v));
        }
        Var(_) | Const(_) => {}
    }
}
