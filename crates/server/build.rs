//! Embeds the prompt files of `prompts/` (at the workspace root) in the binary, so that
//! `hotline serve` and `hotline demo` speak without any file beside them. Generates
//! `$OUT_DIR/prompts.rs`: `BUILTIN_PROMPTS`, a list of (prompt id, WAV bytes).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "wav") {
            let id = path
                .strip_prefix(root)
                .expect("under the root")
                .with_extension("")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((id, path));
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut prompts = Vec::new();
    collect(&root, &root, &mut prompts);
    prompts.sort();
    let mut code = String::from("/// Built-in prompts: (id, WAV file).\n");
    code.push_str("pub static BUILTIN_PROMPTS: &[(&str, &[u8])] = &[\n");
    for (id, path) in &prompts {
        let path = path.canonicalize().expect("a prompt file");
        writeln!(
            code,
            "    ({id:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("write to a string");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("prompts.rs");
    std::fs::write(out, code).expect("write prompts.rs");
}
