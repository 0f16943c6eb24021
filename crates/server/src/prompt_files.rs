//! Finding prompt files: `<root>/<id>.wav`, the id being the relative path without `.wav`
//! (`zh/ahead_before`). Shared by the build script, which compiles `prompts/` into the
//! binary, and the runtime, which reads a configured prompts directory over it.

use std::io;
use std::path::{Path, PathBuf};

/// Every `.wav` under `root`, as (prompt id, path), sorted by id.
pub fn wav_files(root: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    walk(root, root, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, root, out)?;
        } else if path.extension().is_some_and(|e| e == "wav") {
            let id = path
                .strip_prefix(root)
                .map_err(io::Error::other)?
                .with_extension("")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((id, path));
        }
    }
    Ok(())
}
