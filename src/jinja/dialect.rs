//! dbt's Jinja dialect on top of minijinja, by rewriting template source
//! token by token before minijinja compiles it. Line numbers never change, so
//! errors still point at the user's line.
//!
//! - `{% test name(args) %}` … `{% endtest %}` becomes the macro `test_name`;
//! - `{% materialization name, adapter='duckdb' %}` becomes the macro
//!   `materialization_name_duckdb` (`default` when no adapter is named);
//! - list and dict literals become calls that build mutable values, so that
//!   `{% do cols.append(c) %}` works as in Jinja2.

use minijinja::machinery::{tokenize, Token};
use minijinja::syntax::SyntaxConfig;

/// Function names the rewritten literals call (registered on the environment).
pub const LIST_FN: &str = "__kiln_list";
pub const DICT_FN: &str = "__kiln_dict";

/// Source rewritten for minijinja. When the source does not tokenize, it is
/// returned unchanged so that minijinja reports the syntax error itself.
pub fn rewrite(source: &str) -> String {
    let rewritten = if needs_rewrite(source) {
        rewrite_tokens(source)
    } else {
        source.to_string()
    };
    let arithmetic = may_do_date_arithmetic(&rewritten);
    let percent = rewritten.contains("' %") || rewritten.contains("\" %");
    if arithmetic || percent || rewritten.contains("macro") {
        rewrite_ast(&rewritten, arithmetic, percent)
    } else {
        rewritten
    }
}

/// The function `a + b` and `a - b` become in templates that work with
/// dates (registered on the environment).
pub const ARITH_FN: &str = "__kiln_arith";

/// Stands for "not given" in a macro argument whose default is computed
/// from the arguments before it (see [`rewrite_ast`]).
const NOT_GIVEN: &str = "__kiln_not_given__";

/// Python adds and subtracts datetimes and timedeltas; minijinja has no
/// operators for such objects. Templates that mention dates are few, so
/// only they pay for the rewrite.
fn may_do_date_arithmetic(source: &str) -> bool {
    [
        "datetime",
        "timedelta",
        "run_started_at",
        ".days",
        "pytz",
        "strptime",
    ]
    .iter()
    .any(|w| source.contains(w))
}

/// Rewrites that need the parsed template (spans from minijinja's parser
/// say where each part is; a source that does not parse is left for
/// minijinja to report):
/// - with `arithmetic`, every `a + b` / `a - b` becomes
///   `__kiln_arith('+', a, b)`, which does Python's date arithmetic or
///   Jinja's own;
/// - with `percent`, `'fmt' % args` on a string literal becomes
///   `__kiln_arith('%', 'fmt', args)`: Python's `%` formatting;
/// - a macro argument whose default reads an earlier argument
///   (`{% macro f(schema, name=schema) %}`, as Jinja2 allows and packages
///   use) gets a placeholder default, and the macro body starts by setting
///   it from the real default when it was not given.
fn rewrite_ast(source: &str, arithmetic: bool, percent: bool) -> String {
    use crate::jinja::ast_walk::{walk_expr, walk_stmt, Visitor};
    use minijinja::machinery::ast;
    struct Finder<'s> {
        source: &'s str,
        arithmetic: bool,
        percent: bool,
        edits: Vec<(usize, usize, String)>,
    }
    #[derive(Default)]
    struct Names(Vec<String>);
    impl Visitor for Names {
        fn expr(&mut self, e: &ast::Expr<'_>) -> bool {
            if let ast::Expr::Var(v) = e {
                self.0.push(v.id.to_string());
            }
            true
        }
    }
    fn span_text(src: &str, e: &ast::Expr<'_>) -> String {
        let s = e.span();
        src.get(s.start_offset as usize..s.end_offset as usize)
            .unwrap_or_default()
            .to_string()
    }
    impl Visitor for Finder<'_> {
        fn expr(&mut self, e: &ast::Expr<'_>) -> bool {
            let ast::Expr::BinOp(b) = e else { return true };
            // `'%s_%s' % (a, b)`: Python's string formatting.
            let formats = matches!(&b.left, ast::Expr::Const(c) if c.value.kind() == minijinja::value::ValueKind::String);
            let op = match b.op {
                ast::BinOpKind::Add if self.arithmetic => '+',
                ast::BinOpKind::Sub if self.arithmetic => '-',
                ast::BinOpKind::Rem if self.percent && formats => '%',
                _ => return true,
            };
            let whole = e.span();
            let (between_start, between_end) = (
                b.left.span().end_offset as usize,
                b.right.span().start_offset as usize,
            );
            // Between the operands: their parentheses, spaces and the operator.
            let Some(at) = self
                .source
                .get(between_start..between_end)
                .and_then(|t| t.find(op))
                .map(|i| between_start + i)
            else {
                return true;
            };
            let start = whole.start_offset as usize;
            self.edits
                .push((start, start, format!("{ARITH_FN}('{op}', ")));
            self.edits.push((at, at + 1, ",".into()));
            let end = whole.end_offset as usize;
            self.edits.push((end, end, ")".into()));
            true
        }

        fn macro_def(&mut self, m: &ast::Macro<'_>) {
            let names: Vec<&str> = m
                .args
                .iter()
                .map(|a| match a {
                    ast::Expr::Var(v) => v.id,
                    _ => "",
                })
                .collect();
            let first_default = names.len().saturating_sub(m.defaults.len());
            let mut inits = String::new();
            let mut after_signature = 0;
            for (j, d) in m.defaults.iter().enumerate() {
                after_signature = after_signature.max(d.span().end_offset as usize);
                let name = names.get(first_default + j).copied().unwrap_or_default();
                let mut read = Names::default();
                walk_expr(d, &mut read);
                let earlier = names.get(..first_default + j).unwrap_or(&[]);
                if name.is_empty() || !read.0.iter().any(|v| earlier.contains(&v.as_str())) {
                    continue;
                }
                let s = d.span();
                let text = span_text(self.source, d);
                self.edits.push((
                    s.start_offset as usize,
                    s.end_offset as usize,
                    format!("'{NOT_GIVEN}'"),
                ));
                inits.push_str(&format!(
                    "{{% if {name} == '{NOT_GIVEN}' %}}{{% set {name} = {text} %}}{{% endif %}}"
                ));
            }
            if inits.is_empty() {
                return;
            }
            // Right after the tag; a `-%}` that trims what follows keeps doing so.
            let Some(close) = self.source[after_signature..]
                .find("%}")
                .map(|i| after_signature + i)
            else {
                return;
            };
            if self.source[..close].ends_with('-') {
                inits.truncate(inits.len() - 2);
                inits.push_str("-%}");
            }
            self.edits.push((close + 2, close + 2, inits));
        }
    }
    let Ok(tree) = minijinja::machinery::parse(source, "<template>", SyntaxConfig::default())
    else {
        return source.to_string();
    };
    let mut finder = Finder {
        source,
        arithmetic,
        percent,
        edits: Vec::new(),
    };
    walk_stmt(&tree, &mut finder);
    apply_edits(source, finder.edits)
}

fn rewrite_tokens(source: &str) -> String {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut prev: Option<Token> = None;
    let mut after_block_start = false;
    // For each open bracket: is it a literal we wrapped?
    let mut brackets: Vec<bool> = Vec::new();
    let mut tokens = tokenize(source, false, SyntaxConfig::default()).peekable();
    while let Some(item) = tokens.next() {
        let Ok((token, span)) = item else {
            return source.to_string();
        };
        let start = span.start_offset as usize;
        let end = span.end_offset as usize;
        match &token {
            Token::Ident(word) if after_block_start => match *word {
                "test" => {
                    edits.push((start, end, "macro".into()));
                    if let Some(Ok((Token::Ident(name), s))) = tokens.next() {
                        edits.push((
                            s.start_offset as usize,
                            s.end_offset as usize,
                            format!("test_{name}"),
                        ));
                    }
                }
                "endtest" | "endmaterialization" => edits.push((start, end, "endmacro".into())),
                "materialization" => {
                    // Collect the rest of the tag: name, then `default` or adapter='x'.
                    let mut name = String::new();
                    let mut adapter = "default".to_string();
                    let mut tag_end = end;
                    let mut last_ident = String::new();
                    for next in tokens.by_ref() {
                        let Ok((t, s)) = next else {
                            return source.to_string();
                        };
                        match t {
                            Token::BlockEnd => break,
                            Token::Ident(id) if name.is_empty() => name = id.to_string(),
                            Token::Ident(id) => last_ident = id.to_string(),
                            Token::Str(v) if last_ident == "adapter" => adapter = v.to_string(),
                            Token::String(v) if last_ident == "adapter" => adapter = v.to_string(),
                            _ => {}
                        }
                        tag_end = s.end_offset as usize;
                    }
                    edits.push((
                        start,
                        tag_end,
                        format!("macro materialization_{name}_{adapter}() "),
                    ));
                    prev = Some(Token::BlockEnd);
                    after_block_start = false;
                    continue;
                }
                _ => {}
            },
            Token::BracketOpen => {
                let literal = !is_subscript_context(prev.as_ref());
                if literal {
                    edits.push((start, start, format!("{LIST_FN}(")));
                }
                brackets.push(literal);
            }
            Token::BraceOpen => {
                edits.push((start, start, format!("{DICT_FN}(")));
                brackets.push(true);
            }
            Token::ParenOpen => brackets.push(false),
            Token::BracketClose | Token::BraceClose | Token::ParenClose
                if brackets.pop() == Some(true) =>
            {
                edits.push((end, end, ")".into()));
            }
            _ => {}
        }
        after_block_start = matches!(token, Token::BlockStart);
        prev = Some(token);
    }
    apply_edits(source, edits)
}

/// `source` with each (start, end, text) edit applied: the bytes from start
/// to end replaced by text. Edits at one place apply in the order given.
fn apply_edits(source: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    if edits.is_empty() {
        return source.to_string();
    }
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = String::with_capacity(source.len() + edits.len() * 12);
    let mut pos = 0;
    for (start, end, text) in edits {
        if start < pos {
            continue;
        }
        out.push_str(&source[pos..start]);
        out.push_str(&text);
        pos = end;
    }
    out.push_str(&source[pos..]);
    out
}

/// Whether `source` may hold something [`rewrite`] changes: a `[` or a `{`
/// that opens no tag, or a block tag starting with `test` or
/// `materialization`. Most model files hold none, and this scan is much
/// cheaper than tokenizing them.
fn needs_rewrite(source: &str) -> bool {
    if !source.contains("{%") && !source.contains("{{") {
        return false;
    }
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => return true,
            b'{' => match bytes.get(i + 1) {
                Some(b'{') | Some(b'#') => i += 1,
                Some(b'%') => {
                    let tag = source[i + 2..].trim_start_matches(['-', '+']).trim_start();
                    if ["test", "endtest", "materialization", "endmaterialization"]
                        .iter()
                        .any(|w| tag.starts_with(w))
                    {
                        return true;
                    }
                    i += 1;
                }
                _ => return true,
            },
            _ => {}
        }
        i += 1;
    }
    false
}

/// After these tokens a `[` indexes a value (`x[0]`, `f()[1]`); elsewhere it
/// starts a list literal.
fn is_subscript_context(prev: Option<&Token>) -> bool {
    match prev {
        Some(Token::Ident(word)) => !matches!(
            *word,
            "in" | "not"
                | "and"
                | "or"
                | "if"
                | "else"
                | "elif"
                | "is"
                | "do"
                | "return"
                | "with"
                | "set"
        ),
        Some(Token::Str(_))
        | Some(Token::String(_))
        | Some(Token::ParenClose)
        | Some(Token::BracketClose)
        | Some(Token::BraceClose) => true,
        _ => false,
    }
}

/// A `{% name args %}body{% endname %}` block found in a file (snapshot, docs).
#[derive(Debug, Clone)]
pub struct Block {
    pub name: String,
    pub body: String,
    /// Byte offset of the body in the file.
    pub body_offset: usize,
    /// Byte offset of the opening tag.
    pub tag_offset: usize,
}

/// Finds the `{% kind name %}…{% endkind %}` blocks of a file. Blocks are
/// matched textually (docs blocks hold Markdown, not Jinja).
pub fn find_blocks(source: &str, kind: &str) -> Result<Vec<Block>, (usize, String)> {
    let open = regex_for(&format!(
        r"\{{%-?\s*{kind}\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}}"
    ));
    let close = regex_for(&format!(r"\{{%-?\s*end{kind}\s*-?%\}}"));
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(m) = open.captures_at(source, pos) {
        let whole = m.get(0).map(|g| (g.start(), g.end())).unwrap_or((0, 0));
        let name = m.get(1).map(|g| g.as_str().to_string()).unwrap_or_default();
        let Some(end) = close.find_at(source, whole.1) else {
            return Err((
                whole.0,
                format!("`{{% {kind} {name} %}}` is never closed with `{{% end{kind} %}}`"),
            ));
        };
        out.push(Block {
            name,
            body: source[whole.1..end.start()].to_string(),
            body_offset: whole.1,
            tag_offset: whole.0,
        });
        pos = end.end();
    }
    Ok(out)
}

fn regex_for(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap_or_else(|e| unreachable!("built-in pattern {pattern}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_scan_never_skips_a_rewrite() {
        let samples = [
            "select * from {{ ref('a') }} where x = {{ var('y', 1) }}",
            "{% if x %}{{ y }}{% endif %} {# comment #}",
            "{% set l = ['a'] %}",
            "{{ f({'a': 1}) }}",
            "{%- test t(model) -%}select 1{%- endtest -%}",
            "{%+ materialization m, default %}{% endmaterialization %}",
            "{{{ x }}}",
            "select [1, 2] as arr",
        ];
        let builtins = crate::templates::builtin_macros();
        for src in samples
            .iter()
            .copied()
            .chain(builtins.iter().map(|(_, c)| *c))
        {
            if !needs_rewrite(src) {
                assert_eq!(
                    rewrite_tokens(src),
                    src,
                    "quick scan skipped a rewrite of {src}"
                );
            }
        }
        assert!(!needs_rewrite(samples[0]));
        assert!(!needs_rewrite(samples[1]));
        assert!(samples[2..7].iter().all(|s| needs_rewrite(s)));
        assert!(!needs_rewrite(samples[7]), "plain SQL is never rewritten");
    }

    #[test]
    fn test_blocks_become_macros() {
        let src = "{% test is_even(model, column_name) %}\nselect 1\n{% endtest %}";
        let out = rewrite(src);
        assert!(
            out.starts_with("{% macro test_is_even(model, column_name) %}"),
            "{out}"
        );
        assert!(out.ends_with("{% endmacro %}"), "{out}");
        assert_eq!(out.lines().count(), src.lines().count());
    }

    #[test]
    fn materializations_become_macros() {
        let out =
            rewrite("{%- materialization my_view, adapter='duckdb' -%}x{%- endmaterialization -%}");
        assert!(
            out.contains("macro materialization_my_view_duckdb() "),
            "{out}"
        );
        let out = rewrite("{% materialization thing, default %}x{% endmaterialization %}");
        assert!(
            out.contains("macro materialization_thing_default()"),
            "{out}"
        );
    }

    #[test]
    fn literals_are_wrapped_subscripts_are_not() {
        let out = rewrite("{% set x = [] %}{% set d = {'a': [1]} %}{{ x[0] }}{{ d['a'][0] }}{% for i in [1, 2] %}{% endfor %}");
        assert_eq!(
            out,
            "{% set x = __kiln_list([]) %}{% set d = __kiln_dict({'a': __kiln_list([1])}) %}{{ x[0] }}{{ d['a'][0] }}{% for i in __kiln_list([1, 2]) %}{% endfor %}"
        );
    }

    #[test]
    fn plain_sql_is_untouched() {
        let src = "select a[1], {'x': 1} from t where {{ ref('x') }}";
        assert_eq!(rewrite(src), src);
    }

    #[test]
    fn finds_docs_blocks() {
        let blocks = find_blocks(
            "{% docs orders %}\nOne row per order.\n{% enddocs %}",
            "docs",
        )
        .unwrap();
        assert_eq!(blocks[0].name, "orders");
        assert_eq!(blocks[0].body.trim(), "One row per order.");
        assert!(find_blocks("{% docs x %} never closed", "docs").is_err());
    }
}
