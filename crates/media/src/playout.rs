//! Prompt playback and mixing: [`PromptPlayer`] turns a list of prompts (8 kHz samples) into
//! 20 ms frames, one per call, looping for music on hold; [`mix`] and [`mix_into`] add two
//! legs with saturation for a mixed recording or a conference of three.
//!
//! The player only slices; the driver paces it (one frame per 20 ms tick of its clock) and
//! encodes each frame with the negotiated codec.

/// The samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// One frame of audio.
pub type Frame = [i16; FRAME_SAMPLES];

/// Plays a list of prompts back to back as 20 ms frames. The prompts are played as one
/// continuous stream (a prompt that does not end on a frame boundary continues in the next
/// prompt, with no silence between them); only the very last frame is padded with silence.
/// When looping, the stream wraps to the first prompt without a gap, so music on hold loops
/// seamlessly.
///
/// `P` is anything that derefs to samples: `Vec<i16>`, `Arc<[i16]>` from a prompt cache, or
/// `&[i16]`.
#[derive(Clone, Debug)]
pub struct PromptPlayer<P> {
    prompts: Vec<P>,
    looping: bool,
    prompt: usize,
    offset: usize,
    finished: bool,
}

impl<P: AsRef<[i16]>> PromptPlayer<P> {
    /// A player for these prompts, in order; `looping` for music on hold.
    pub fn new(prompts: Vec<P>, looping: bool) -> PromptPlayer<P> {
        let finished = prompts.iter().all(|p| p.as_ref().is_empty());
        PromptPlayer {
            prompts,
            looping,
            prompt: 0,
            offset: 0,
            finished,
        }
    }

    /// The next frame, or `None` once the prompts are played (never, when looping, unless
    /// every prompt is empty). Returned by value: nothing allocates per frame.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.finished {
            return None;
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            if self.prompt == self.prompts.len() {
                if self.looping {
                    self.prompt = 0;
                } else {
                    self.finished = true;
                    break;
                }
            }
            let samples = self.prompts[self.prompt].as_ref();
            let take = (samples.len() - self.offset).min(FRAME_SAMPLES - filled);
            frame[filled..filled + take].copy_from_slice(&samples[self.offset..self.offset + take]);
            filled += take;
            self.offset += take;
            if self.offset == samples.len() {
                self.prompt += 1;
                self.offset = 0;
            }
        }
        if filled == 0 {
            return None; // only empty prompts were left
        }
        if !self.looping && self.prompt == self.prompts.len() {
            self.finished = true;
        }
        Some(frame)
    }

    /// Stops playback (barge-in: the caller pressed a key).
    pub fn stop(&mut self) {
        self.finished = true;
    }

    /// Whether playback is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The prompt now playing, as an index into the list.
    pub fn current_prompt(&self) -> usize {
        self.prompt.min(self.prompts.len().saturating_sub(1))
    }
}

impl<P: AsRef<[i16]>> Iterator for PromptPlayer<P> {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        self.next_frame()
    }
}

/// Adds two signals sample by sample with saturation; the result is as long as the longer,
/// the shorter counting as silence after its end.
pub fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut out = long.to_vec();
    mix_into(&mut out, short);
    out
}

/// Adds `other` into `out` with saturation, over the shorter of the two; for the per-frame
/// path, where allocating a new buffer would be waste.
pub fn mix_into(out: &mut [i16], other: &[i16]) {
    for (o, &x) in out.iter_mut().zip(other) {
        *o = o.saturating_add(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(start: i16, len: usize) -> Vec<i16> {
        (0..len).map(|i| start + i as i16).collect()
    }

    #[test]
    fn plays_prompts_back_to_back_and_pads_the_last_frame() {
        let prompts = vec![ramp(1, 100), ramp(1000, 150)];
        let frames: Vec<Frame> = PromptPlayer::new(prompts.clone(), false).collect();
        assert_eq!(frames.len(), 2);
        let all: Vec<i16> = frames.iter().flatten().copied().collect();
        let mut expected: Vec<i16> = prompts.concat();
        expected.resize(2 * FRAME_SAMPLES, 0);
        assert_eq!(all, expected);
    }

    #[test]
    fn exact_multiples_end_without_an_extra_frame() {
        let mut player = PromptPlayer::new(vec![ramp(1, 320)], false);
        assert!(player.next_frame().is_some());
        assert!(player.next_frame().is_some());
        assert!(player.is_finished());
        assert_eq!(player.next_frame(), None);
    }

    #[test]
    fn loops_seamlessly_for_music_on_hold() {
        let music = ramp(1, 100);
        let mut player = PromptPlayer::new(vec![music.as_slice()], true);
        let stream: Vec<i16> = (0..10).flat_map(|_| player.next_frame().unwrap()).collect();
        for (i, &s) in stream.iter().enumerate() {
            assert_eq!(s, music[i % 100], "sample {i}");
        }
        player.stop();
        assert_eq!(player.next_frame(), None);
    }

    #[test]
    fn empty_prompts_play_nothing() {
        assert_eq!(
            PromptPlayer::<Vec<i16>>::new(vec![], true).next_frame(),
            None
        );
        assert_eq!(PromptPlayer::new(vec![vec![]], true).next_frame(), None);
        // An empty prompt between two others is skipped.
        let frames: Vec<Frame> =
            PromptPlayer::new(vec![ramp(1, 10), vec![], ramp(20, 10)], false).collect();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0][10], 20);
        // Empty prompts after an exact frame end add no silent frame.
        let frames: Vec<Frame> = PromptPlayer::new(vec![ramp(1, 160), vec![]], false).collect();
        assert_eq!(frames.len(), 1);
    }

    #[test]
    fn mix_saturates_and_keeps_the_longer_tail() {
        assert_eq!(
            mix(&[30000, -30000, 5], &[10000, -10000]),
            [i16::MAX, i16::MIN, 5]
        );
        assert_eq!(mix(&[1], &[2, 3]), [3, 3]);
        let mut frame = [100i16; 4];
        mix_into(&mut frame, &[1, 2]);
        assert_eq!(frame, [101, 102, 100, 100]);
    }
}
