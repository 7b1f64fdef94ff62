//! The files under templates/, embedded in the binary: built-in macros (the
//! SQL kiln generates), the `kiln init` scaffold and the docs site page.

use include_dir::{include_dir, Dir, DirEntry};

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Every built-in macro file as (path under templates/macros/, contents).
pub fn builtin_macros() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if let Some(dir) = TEMPLATES.get_dir("macros") {
        collect(dir, "macros/", &mut out);
    }
    out.sort();
    out
}

/// The `kiln init` scaffold as (relative path, contents).
pub fn init_scaffold() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if let Some(dir) = TEMPLATES.get_dir("init") {
        collect(dir, "init/", &mut out);
    }
    out.sort();
    out
}

/// The documentation site's page (data is filled in by `kiln docs generate`).
pub fn docs_page() -> &'static str {
    TEMPLATES
        .get_file("docs/index.html")
        .and_then(|f| f.contents_utf8())
        .unwrap_or_default()
}

fn collect(dir: &'static Dir<'static>, strip: &str, out: &mut Vec<(&'static str, &'static str)>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(d) => collect(d, strip, out),
            DirEntry::File(f) => {
                let path = f.path().to_str().unwrap_or_default();
                if let (Some(rel), Some(text)) = (path.strip_prefix(strip), f.contents_utf8()) {
                    out.push((rel, text));
                }
            }
        }
    }
}
