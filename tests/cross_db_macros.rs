//! dbt's built-in macro library (dbt.dateadd, dbt.type_string, ...): each
//! macro is called through its three doors (`dbt.name`, `name`,
//! `adapter.dispatch('name', 'dbt')`) in a model that DuckDB then runs, and
//! the rows are checked. Projects may override them, as dbt's dispatch
//! search order allows.

mod common;

use common::run_project;

/// One model exercising every cross-database macro; each column's value is known.
const EVERY_MACRO: &str = r#"
select
    {{ dbt.dateadd('day', 3, "date '2024-01-30'") }} as plus_three_days,
    {{ dateadd('month', 1, "date '2024-01-31'") }} as plus_a_month,
    {{ dbt.dateadd('quarter', 1, "date '2024-01-15'") }} as plus_a_quarter,
    {{ dbt.datediff("date '2024-01-01'", "date '2024-03-01'", 'day') }} as days_between,
    {{ dbt.datediff("date '2024-01-01'", "date '2024-01-15'", 'week') }} as weeks_between,
    {{ dbt.date_trunc('month', "date '2024-05-17'") }} as month_start,
    {{ dbt.last_day("date '2024-02-10'", 'month') }} as month_end,
    {{ dbt.last_day("date '2024-02-10'", 'quarter') }} as quarter_end,
    {{ dbt.date(2024, 7, 4) }} as independence_day,
    cast(null as {{ dbt.type_string() }}) as a_string,
    cast('2024-01-01 10:00:00' as {{ dbt.type_timestamp() }}) as a_timestamp,
    cast(1.5 as {{ dbt.type_float() }}) as a_float,
    cast(1.5 as {{ dbt.type_numeric() }}) as a_numeric,
    cast(7 as {{ dbt.type_bigint() }}) as a_bigint,
    cast(7 as {{ type_int() }}) as an_int,
    cast(true as {{ dbt.type_boolean() }}) as a_boolean,
    {{ dbt.safe_cast("'12'", api.Column.translate_type('integer')) }} as safe_cast_int,
    {{ dbt.cast("'3'", 'integer') }} as cast_int,
    {{ dbt.cast_bool_to_text('true') }} as bool_text,
    {{ dbt.hash("'kiln'") }} as hashed,
    {{ dbt.concat(["'a'", "'b'", "'c'"]) }} as concatenated,
    {{ dbt.length("'kiln'") }} as kiln_length,
    {{ dbt.position("'l'", "'kiln'") }} as l_position,
    {{ dbt.replace("'kiln'", "'k'", "'K'") }} as replaced,
    {{ dbt.right("'kiln'", 2) }} as right_two,
    {{ dbt.split_part("'a,b,c'", "','", 2) }} as second_part,
    {{ dbt.string_literal('it''s') | replace("it's", "its") }} as literal_text,
    '{{ dbt.escape_single_quotes("it's") }}' as escaped,
    {{ adapter.dispatch('any_value', 'dbt')('1') }} as any_one,
    {{ dbt.array_construct(['1', '2']) }} as an_array,
    {{ dbt.array_append(dbt.array_construct(['1']), '2') }} as appended,
    {{ dbt.array_concat(dbt.array_construct(['1']), dbt.array_construct(['2'])) }} as concatenated_arrays,
    {{ dbt.current_timestamp() }} is not null as has_now,
    {{ dbt.current_timestamp_backcompat() }} is not null as has_backcompat_now,
    {{ dbt.current_timestamp_in_utc_backcompat() }} is not null as has_utc_now,
    {{ dbt.get_powers_of_two(5) }} as powers_for_five
"#;

#[test]
fn every_cross_database_macro_renders_and_runs_on_duckdb() {
    let p = run_project(&[
        ("models/every_macro.sql", EVERY_MACRO),
        (
            "models/aggregates.sql",
            "select {{ dbt.bool_or('x > 1') }} as any_big, {{ dbt.listagg('cast(x as varchar)', \"'-'\", 'order by x') }} as joined, \
             {{ dbt.listagg('cast(x as varchar)', \"'-'\", 'order by x desc', 2) }} as top_two \
             from (values (1), (2), (3)) as t(x)\n",
        ),
        (
            "models/set_ops.sql",
            "select 1 as n union all select 2 {{ dbt.except() }} select 2 {{ dbt.intersect() }} select 2\n",
        ),
        ("models/series.sql", "{{ dbt.generate_series(5) }}\n"),
        (
            "models/spine.sql",
            "{{ dbt.date_spine('day', \"cast('2024-01-01' as date)\", \"cast('2024-01-05' as date)\") }}\n",
        ),
    ]);
    p.ok(&["run"]);
    let row = p.query(
        "db.duckdb",
        "select cast(plus_three_days as date)::varchar, cast(plus_a_month as date)::varchar, cast(plus_a_quarter as date)::varchar, \
         days_between, weeks_between, cast(month_start as date)::varchar, month_end::varchar, quarter_end::varchar, \
         independence_day::varchar, a_string, a_timestamp::varchar, a_float::varchar, a_numeric::varchar, a_bigint, an_int, a_boolean, \
         safe_cast_int, cast_int, bool_text, hashed, concatenated, kiln_length, l_position, replaced, right_two, second_part, \
         literal_text, escaped, any_one, an_array::varchar, appended::varchar, concatenated_arrays::varchar, \
         has_now, has_backcompat_now, has_utc_now, powers_for_five from every_macro",
    );
    let expected = [
        "2024-02-02",
        "2024-02-29",
        "2024-04-15",
        "60",
        "2",
        "2024-05-01",
        "2024-02-29",
        "2024-03-31",
        "2024-07-04",
        "NULL",
        "2024-01-01 10:00:00",
        "1.5",
        "1.500000",
        "7",
        "7",
        "true",
        "12",
        "3",
        "true",
        "9e8287435ae73a052c9459e215e46a28",
        "abc",
        "4",
        "3",
        "Kiln",
        "ln",
        "b",
        "its",
        "it's",
        "1",
        "[1, 2]",
        "[1, 2]",
        "[1, 2]",
        "true",
        "true",
        "true",
        "3",
    ];
    assert_eq!(row[0], expected.map(String::from).to_vec());
    assert_eq!(
        p.query(
            "db.duckdb",
            "select any_big, joined, top_two from aggregates"
        ),
        vec![vec!["true".to_string(), "1-2-3".into(), "3-2".into()]]
    );
    assert_eq!(p.column("db.duckdb", "select n from set_ops"), vec!["1"]);
    assert_eq!(
        p.column(
            "db.duckdb",
            "select generated_number from series order by 1"
        ),
        vec!["1", "2", "3", "4", "5"]
    );
    assert_eq!(
        p.column(
            "db.duckdb",
            "select date_day::date::varchar from spine order by 1"
        ),
        vec!["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    );
}

/// dbt's dispatch searches the root project before dbt's own macros, so a
/// project's `duckdb__dateadd` replaces the built-in for every caller.
#[test]
fn a_project_overrides_a_builtin_through_dispatch() {
    let p = run_project(&[
        (
            "macros/overrides.sql",
            "{% macro duckdb__type_string() %}{{ return('varchar(12)') }}{% endmacro %}\n\
             {% macro default__hash(field) %}'hashed:' || {{ field }}{% endmacro %}\n",
        ),
        (
            "models/m.sql",
            "select {{ dbt.hash(\"'x'\") }} as h, {{ adapter.dispatch('hash', 'dbt')(\"'y'\") }} as h2, '{{ type_string() }}' as t\n",
        ),
    ]);
    p.ok(&["run"]);
    assert_eq!(
        p.query("db.duckdb", "select h, h2, t from m"),
        vec![vec![
            "hashed:x".to_string(),
            "hashed:y".into(),
            "varchar(12)".into()
        ]]
    );
}

/// api.Column as dbt's Column: type families, data_type, literal and sizes,
/// and the columns adapter.get_columns_in_relation returns.
#[test]
fn api_column_and_relation_columns_behave_as_dbts() {
    let p = run_project(&[
        (
            "models/base.sql",
            "select 1::integer as id, 'a'::varchar as name, 1.5::double as score, 2.25::decimal(10,2) as amount\n",
        ),
        (
            "models/described.sql",
            "-- depends_on: {{ ref('base') }}\n\
             {% set cols = adapter.get_columns_in_relation(ref('base')) if execute else [] %}\n\
             select '{% for c in cols %}{{ c.name }}:{{ c.data_type }}:{{ c.is_string() }}{{ c.is_integer() }}{{ c.is_float() }}{{ c.is_number() }}{{ \",\" if not loop.last }}{% endfor %}' as described,\n\
             '{{ api.Column.create(\"x\", \"string\").data_type }}' as created,\n\
             '{{ api.Column(\"y\", \"varchar\", 20).data_type }}|{{ api.Column(\"y\", \"varchar\", 20).string_size() }}' as sized,\n\
             '{{ api.Column.from_description(\"z\", \"numeric(12,3)\").data_type }}' as described_numeric,\n\
             '{{ api.Column(\"y\", \"varchar\", 20).can_expand_to(api.Column(\"y\", \"varchar\", 40)) }}' as expands,\n\
             '{{ api.Column.create(\"n\", \"integer\").literal(5) }}' as literal_text,\n\
             '{% for c in adapter.get_column_schema_from_query(\"select 1 as one\") if execute %}{{ c.name }} {{ c.dtype }}{% endfor %}' as from_query\n",
        ),
    ]);
    p.ok(&["run"]);
    let row = &p.query(
        "db.duckdb",
        "select described, created, sized, described_numeric, expands, literal_text, from_query from described",
    )[0];
    assert_eq!(
        row[0],
        "id:INTEGER:FalseTrueFalseTrue,name:character varying(256):TrueFalseFalseFalse,score:DOUBLE:FalseFalseTrueTrue,amount:DECIMAL(10,2):FalseFalseFalseFalse"
    );
    assert_eq!(row[1], "character varying(256)");
    assert_eq!(row[2], "character varying(20)|20");
    assert_eq!(row[3], "numeric(12,3)");
    assert_eq!(row[4], "True");
    assert_eq!(row[5], "5::integer");
    assert_eq!(row[6], "one INTEGER");
}

/// dbt-duckdb's current_timestamp() is a timestamp with time zone; date
/// arithmetic, truncation, parts and casts on it work as with ICU (in UTC),
/// though the bundled DuckDB has no ICU.
#[test]
fn time_zone_timestamps_take_part_in_date_arithmetic() {
    let p = run_project(&[(
        "models/recent.sql",
        "{{ config(materialized='table') }}\nselect\n\
           {{ dbt.dateadd('hour', -23, dbt.current_timestamp()) }} as yesterday_ish,\n\
           cast({{ dbt.dateadd('day', 1, \"timestamptz '2024-01-31 10:00:00+00'\") }} as date)::varchar as next_day,\n\
           (timestamptz '2024-01-31 10:00:00+00' + interval 1 month)::varchar as next_month,\n\
           date_trunc('month', timestamptz '2024-05-17 10:11:12+00')::varchar as month_start,\n\
           date_part('hour', timestamptz '2024-05-17 10:11:12+00') as the_hour,\n\
           date_diff('day', timestamptz '2024-01-01 23:00:00+00', timestamptz '2024-01-03 01:00:00+00') as days,\n\
           current_date = cast(now() as date) as today_matches,\n\
           (timestamp '2024-07-01 12:00:00' at time zone 'UTC' at time zone 'America/Los_Angeles')::varchar as in_la\n",
    )]);
    p.ok(&["run"]);
    assert_eq!(
        p.query(
            "db.duckdb",
            "select typeof(yesterday_ish), yesterday_ish::timestamp < now()::timestamp, next_day, next_month, month_start, the_hour, days, today_matches, in_la from recent"
        ),
        vec![vec![
            "TIMESTAMP WITH TIME ZONE".to_string(),
            "true".into(),
            "2024-02-01".into(),
            "2024-02-29 10:00:00+00".into(),
            "2024-05-01 00:00:00+00".into(),
            "10".into(),
            "2".into(),
            "true".into(),
            "2024-07-01 05:00:00".into()
        ]]
    );
}

/// Packages that generate SQL (codegen and the like) compare it as text,
/// so the built-ins render exactly what dbt-duckdb's do, whitespace too
/// (taken from `dbt compile --inline` with dbt-duckdb 1.11).
#[test]
fn compiled_text_is_dbt_duckdbs_to_the_byte() {
    let p = common::Project::with_files(&[("models/m.sql", "select 1 as id\n")]);
    assert_eq!(
        p.inline("{{ dbt.dateadd('day', 1, 'd') }}"),
        "\n\n    (d + cast(1 as bigint) * interval 1 day)"
    );
    assert_eq!(
        p.inline("{{ dbt.datediff('a', 'b', 'day') }}|"),
        "\n        (date_diff('day', a::timestamp, b::timestamp ))\n    |"
    );
    assert_eq!(
        p.inline("{{ dbt.listagg('m', \"','\", 'order by m', 2) }}"),
        "list_aggr(\n        (array_agg(\n            m\n            order by m\n        ))[1:2],\n        'string_agg',\n        ','\n        )"
    );
    assert_eq!(
        p.inline("{{ dbt.safe_cast('x', 'int') }}"),
        "\n    \n    cast(x as int)"
    );
    assert_eq!(
        p.inline("{{ dbt.length('s') }}"),
        "\n\n    length(\n        s\n    )"
    );
}
