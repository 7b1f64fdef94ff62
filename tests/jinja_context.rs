//! The Jinja context dbt projects rely on, checked through
//! `kiln compile --inline`, which prints the rendered SQL.

mod common;

use common::Project;

fn project() -> Project {
    Project::with_files(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nvars:\n  region: eu\n  proj:\n    scoped: from_project\n",
        ),
        ("models/orders.sql", "select 1 as id\n"),
        ("models/stg_events.sql", "{{ config(materialized='ephemeral') }}\nselect 2 as id\n"),
        ("seeds/countries.csv", "code\nNL\n"),
        (
            "macros/helpers.sql",
            "{% macro double(x) %}{{ x * 2 }}{% endmacro %}\n\
             {% macro pick(items) %}{% for i in items %}{% if i > 1 %}{{ return(i) }}{% endif %}{% endfor %}{{ return(none) }}{% endmacro %}\n\
             {% macro wrap() %}[{{ caller() }}]{% endmacro %}\n\
             {% macro default__greet(name) %}hello {{ name }}{% endmacro %}\n\
             {% macro duckdb__greet(name) %}quack {{ name }}{% endmacro %}\n",
        ),
    ])
}

#[test]
fn ref_source_this_and_target() {
    let p = project();
    p.write("models/sources.yml", "version: 2\nsources:\n  - name: raw\n    schema: landing\n    tables:\n      - name: events\n        identifier: evt\n");
    assert_eq!(
        p.inline("{{ ref('orders') }}"),
        r#""memory"."main"."orders""#
    );
    assert_eq!(
        p.inline("{{ ref('proj', 'orders') }}"),
        r#""memory"."main"."orders""#
    );
    assert_eq!(
        p.inline("{{ ref('countries') }}"),
        r#""memory"."main"."countries""#
    );
    assert_eq!(
        p.inline("{{ source('raw', 'events') }}"),
        r#""memory"."landing"."evt""#
    );
    assert_eq!(
        p.inline("{{ ref('orders').identifier }}.{{ ref('orders').schema }}"),
        "orders.main"
    );
    assert_eq!(
        p.inline("{{ target.name }} {{ target.type }} {{ target.schema }}"),
        "dev duckdb main"
    );
    assert_eq!(
        p.inline("{{ ref('orders').include(database=false) }}"),
        r#""main"."orders""#
    );
}

/// dbt inlines ephemeral models as CTEs, also in inline queries.
#[test]
fn ephemeral_refs_become_ctes() {
    let p = project();
    assert_eq!(
        p.inline("select * from {{ ref('stg_events') }}"),
        // The config() call leaves its line empty, as in dbt.
        "with __dbt__cte__stg_events as (\n\nselect 2 as id\n) select * from __dbt__cte__stg_events"
    );
}

#[test]
fn vars_follow_dbt_precedence() {
    let p = project();
    assert_eq!(p.inline("{{ var('region') }}"), "eu");
    assert_eq!(p.inline("{{ var('scoped') }}"), "from_project");
    assert_eq!(p.inline("{{ var('missing', 'fallback') }}"), "fallback");
    let (code, out, _) = p.run(&[
        "compile",
        "--inline",
        "{{ var('region') }}",
        "--vars",
        "{region: us}",
    ]);
    assert_eq!((code, out.trim()), (0, "us"));
}

#[test]
fn env_var_with_and_without_default() {
    let p = project();
    let out = p
        .kiln(&[
            "compile",
            "--inline",
            "{{ env_var('KILN_TEST_X') }}-{{ env_var('KILN_UNSET', 'd') }}",
        ])
        .env("KILN_TEST_X", "abc")
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "abc-d");
    let (code, _, err) = p.run(&["compile", "--inline", "{{ env_var('KILN_SURELY_UNSET') }}"]);
    assert_eq!(code, 2);
    assert!(err.contains("KILN_SURELY_UNSET"), "{err}");
}

#[test]
fn macros_return_and_caller() {
    let p = project();
    assert_eq!(p.inline("{{ double(21) }}"), "42");
    assert_eq!(p.inline("{{ pick([1, 5, 9]) }}"), "5");
    assert_eq!(p.inline("{{ pick([1]) is none }}"), "True");
    assert_eq!(p.inline("{% call wrap() %}inside{% endcall %}"), "[inside]");
    assert_eq!(p.inline("{{ proj.double(2) }}"), "4");
}

/// adapter.dispatch prefers the adapter's implementation over default__.
#[test]
fn dispatch_follows_the_search_order() {
    let p = project();
    assert_eq!(
        p.inline("{{ adapter.dispatch('greet')('you') }}"),
        "quack you"
    );
    assert_eq!(
        p.inline("{{ adapter.dispatch('greet', 'proj')('you') }}"),
        "quack you"
    );
}

#[test]
fn python_style_methods_mutate_and_read() {
    let p = project();
    assert_eq!(
        p.inline("{% set x = [] %}{% do x.append(1) %}{% do x.extend([2, 3]) %}{% do x.insert(0, 0) %}{{ x }} {{ x.pop() }} {{ x }}"),
        "[0, 1, 2, 3] 3 [0, 1, 2]"
    );
    assert_eq!(
        p.inline("{% set d = {'a': 1} %}{% do d.update({'b': 2}) %}{{ d.setdefault('c', 3) }} {{ d.pop('a') }} {{ d.get('z', 'none') }} {{ d.keys() | list }} {{ d.values() | list }}"),
        "3 1 none ['b', 'c'] [2, 3]"
    );
    assert_eq!(
        p.inline("{{ 'a,b'.split(',') }} {{ '  x '.strip() }} {{ 'AbC'.lower() }} {{ 'abc'.upper() }} {{ 'x_y'.replace('_', '-') }} {{ 'abc'.startswith('a') }} {{ 'abc'.endswith('z') }} {{ '{}-{}'.format(1, 2) }} {{ ', '.join(['a', 'b']) }}"),
        "['a', 'b'] x abc ABC x-y True False 1-2 a, b"
    );
    // A list defined outside a loop keeps what the loop appends (Jinja2 scoping).
    assert_eq!(p.inline("{% set cols = [] %}{% for c in ['a', 'b'] %}{% do cols.append(c ~ '_x') %}{% endfor %}{{ cols | join(',') }}"), "a_x,b_x");
}

#[test]
fn loop_controls_namespace_and_whitespace() {
    let p = project();
    assert_eq!(p.inline("{% for i in [1, 2, 3, 4] %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}"), "13");
    assert_eq!(p.inline("{% set ns = namespace(total=0) %}{% for i in range(4) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}"), "6");
    assert_eq!(p.inline("a\n  {%- if true %}\nb\n{%- endif %}"), "a\nb");
}

#[test]
fn serialisation_helpers() {
    let p = project();
    assert_eq!(p.inline("{{ tojson({'a': [1, 2]}) }}"), r#"{"a": [1, 2]}"#);
    assert_eq!(p.inline("{{ fromjson('{\"x\": 3}').x }}"), "3");
    assert_eq!(p.inline("{{ fromyaml('a: [1, 2]').a[1] }}"), "2");
    assert_eq!(p.inline("{{ toyaml({'a': 1}) | trim }}"), "a: 1");
    assert_eq!(
        p.inline("{{ zip([1, 2], ['a', 'b']) | list }}"),
        "[(1, 'a'), (2, 'b')]"
    );
    assert_eq!(p.inline("{{ set([1, 1, 2]) | length }}"), "2");
    assert_eq!(
        p.inline("{{ local_md5('abc') }}"),
        "900150983cd24fb0d6963f7d28e17f72"
    );
}

#[test]
fn modules_and_run_context() {
    let p = project();
    assert_eq!(
        p.inline("{{ modules.datetime.date(2024, 1, 2) }}"),
        "2024-01-02"
    );
    assert_eq!(
        p.inline(
            "{{ modules.datetime.datetime.strptime('2024-03-05', '%Y-%m-%d').strftime('%d/%m') }}"
        ),
        "05/03"
    );
    assert_eq!(p.inline("{{ modules.re.sub('a+', 'b', 'caaat') }} {{ modules.re.match('x(\\\\d)', 'x7').group(1) }}"), "cbt 7");
    assert_eq!(
        p.inline("{{ modules.itertools.chain([1], [2]) | list }}"),
        "[1, 2]"
    );
    assert_eq!(
        p.inline("{{ invocation_id | length }} {{ project_name }} {{ execute }}"),
        "36 proj True"
    );
    assert_eq!(
        p.inline("{{ run_started_at.strftime('%Y') | length }}"),
        "4"
    );
}

#[test]
fn exceptions_and_logging() {
    let p = project();
    let (code, _, err) = p.run(&[
        "compile",
        "--inline",
        "{{ exceptions.raise_compiler_error('custom failure') }}",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("custom failure"), "{err}");
    let (code, out, err) = p.run(&[
        "compile",
        "--inline",
        "{% do exceptions.warn('careful') %}ok",
    ]);
    assert_eq!((code, out.trim()), (0, "ok"));
    assert!(err.contains("careful"), "{err}");
}

/// dbt's block tags are understood: `{% test %}` defines a generic test macro.
#[test]
fn test_and_materialization_blocks_define_macros() {
    let p = project();
    p.write("macros/tests.sql", "{% test is_even(model, column_name) %}select * from {{ model }} where {{ column_name }} % 2 = 1{% endtest %}\n");
    p.write("macros/mat.sql", "{% materialization noop, default %}{{ return({'relations': []}) }}{% endmaterialization %}\n");
    assert_eq!(
        p.inline("{{ test_is_even('t', 'c') }}"),
        "select * from t where c % 2 = 1"
    );
    p.ok(&["parse"]);
    let m = p.manifest();
    assert!(m["macros"]["macro.proj.materialization_noop_default"].is_object());
    assert!(m["macros"]["macro.proj.test_is_even"].is_object());
}

/// dbt refuses DBT_ENV_SECRET_ variables outside profiles.yml, so a secret
/// can never end up in compiled SQL or logs.
#[test]
fn secret_env_vars_stay_out_of_models() {
    let p = project();
    p.write(
        "models/leak.sql",
        "select '{{ env_var('DBT_ENV_SECRET_TOKEN') }}' as t\n",
    );
    let out = p
        .kiln(&["parse"])
        .env("DBT_ENV_SECRET_TOKEN", "hunter2")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("secret env var 'DBT_ENV_SECRET_TOKEN'"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the secret is never printed");
}

/// `graph` lists the project's nodes at execution time (empty while parsing, as in dbt).
#[test]
fn graph_lists_nodes_when_executing() {
    let p = project();
    assert_eq!(
        p.inline("{% for n in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') %}{{ n.name }} {% endfor %}"),
        "orders stg_events "
    );
    assert_eq!(p.inline("{{ flags.FULL_REFRESH }}"), "False");
}

/// The parts of dbt's context that packages and hooks read about the run.
#[test]
fn run_context_as_dbt_gives_it() {
    let p = common::run_project(&[
        (
            "dbt_project.yml",
            "name: proj\nprofile: proj\nconfig-version: 2\nvars:\n  greeting: \"{{ 'hel' ~ 'lo' }}\"\n",
        ),
        (
            "models/context.sql",
            "select '{{ selected_resources | join(\",\") }}' as selected, '{{ thread_id }}' as thread, \
             '{{ invocation_args_dict.which }}' as which, '{{ dbt_metadata_envs.get(\"TEAM\") }}' as team, \
             '{{ var(\"greeting\") }}' as greeting, '{{ config.meta_require(\"owner\") }}' as owner\n",
        ),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: context\n    config:\n      meta:\n        owner: data-team\n",
        ),
        ("models/other.sql", "select 1 as id\n"),
    ]);
    let out = p
        .kiln(&["run", "-s", "context"])
        .env("DBT_ENV_CUSTOM_ENV_TEAM", "analytics")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        p.query(
            "db.duckdb",
            "select selected, thread, which, team, greeting, owner from context"
        ),
        vec![vec![
            "model.proj.context".to_string(),
            "Thread-1".into(),
            "run".into(),
            "analytics".into(),
            "hello".into(),
            "data-team".into()
        ]]
    );
}

/// Macros take the arguments they do not name through `kwargs` and
/// `varargs`, as in Jinja2; zip_strict refuses lists of different lengths.
#[test]
fn macros_collect_extra_arguments() {
    let p = project();
    p.write(
        "macros/extra.sql",
        "{% macro outer(a, b=[]) %}{{ return(adapter.dispatch('inner')(a, b, **kwargs)) }}{% endmacro %}\n\
         {% macro default__inner(a, b) %}{{ return(a ~ ':' ~ kwargs.get('at_least', 'none') ~ ':' ~ (varargs | length)) }}{% endmacro %}\n\
         {% macro many(a) %}{{ varargs | join('-') }}{% endmacro %}\n",
    );
    assert_eq!(
        p.inline("{{ outer(1, at_least=0.5) }} {{ outer(a=2) }}"),
        "1:0.5:0 2:none:0"
    );
    assert_eq!(p.inline("{{ many(1, 2, 3) }}"), "2-3");
    assert_eq!(
        p.inline("{{ zip_strict([1, 2], ['a', 'b']) | list }}"),
        "[(1, 'a'), (2, 'b')]"
    );
    let (code, _, err) = p.run(&["compile", "--inline", "{{ zip_strict([1], [1, 2]) }}"]);
    assert_eq!(code, 2);
    assert!(err.contains("different lengths"), "{err}");
}

/// Jinja2 lets a macro argument's default read the arguments before it
/// (`{% macro generate_source(schema_name, name=schema_name) %}` in codegen).
#[test]
fn macro_defaults_may_read_earlier_arguments() {
    let p = project();
    p.write(
        "macros/defaults.sql",
        "{% macro choose(schema_name, name=schema_name, other='x') -%}\n[{{ name }}|{{ other }}]\n{%- endmacro %}\n\
         {% macro shout(a, b=a ~ '!') %}<{{ b }}>{% endmacro %}\n",
    );
    assert_eq!(
        p.inline("{{ choose('s1') }} {{ choose('s1', name='n') }} {{ choose('s1', 'n2', other='o') }} {{ shout('q') }} {{ shout('q', none) }}"),
        "[s1|x] [n|x] [n2|o] <q!> <None>"
    );
}

/// `{% call(args) %}`: the macro calls caller() with arguments, as in Jinja2.
#[test]
fn call_blocks_whose_caller_takes_arguments() {
    let p = project();
    p.write(
        "macros/each_user.sql",
        "{% macro each_user(users) -%}\n{% for u in users %}[{{ caller(u, loop.index) }}]{% endfor %}\n{%- endmacro %}\n",
    );
    assert_eq!(
        p.inline(
            "{% call(name, i) each_user(['ann', 'bob']) %}{{ i }}:{{ name | upper }}{% endcall %}"
        ),
        "[1:ANN][2:BOB]"
    );
}
