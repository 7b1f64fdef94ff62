//! Named selectors from selectors.yml: union / intersection / exclude
//! definitions, criteria as strings or {method, value, parents, ...} dicts,
//! references to other selectors, and `default: true`.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::cli::IndirectSelection;
use crate::error::{Error, Result};
use crate::graph::selector::{parse_criteria, Criteria, Method, Spec, METHOD_NAMES};

pub struct NamedSelector {
    pub name: String,
    pub description: String,
    pub default: bool,
    pub definition: Json,
    pub spec: Spec,
}

/// All selectors of a selectors.yml document (as JSON).
pub fn parse_file(doc: &Json) -> Result<Vec<NamedSelector>> {
    let Some(list) = doc.get("selectors").and_then(Json::as_array) else {
        return Err(Error::new(
            "selectors.yml must have a top-level `selectors:` list",
        ));
    };
    let mut out: Vec<NamedSelector> = Vec::new();
    let mut known: HashMap<String, Spec> = HashMap::new();
    for entry in list {
        let name = entry
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::new("every selector in selectors.yml needs a `name:`"))?
            .to_string();
        let definition = entry
            .get("definition")
            .cloned()
            .ok_or_else(|| Error::new(format!("selector '{name}' has no `definition:`")))?;
        let spec = parse_definition(&definition, &known, true).map_err(|e| {
            let mut err = Error::new(format!("selector '{name}' in selectors.yml: {}", e.message));
            err.notes = e.notes;
            err
        })?;
        known.insert(name.clone(), spec.clone());
        out.push(NamedSelector {
            name,
            description: entry
                .get("description")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
            default: entry
                .get("default")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            definition,
            spec,
        });
    }
    if out.iter().filter(|s| s.default).count() > 1 {
        return Err(Error::new(
            "more than one selector in selectors.yml has `default: true`",
        ));
    }
    Ok(out)
}

fn list<'a>(def: &'a Map<String, Json>, key: &str) -> Result<&'a Vec<Json>> {
    def.get(key)
        .and_then(Json::as_array)
        .ok_or_else(|| Error::new(format!("`{key}` must be a list")))
}

/// Parses the members of a union/intersection, splitting out one `exclude`.
fn members(items: &[Json], known: &HashMap<String, Spec>) -> Result<(Vec<Spec>, Option<Spec>)> {
    let mut include = Vec::new();
    let mut exclude = None;
    for item in items {
        if let Some(ex) = item.as_object().and_then(|o| o.get("exclude")) {
            if exclude.is_some() {
                return Err(Error::new(
                    "only one `exclude` is allowed per union or intersection",
                ));
            }
            exclude = Some(exclusions(ex, known)?);
        } else {
            include.push(parse_definition(item, known, false)?);
        }
    }
    Ok((include, exclude))
}

fn exclusions(ex: &Json, known: &HashMap<String, Spec>) -> Result<Spec> {
    let items = ex
        .as_array()
        .ok_or_else(|| Error::new("`exclude` must be a list"))?;
    let mut specs: Vec<Spec> = items
        .iter()
        .map(|i| parse_definition(i, known, false))
        .collect::<Result<_>>()?;
    Ok(if specs.len() == 1 {
        specs.remove(0)
    } else {
        Spec::Union(specs)
    })
}

pub fn parse_definition(def: &Json, known: &HashMap<String, Spec>, root: bool) -> Result<Spec> {
    match def {
        Json::String(s) => Ok(Spec::Criteria(parse_criteria(s)?)),
        Json::Object(o) => {
            if root && (o.contains_key("union") || o.contains_key("intersection")) && o.len() > 1 {
                return Err(Error::new(
                    "a root definition may hold a single `union` or `intersection` key",
                ));
            }
            if o.contains_key("union") || o.contains_key("intersection") {
                let is_union = o.contains_key("union");
                let (include, exclude) = members(
                    list(o, if is_union { "union" } else { "intersection" })?,
                    known,
                )?;
                let base = if is_union {
                    Spec::Union(include)
                } else {
                    Spec::Intersection(include)
                };
                return Ok(match exclude {
                    Some(ex) => Spec::Difference(vec![base, ex]),
                    None => base,
                });
            }
            if o.get("method").and_then(Json::as_str) == Some("selector") {
                let name = o.get("value").and_then(Json::as_str).unwrap_or_default();
                return known.get(name).cloned().ok_or_else(|| {
                    Error::new(format!(
                        "no selector named '{name}' is defined before this one"
                    ))
                });
            }
            let (method, value, rest): (String, Json, Map<String, Json>) = if o.len() == 1 {
                let (k, v) = o
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                (k, v, Map::new())
            } else if let (Some(m), Some(v)) =
                (o.get("method").and_then(Json::as_str), o.get("value"))
            {
                (m.to_string(), v.clone(), o.clone())
            } else {
                return Err(Error::new(format!(
                    "expected one key or `method` and `value`, got {}",
                    o.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            };
            let mut parts = method.split('.');
            let name = parts.next().unwrap_or_default();
            let m = Method::parse(name).ok_or_else(|| {
                Error::new(format!("'{name}' is not a selector method"))
                    .suggest(name, METHOD_NAMES.iter().copied())
            })?;
            let value = match value {
                Json::String(s) => s,
                other => other.to_string(),
            };
            let flag = |k: &str| rest.get(k).and_then(Json::as_bool).unwrap_or(false);
            let depth = |k: &str| rest.get(k).and_then(Json::as_u64).map(|d| d as usize);
            let indirect = match rest.get("indirect_selection").and_then(Json::as_str) {
                Some("eager") => Some(IndirectSelection::Eager),
                Some("cautious") => Some(IndirectSelection::Cautious),
                Some("buildable") => Some(IndirectSelection::Buildable),
                Some("empty") => Some(IndirectSelection::Empty),
                Some(other) => {
                    return Err(Error::new(format!(
                        "indirect_selection '{other}' must be eager, cautious, buildable or empty"
                    )))
                }
                None => None,
            };
            let criteria = Spec::Criteria(Criteria {
                raw: format!("{method}:{value}"),
                method: m,
                args: parts.map(str::to_string).collect(),
                value,
                childrens_parents: flag("childrens_parents"),
                parents: flag("parents"),
                parents_depth: depth("parents_depth"),
                children: flag("children"),
                children_depth: depth("children_depth"),
                indirect,
            });
            match rest.get("exclude") {
                Some(ex) => Ok(Spec::Difference(vec![criteria, exclusions(ex, known)?])),
                None => Ok(criteria),
            }
        }
        other => Err(Error::new(format!(
            "expected a selector string or mapping, got {other}"
        ))),
    }
}
