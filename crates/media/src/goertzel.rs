//! In-band DTMF detection on 8 kHz 16-bit PCM ([`DtmfDetector`]), for peers that send digits
//! as tones in the audio instead of RFC 4733 events.
//!
//! Each block of [`BLOCK_SAMPLES`] samples runs eight Goertzel filters, one per DTMF
//! frequency, and is classified as a digit when all of these hold:
//!
//! - the strongest row tone and the strongest column tone each reach [`MIN_TONE_AMPLITUDE`];
//! - the twist (column level over row level) is at most [`MAX_NORMAL_TWIST_DB`] and at least
//!   −[`MAX_REVERSE_TWIST_DB`];
//! - each of the two is [`RELATIVE_PEAK_DB`] above every other tone of its group;
//! - together they carry at least [`MIN_TONE_SHARE`] of the block's energy, which is what
//!   rejects noise and most speech.
//!
//! **Block size.** A block is 160 samples (20 ms, one RTP frame, 50 Hz resolution) and blocks
//! overlap by half ([`HOP_SAMPLES`] = 80). The 205-sample block of the textbooks resolves
//! frequencies better but cannot promise two whole blocks inside a 40 ms tone (that needs
//! 3 × 205 − 1 samples), and neither can 160 without overlap. With a hop of 80, a tone or a
//! gap of 40 ms (ITU-T Q.24's minimums, 320 samples) always contains at least two whole
//! consecutive blocks, so the debounce below is guaranteed to see every digit and every gap.
//!
//! **Debounce.** A digit is reported once, when [`HITS_TO_BEGIN`] consecutive blocks agree on
//! it; it stays pressed until [`MISSES_TO_END`] consecutive blocks do not show it. A single
//! block lost to a burst of noise therefore neither splits one press in two nor joins two.

use std::collections::VecDeque;

/// The sample rate the detector expects.
pub const SAMPLE_RATE: u32 = 8000;
/// The samples in one analysis block (20 ms).
pub const BLOCK_SAMPLES: usize = 160;
/// The samples between the starts of consecutive blocks (10 ms; blocks overlap by half).
pub const HOP_SAMPLES: usize = 80;
/// The low-group (row) frequencies in Hz.
pub const ROW_FREQUENCIES: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// The high-group (column) frequencies in Hz.
pub const COLUMN_FREQUENCIES: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad, row by column.
pub const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// The quietest tone accepted, as a peak amplitude in 16-bit units: about −29 dBm0 per tone,
/// a little below the −25 dBm0 that Q.24's receivers must accept.
pub const MIN_TONE_AMPLITUDE: f32 = 800.0;
/// How much louder the column tone may be than the row tone (normal twist), in dB.
pub const MAX_NORMAL_TWIST_DB: f32 = 8.0;
/// How much louder the row tone may be than the column tone (reverse twist), in dB.
pub const MAX_REVERSE_TWIST_DB: f32 = 4.0;
/// How far above the other tones of its group the strongest must be, in dB.
pub const RELATIVE_PEAK_DB: f32 = 8.0;
/// The least share of the block's energy the two tones must carry.
pub const MIN_TONE_SHARE: f32 = 0.6;
/// Consecutive blocks that must show a digit before it is reported.
pub const HITS_TO_BEGIN: u32 = 2;
/// Consecutive blocks without the digit that end it.
pub const MISSES_TO_END: u32 = 2;
/// The most detections held for the driver, who drains them after every call.
pub const MAX_PENDING_DIGITS: usize = 16;

fn db_to_power_ratio(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// A digit heard in the audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DetectedDigit {
    /// The key.
    pub digit: char,
    /// The sample (counted from the detector's start) where the first block that showed it
    /// begins: the tone began at most one hop before.
    pub start_sample: u64,
}

/// Goertzel coefficients `2 cos(2πf/fs)` for the eight frequencies, rows first.
fn coefficients() -> [f32; 8] {
    let mut c = [0.0; 8];
    for (i, f) in ROW_FREQUENCIES
        .iter()
        .chain(COLUMN_FREQUENCIES.iter())
        .enumerate()
    {
        c[i] = 2.0 * (2.0 * std::f32::consts::PI * f / SAMPLE_RATE as f32).cos();
    }
    c
}

/// Classifies one block: the digit its tones show, if any. `block` should hold
/// [`BLOCK_SAMPLES`] samples; other lengths work, with other resolutions.
pub fn detect_block(block: &[i16]) -> Option<char> {
    classify(&coefficients(), block)
}

fn classify(coefficients: &[f32; 8], block: &[i16]) -> Option<char> {
    if block.is_empty() {
        return None;
    }
    let mut s1 = [0f32; 8];
    let mut s2 = [0f32; 8];
    let mut energy = 0f32;
    for &sample in block {
        let x = sample as f32;
        energy += x * x;
        for i in 0..8 {
            let s = x + coefficients[i] * s1[i] - s2[i];
            s2[i] = s1[i];
            s1[i] = s;
        }
    }
    let n = block.len() as f32;
    // |X(f)|² of a sine of amplitude A is about (A n / 2)², so this is A² per tone, and a
    // tone's mean power is A²/2.
    let mut amplitude2 = [0f32; 8];
    for i in 0..8 {
        let power = s1[i] * s1[i] + s2[i] * s2[i] - coefficients[i] * s1[i] * s2[i];
        amplitude2[i] = 4.0 * power.max(0.0) / (n * n);
    }
    let (rows, columns) = amplitude2.split_at(4);
    let best = |group: &[f32]| {
        let mut best = 0;
        for i in 1..group.len() {
            if group[i] > group[best] {
                best = i;
            }
        }
        best
    };
    let (row, column) = (best(rows), best(columns));
    let (row_a2, column_a2) = (rows[row], columns[column]);
    let min_a2 = MIN_TONE_AMPLITUDE * MIN_TONE_AMPLITUDE;
    if row_a2 < min_a2 || column_a2 < min_a2 {
        return None;
    }
    if column_a2 > row_a2 * db_to_power_ratio(MAX_NORMAL_TWIST_DB)
        || row_a2 > column_a2 * db_to_power_ratio(MAX_REVERSE_TWIST_DB)
    {
        return None;
    }
    let peak = db_to_power_ratio(RELATIVE_PEAK_DB);
    let stands_out = |group: &[f32], best: usize| {
        group
            .iter()
            .enumerate()
            .all(|(i, &a2)| i == best || a2 * peak <= group[best])
    };
    if !stands_out(rows, row) || !stands_out(columns, column) {
        return None;
    }
    let tone_power = (row_a2 + column_a2) / 2.0;
    let block_power = energy / n;
    if tone_power < MIN_TONE_SHARE * block_power {
        return None;
    }
    Some(KEYPAD[row][column])
}

/// Detects DTMF digits in a stream of 8 kHz samples, each press reported once. Feed it audio
/// in chunks of any size with [`DtmfDetector::process`] and drain
/// [`DtmfDetector::poll_digit`] after each call.
#[derive(Clone, Debug)]
pub struct DtmfDetector {
    coefficients: [f32; 8],
    buffer: [i16; BLOCK_SAMPLES],
    filled: usize,
    /// Samples taken since the start.
    samples: u64,
    last: Option<char>,
    run: u32,
    run_start: u64,
    active: Option<char>,
    misses: u32,
    pending: VecDeque<DetectedDigit>,
    dropped: u64,
}

impl Default for DtmfDetector {
    fn default() -> DtmfDetector {
        DtmfDetector::new()
    }
}

impl DtmfDetector {
    /// A detector that has heard nothing.
    pub fn new() -> DtmfDetector {
        DtmfDetector {
            coefficients: coefficients(),
            buffer: [0; BLOCK_SAMPLES],
            filled: 0,
            samples: 0,
            last: None,
            run: 0,
            run_start: 0,
            active: None,
            misses: 0,
            pending: VecDeque::with_capacity(MAX_PENDING_DIGITS),
            dropped: 0,
        }
    }

    /// Takes the next samples of the stream.
    pub fn process(&mut self, mut samples: &[i16]) {
        while !samples.is_empty() {
            let take = (BLOCK_SAMPLES - self.filled).min(samples.len());
            self.buffer[self.filled..self.filled + take].copy_from_slice(&samples[..take]);
            self.filled += take;
            self.samples += take as u64;
            samples = &samples[take..];
            if self.filled == BLOCK_SAMPLES {
                let block_start = self.samples - BLOCK_SAMPLES as u64;
                let class = classify(&self.coefficients, &self.buffer);
                self.debounce(class, block_start);
                self.buffer.copy_within(HOP_SAMPLES.., 0);
                self.filled = BLOCK_SAMPLES - HOP_SAMPLES;
            }
        }
    }

    fn debounce(&mut self, class: Option<char>, block_start: u64) {
        if class == self.last {
            self.run += 1;
        } else {
            self.run = 1;
            self.run_start = block_start;
        }
        self.last = class;
        if let Some(active) = self.active {
            if class == Some(active) {
                self.misses = 0;
            } else {
                self.misses += 1;
                if self.misses >= MISSES_TO_END {
                    self.active = None;
                }
            }
        }
        if self.active.is_none() {
            if let Some(digit) = class {
                if self.run >= HITS_TO_BEGIN {
                    self.active = Some(digit);
                    self.misses = 0;
                    if self.pending.len() == MAX_PENDING_DIGITS {
                        self.pending.pop_front();
                        self.dropped += 1;
                    }
                    self.pending.push_back(DetectedDigit {
                        digit,
                        start_sample: self.run_start,
                    });
                }
            }
        }
    }

    /// The next detected digit, oldest first.
    pub fn poll_digit(&mut self) -> Option<DetectedDigit> {
        self.pending.pop_front()
    }

    /// The digit whose tone is sounding now, if one has been reported and not yet ended.
    pub fn pressed(&self) -> Option<char> {
        self.active
    }

    /// Detections dropped because the driver did not drain [`MAX_PENDING_DIGITS`].
    pub fn dropped_digits(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small seeded generator (xorshift64*), enough for test noise.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform in [-amplitude, amplitude].
        fn noise(&mut self, amplitude: f32) -> f32 {
            let unit = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
            (unit * 2.0 - 1.0) * amplitude
        }
    }

    fn position(digit: char) -> (usize, usize) {
        for (r, row) in KEYPAD.iter().enumerate() {
            for (c, &key) in row.iter().enumerate() {
                if key == digit {
                    return (r, c);
                }
            }
        }
        panic!("{digit}");
    }

    /// Appends `ms` milliseconds of the given tones (Hz, amplitude) plus noise.
    fn tones(out: &mut Vec<i16>, ms: usize, parts: &[(f32, f32)], rng: &mut Rng, noise: f32) {
        let start = out.len();
        for n in 0..ms * 8 {
            let t = (start + n) as f32 / SAMPLE_RATE as f32;
            let mut x = rng.noise(noise);
            for &(f, a) in parts {
                x += a * (2.0 * std::f32::consts::PI * f * t).sin();
            }
            out.push(x.clamp(-32768.0, 32767.0) as i16);
        }
    }

    fn digit_tone(out: &mut Vec<i16>, digit: char, ms: usize, rng: &mut Rng, noise: f32) {
        let (r, c) = position(digit);
        let parts = [
            (ROW_FREQUENCIES[r], 7000.0),
            (COLUMN_FREQUENCIES[c], 8000.0),
        ];
        tones(out, ms, &parts, rng, noise);
    }

    fn detect(samples: &[i16], chunk: usize) -> Vec<DetectedDigit> {
        let mut detector = DtmfDetector::new();
        let mut found = Vec::new();
        for piece in samples.chunks(chunk) {
            detector.process(piece);
            while let Some(d) = detector.poll_digit() {
                found.push(d);
            }
        }
        found
    }

    fn digits(found: &[DetectedDigit]) -> String {
        found.iter().map(|d| d.digit).collect()
    }

    const ALL: &str = "123A456B789C*0#D";

    #[test]
    fn every_digit_is_detected_exactly_once() {
        let mut rng = Rng(0x5EED);
        let mut audio = Vec::new();
        tones(&mut audio, 50, &[], &mut rng, 300.0);
        for digit in ALL.chars() {
            digit_tone(&mut audio, digit, 100, &mut rng, 300.0);
            tones(&mut audio, 100, &[], &mut rng, 300.0);
        }
        let found = detect(&audio, 160);
        assert_eq!(digits(&found), ALL);
        // Each is reported within a hop of where its tone begins.
        for (i, d) in found.iter().enumerate() {
            let tone_start = (50 + i * 200) as u64 * 8;
            assert!(
                d.start_sample + HOP_SAMPLES as u64 >= tone_start
                    && d.start_sample <= tone_start + HOP_SAMPLES as u64,
                "{d:?} vs {tone_start}"
            );
        }
    }

    #[test]
    fn q24_minimum_timing_is_detected_at_every_alignment() {
        // 40 ms tones with 40 ms gaps, shifted against the block grid.
        for offset in (0..HOP_SAMPLES).step_by(7) {
            let mut rng = Rng(offset as u64 + 1);
            let mut audio = vec![0i16; offset];
            for digit in ALL.chars() {
                digit_tone(&mut audio, digit, 40, &mut rng, 200.0);
                tones(&mut audio, 40, &[], &mut rng, 200.0);
            }
            // Odd chunk sizes exercise the buffering.
            assert_eq!(digits(&detect(&audio, 37)), ALL, "offset {offset}");
        }
    }

    #[test]
    fn a_long_press_is_one_digit_and_a_repeat_is_another() {
        let mut rng = Rng(3);
        let mut audio = Vec::new();
        digit_tone(&mut audio, '5', 1000, &mut rng, 300.0);
        tones(&mut audio, 60, &[], &mut rng, 300.0);
        digit_tone(&mut audio, '5', 60, &mut rng, 300.0);
        assert_eq!(digits(&detect(&audio, 160)), "55");
    }

    #[test]
    fn silence_tones_and_noise_are_not_digits() {
        let mut rng = Rng(42);
        let mut audio = vec![0i16; 8000];
        for f in ROW_FREQUENCIES.iter().chain(COLUMN_FREQUENCIES.iter()) {
            tones(&mut audio, 200, &[(*f, 10000.0)], &mut rng, 100.0);
        }
        tones(&mut audio, 1000, &[(1000.0, 12000.0)], &mut rng, 0.0);
        tones(&mut audio, 2000, &[], &mut rng, 8000.0);
        tones(&mut audio, 2000, &[], &mut rng, 30000.0);
        assert_eq!(digits(&detect(&audio, 160)), "");
    }

    #[test]
    fn tones_under_louder_noise_are_refused() {
        // The tones stand out of the noise in their own bins, but carry a fifth of the
        // energy: the share check refuses them, as it refuses speech that happens to hold
        // two DTMF frequencies.
        let mut rng = Rng(11);
        let mut audio = Vec::new();
        digit_tone(&mut audio, '8', 500, &mut rng, 20000.0);
        assert_eq!(digits(&detect(&audio, 160)), "");
        let mut audio = Vec::new();
        digit_tone(&mut audio, '8', 500, &mut rng, 3000.0);
        assert_eq!(digits(&detect(&audio, 160)), "8");
    }

    #[test]
    fn twist_limits() {
        let block = |row_amplitude: f32, column_amplitude: f32| {
            let mut rng = Rng(9);
            let mut audio = Vec::new();
            tones(
                &mut audio,
                20,
                &[(770.0, row_amplitude), (1336.0, column_amplitude)],
                &mut rng,
                0.0,
            );
            detect_block(&audio)
        };
        let db = |x: f32| 10f32.powf(x / 20.0);
        assert_eq!(block(6000.0, 6000.0), Some('5'));
        assert_eq!(block(4000.0, 4000.0 * db(6.0)), Some('5'));
        assert_eq!(block(3000.0, 3000.0 * db(10.0)), None);
        assert_eq!(block(6000.0 * db(3.0), 6000.0), Some('5'));
        assert_eq!(block(6000.0 * db(6.0), 6000.0), None);
        // Too quiet.
        assert_eq!(block(400.0, 400.0), None);
        assert_eq!(detect_block(&[]), None);
    }

    #[test]
    fn a_third_tone_in_the_group_is_rejected() {
        let mut rng = Rng(5);
        let mut audio = Vec::new();
        tones(
            &mut audio,
            20,
            &[(770.0, 6000.0), (941.0, 5000.0), (1336.0, 6000.0)],
            &mut rng,
            0.0,
        );
        assert_eq!(detect_block(&audio), None);
    }
}
