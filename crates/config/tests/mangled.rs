//! Mangled scenario files never panic the reader: random edits of the example files (cut a
//! span, repeat a line, change a character into something that matters to TOML) give either
//! a scenario or diagnostics that each name a place in the file.

use std::path::Path;

use proptest::prelude::*;

fn examples() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[derive(Clone, Debug)]
enum Edit {
    Cut { at: usize, len: usize },
    RepeatLine { at: usize },
    Replace { at: usize, with: char },
}

fn edit() -> impl Strategy<Value = Edit> {
    let significant = prop::sample::select(vec![
        '=', '[', ']', '{', '}', '"', ',', ':', '.', '-', '0', '9', 'x', '\n', ' ', '#', '售', '\'',
    ]);
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Cut { at, len }),
        any::<usize>().prop_map(|at| Edit::RepeatLine { at }),
        (any::<usize>(), significant).prop_map(|(at, with)| Edit::Replace { at, with }),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len().max(1);
    match *edit {
        Edit::Cut { at, len } => {
            let at = at % n;
            let end = (at + len).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Edit::RepeatLine { at } => {
            let lines: Vec<&str> = text.lines().collect();
            let i = at % lines.len().max(1);
            let mut out: Vec<&str> = lines.clone();
            if let Some(line) = lines.get(i) {
                out.insert(i, line);
            }
            out.join("\n")
        }
        Edit::Replace { at, with } => {
            let mut chars = chars;
            let at = at % n;
            if at < chars.len() {
                chars[at] = with;
            }
            chars.into_iter().collect()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mangled_examples_give_a_scenario_or_located_diagnostics(
        which in any::<usize>(),
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let files = examples();
        let (name, text) = &files[which % files.len()];
        let mut mangled = text.clone();
        for e in &edits {
            mangled = apply(&mangled, e);
        }
        let lines = mangled.lines().count().max(1);
        if let Err(diagnostics) = hotline_config::parse_scenario(name, &mangled) {
            prop_assert!(!diagnostics.0.is_empty());
            for d in &diagnostics.0 {
                prop_assert!(d.line >= 1 && d.line <= lines + 1, "{d} (file has {lines} lines)");
                prop_assert!(!d.message.is_empty());
                prop_assert!(!d.to_string().contains('\n'), "one line: {d}");
            }
        }
    }
}
