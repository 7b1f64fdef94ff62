//! The cache files under target/kiln_cache/: a magic line, a checksum of the
//! body, then the body (postcard). A file that is missing, from another
//! kiln, truncated or corrupt is ignored; a new one replaces it atomically
//! (written beside it, then renamed), so concurrent runs never mix halves.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

const MAGIC: &[u8] = b"kiln render cache 1\n";

/// The body of `path`, if the file is whole and was written by this format.
pub fn read<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    if rest.len() < 16 {
        return None;
    }
    let (sum, body) = rest.split_at(16);
    if sum != xxhash_rust::xxh3::xxh3_128(body).to_le_bytes() {
        crate::output::debug(&format!(
            "render cache: {} is corrupt; ignored",
            path.display()
        ));
        return None;
    }
    postcard::from_bytes(body).ok()
}

/// Writes `body` to `path`. A cache that cannot be written only costs
/// speed next time, so failures are reported at debug level.
pub fn write<T: Serialize>(path: &Path, body: &T) {
    let result = (|| -> std::io::Result<()> {
        let body = postcard::to_stdvec(body).map_err(|e| std::io::Error::other(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(&xxhash_rust::xxh3::xxh3_128(&body).to_le_bytes())?;
        tmp.write_all(&body)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    if let Err(e) = result {
        crate::output::debug(&format!(
            "render cache: could not write {}: {e}",
            path.display()
        ));
    }
}
