//! `modules.datetime`, `modules.pytz`, `modules.re` and Python's sets as
//! dbt's Jinja has them (packages such as dbt_date and elementary rely on
//! them), checked through `kiln compile --inline`.

mod common;

use common::Project;

fn project() -> Project {
    Project::with_files(&[("models/m.sql", "select 1 as id\n")])
}

#[test]
fn datetime_arithmetic_and_comparison_as_python() {
    let p = project();
    let d = "modules.datetime";
    assert_eq!(
        p.inline(&format!(
            "{{{{ {d}.date(2024, 3, 1) - {d}.timedelta(days=1) }}}}"
        )),
        "2024-02-29"
    );
    assert_eq!(
        p.inline(&format!(
            "{{{{ ({d}.datetime(2024, 3, 2, 6) - {d}.datetime(2024, 3, 1)).days }}}} {{{{ ({d}.datetime(2024, 3, 2, 6) - {d}.datetime(2024, 3, 1)).total_seconds() }}}}"
        )),
        "1 108000.0"
    );
    assert_eq!(
        p.inline(&format!(
            "{{{{ {d}.timedelta(hours=1, minutes=30) + {d}.timedelta(minutes=30) }}}} {{{{ {d}.timedelta(days=-1) }}}}"
        )),
        "2:00:00 -1 day, 0:00:00"
    );
    assert_eq!(
        p.inline(&format!(
            "{{{{ {d}.date(2024, 1, 2) < {d}.date(2024, 1, 3) }}}} {{{{ {d}.date(2024, 1, 2) == {d}.date(2024, 1, 2) }}}}"
        )),
        "True True"
    );
    // Jinja's own + and - still work in templates that mention dates.
    assert_eq!(
        p.inline(&format!("{{% set x = {d} %}}{{{{ 1 + 2 }}}} {{{{ 'a' + 'b' }}}} {{{{ [1] + [2] }}}} {{{{ 5 - 1.5 }}}}")),
        "3 ab [1, 2] 3.5"
    );
}

#[test]
fn datetime_formatting_replace_and_time_zones() {
    let p = project();
    let d = "modules.datetime";
    assert_eq!(
        p.inline(&format!("{{{{ {d}.datetime(2024, 1, 2, 3, 4, 5).isoformat() }}}} {{{{ {d}.datetime(2024, 1, 2, 3, 4, 5, 600) }}}}")),
        "2024-01-02T03:04:05 2024-01-02 03:04:05.000600"
    );
    assert_eq!(
        p.inline(&format!(
            "{{{{ {d}.datetime(2024, 1, 31).replace(month=2, day=29).strftime('%Y-%m-%d') }}}}"
        )),
        "2024-02-29"
    );
    // A replace that cannot happen says so instead of returning the value unchanged.
    let (code, _, err) = p.run(&[
        "compile",
        "--inline",
        &format!("{{{{ {d}.datetime(2024, 1, 31).replace(month=2) }}}}"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("out of range"), "{err}");
    assert_eq!(
        p.inline(&format!(
            "{{{{ {d}.datetime(2024, 7, 1, 12, tzinfo=modules.pytz.utc).astimezone(modules.pytz.timezone('America/New_York')) }}}}"
        )),
        "2024-07-01 08:00:00-04:00"
    );
    assert_eq!(
        p.inline(&format!(
            "{{{{ modules.pytz.timezone('Europe/Paris').localize({d}.datetime(2024, 1, 15, 9)).strftime('%H:%M %z %Z') }}}}"
        )),
        "09:00 +0100 CET"
    );
    assert_eq!(
        p.inline(&format!("{{{{ {d}.datetime.fromisoformat('2024-05-06T07:08:09+02:00').astimezone({d}.timezone.utc).isoformat() }}}}")),
        "2024-05-06T05:08:09+00:00"
    );
    assert_eq!(
        p.inline("{{ run_started_at.tzinfo is not none }} {{ run_started_at.isoformat()[-6:] }}"),
        "True +00:00"
    );
}

#[test]
fn regular_expressions_have_pythons_lookaround_and_backreferences() {
    let p = project();
    assert_eq!(
        p.inline("{{ modules.re.sub('(?<=a)b', 'X', 'abcb') }} {{ modules.re.search('(\\\\w)\\\\1', 'abccd').group(0) }}"),
        "aXcb cc"
    );
    assert_eq!(
        p.inline("{{ modules.re.sub('(?P<first>\\\\w+) (?P<second>\\\\w+)', '\\\\g<second> \\\\1', 'hello world') }}"),
        "world hello"
    );
    assert_eq!(
        p.inline("{{ modules.re.findall('[0-9]+', 'a1b22c333') }} {{ modules.re.split(',\\\\s*', 'a, b,c') }}"),
        "['1', '22', '333'] ['a', 'b', 'c']"
    );
}

#[test]
fn sets_compare_as_sets() {
    let p = project();
    assert_eq!(
        p.inline("{{ set(['a', 'b']) == set(['b', 'a']) }} {{ set(['a']) == set(['a', 'b']) }} {{ 'b' in set(['a', 'b']) }}"),
        "True False True"
    );
    assert_eq!(
        p.inline("{% set s = set([1]) %}{% do s.add(2) %}{% do s.add(1) %}{{ s | length }} {{ s.issubset([1, 2, 3]) }} {{ s.union([3]) | length }}"),
        "2 True 3"
    );
}

/// Python's `%` string formatting, tuples from zip/items/itertools, and
/// dict(a=1), printed as Python prints them.
#[test]
fn percent_formatting_tuples_and_dict_keywords() {
    let p = project();
    assert_eq!(
        p.inline("{{ '%s_%s' % ('a', 'b') }} {{ '%(x)s!' % {'x': 5} }} {{ '%.2f|%5d|%-4s|' % (3.14159, 42, 'ab') }} {{ '100%%' % () }} {{ 10 % 3 }}"),
        "a_b 5! 3.14|   42|ab  | 100% 1"
    );
    assert_eq!(
        p.inline("{{ zip([1, 2], ['a', 'b']) | list }} {{ {'a': 1}.items() | list }} {{ modules.itertools.product([1], ['x']) | list }}"),
        "[(1, 'a'), (2, 'b')] [('a', 1)] [(1, 'x')]"
    );
    assert_eq!(
        p.inline("{{ dict(a=1, b=2) }} {{ dict({'a': 1}, b=2) }}"),
        "{'a': 1, 'b': 2} {'a': 1, 'b': 2}"
    );
}
