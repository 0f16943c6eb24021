//! The committed prompt files under `prompts/` match the prompt tables: `prompts.tsv` lists
//! exactly what [`prompt_texts`] lists, every prompt (and the music on hold) is a playable
//! 8 kHz mono file that is neither empty nor silent, and every prompt an announcement can ask
//! for exists.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hotline_media::announce::{prompt_texts, Announcement, Language};
use hotline_media::wav::{read_wav, SAMPLE_RATE};

const LANGUAGES: [Language; 2] = [Language::ZhCn, Language::En];
/// Shortest and longest prompt accepted, in seconds.
const MIN_SECONDS: f64 = 0.2;
const MAX_SECONDS: f64 = 15.0;
/// A prompt's peak must be above this (about -30 dBFS); the files are made at -3 dBFS
/// (music on hold -9 dBFS).
const MIN_PEAK: i32 = 1000;

fn prompts_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../prompts"))
}

fn all_prompt_texts() -> Vec<(&'static str, &'static str)> {
    LANGUAGES.into_iter().flat_map(prompt_texts).collect()
}

#[test]
fn prompts_tsv_lists_the_tables() {
    let path = prompts_dir().join("prompts.tsv");
    let tsv = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let listed: Vec<(&str, &str)> = tsv
        .lines()
        .map(|line| {
            line.split_once('\t')
                .unwrap_or_else(|| panic!("no tab in prompts.tsv line {line:?}"))
        })
        .collect();
    assert_eq!(
        listed,
        all_prompt_texts(),
        "prompts/prompts.tsv differs from prompt_texts(ZhCn) ++ prompt_texts(En); \
         update it and run scripts/make-prompts"
    );
}

fn check_file(id: &str) {
    let path = prompts_dir().join(format!("{id}.wav"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let wav = read_wav(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(wav.channels, 1, "{id}: not mono");
    let seconds = wav.samples.len() as f64 / SAMPLE_RATE as f64;
    assert!(
        (MIN_SECONDS..=MAX_SECONDS).contains(&seconds),
        "{id}: {seconds:.2} s"
    );
    let peak = wav
        .samples
        .iter()
        .map(|s| (*s as i32).abs())
        .max()
        .unwrap_or(0);
    assert!(peak > MIN_PEAK, "{id}: silent (peak {peak})");
}

#[test]
fn every_prompt_file_is_playable_and_not_silent() {
    for (id, _) in all_prompt_texts() {
        check_file(id);
    }
    check_file("moh");
}

/// A spread of queue positions: every digit, 两 and 二, the teens, zeros inside numbers,
/// the units, and beyond the largest spoken number.
const CALLERS_AHEAD: [u32; 31] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 19, 20, 22, 99, 100, 101, 110, 200, 222, 999, 1000,
    1001, 1010, 1100, 2002, 4321, 9999, 20_000,
];
/// A spread of waits: under a minute, each side of the rounding steps, and very long.
const WAIT_SECONDS: [u64; 13] = [0, 30, 59, 60, 61, 89, 90, 170, 600, 629, 780, 3600, 100_000];

#[test]
fn every_announced_prompt_has_a_file() {
    let mut ids = BTreeSet::new();
    for language in LANGUAGES {
        for callers_ahead in CALLERS_AHEAD {
            for wait_seconds in WAIT_SECONDS {
                let announcement = Announcement {
                    callers_ahead,
                    wait_seconds,
                };
                ids.extend(announcement.prompts(language));
            }
        }
    }
    for id in ids {
        let path = prompts_dir().join(format!("{id}.wav"));
        assert!(path.is_file(), "{id}: no {}", path.display());
    }
}
