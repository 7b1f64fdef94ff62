//! dbt Hub packages: the hub's API lists each package's versions and their
//! tarballs; kiln picks the newest version that meets every constraint.

use serde_json::Value as Json;

use crate::error::{Error, Result};

const HUB: &str = "https://hub.getdbt.com/api/v1";

/// (version, tarball URL) of the newest release of `package` (org/name)
/// meeting `constraints` (">=1.0.0", "<2.0.0", "1.1.1", ...).
pub fn resolve(package: &str, constraints: &[String]) -> Result<(String, String)> {
    let url = format!("{HUB}/{package}.json");
    let body = super::fetch::http_get(&url).map_err(|e| {
        Error::new(format!(
            "could not look up package {package} on the dbt Hub: {e}"
        ))
    })?;
    let doc: Json = serde_json::from_slice(&body).map_err(|e| {
        Error::new(format!(
            "the dbt Hub's answer for {package} is not JSON: {e}"
        ))
    })?;
    let versions: Vec<&str> = doc
        .get("versions")
        .and_then(Json::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if versions.is_empty() {
        return Err(
            Error::new(format!("the dbt Hub has no package named {package}"))
                .note("check the name (org/package), e.g. dbt-labs/dbt_utils"),
        );
    }
    let version = pick(&versions, constraints)?.ok_or_else(|| {
        Error::new(format!(
            "no version of {package} meets {}; the hub has {}",
            constraints.join(", "),
            versions.join(", ")
        ))
    })?;
    let tarball = doc["versions"][&version]["downloads"]["tarball"]
        .as_str()
        .ok_or_else(|| {
            Error::new(format!(
                "the dbt Hub lists no tarball for {package} {version}"
            ))
        })?
        .to_string();
    Ok((version, tarball))
}

/// The newest version meeting every constraint. A bare version means exactly
/// that version, as in dbt; pre-releases count only when asked for by name.
pub fn pick(versions: &[&str], constraints: &[String]) -> Result<Option<String>> {
    let reqs = constraints
        .iter()
        .map(|c| {
            let c = c.trim();
            let text = if c.starts_with(|ch: char| ch.is_ascii_digit()) {
                format!("={c}")
            } else {
                c.to_string()
            };
            semver::VersionReq::parse(&text).map_err(|e| {
                Error::new(format!(
                    "package version constraint `{c}` is not valid: {e}"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let exact: Vec<&str> = constraints
        .iter()
        .map(|c| c.trim().trim_start_matches('='))
        .collect();
    Ok(versions
        .iter()
        .filter_map(|v| semver::Version::parse(v).ok().map(|p| (p, *v)))
        .filter(|(p, v)| p.pre.is_empty() || exact.contains(v))
        .filter(|(p, _)| reqs.iter().all(|r| r.matches(p)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::pick;

    fn c(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_the_newest_version_in_range() {
        let v = ["0.9.6", "1.0.0", "1.1.1", "1.3.0", "2.0.0-b1", "2.0.0"];
        assert_eq!(
            pick(&v, &c(&[">=1.0.0", "<2.0.0"])).unwrap().as_deref(),
            Some("1.3.0")
        );
        assert_eq!(pick(&v, &c(&["1.1.1"])).unwrap().as_deref(), Some("1.1.1"));
        assert_eq!(pick(&v, &c(&[])).unwrap().as_deref(), Some("2.0.0"));
        assert_eq!(pick(&v, &c(&[">=3.0.0"])).unwrap(), None);
        assert!(pick(&v, &c(&["bad constraint"])).is_err());
    }
}
