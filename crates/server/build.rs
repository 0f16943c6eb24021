//! Embeds the prompt files of `prompts/` (at the workspace root) in the binary, so that
//! `hotline serve` and `hotline demo` speak without any file beside them. Generates
//! `$OUT_DIR/prompts.rs`: `BUILTIN_PROMPTS`, a list of (prompt id, WAV bytes).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/prompt_files.rs"]
mod prompt_files;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    println!("cargo:rerun-if-changed={}", root.display());
    let prompts = prompt_files::wav_files(&root).expect("the prompts directory");
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
