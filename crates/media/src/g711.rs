//! G.711 companding: PCMU (µ-law, payload type 0) and PCMA (A-law, payload type 8), bit-exact
//! with the ITU-T G.191 reference implementation of G.711.
//!
//! Decoding is a look-up in a 256-entry table built at compile time by a `const fn` that follows
//! the reference's expansion formula; encoding is a handful of integer operations (the segment
//! comes from `leading_zeros`), so a 160-sample frame costs well under a microsecond either way
//! and nothing allocates.
//!
//! Two properties a reader may trip over, both from the standard itself:
//!
//! - Negative inputs are companded by their one's complement (`!x`, that is `-x - 1`), as the
//!   reference does, so `-1` encodes like `0` with the sign bit clear.
//! - µ-law has two codes for zero: `0xFF` (+0) and `0x7F` (−0). Both decode to `0`, and `0`
//!   encodes to `0xFF`, so `0x7F` is the one code that does not survive decode-then-encode.
//!   A-law has no such pair: every one of its 256 codes survives.
//!
//! The widespread Sun `g711.c` (SoX, Python's `audioop`) negates negative µ-law inputs
//! instead; it agrees with this module on every decode, every A-law encode and every
//! non-negative µ-law encode, and differs on 508 of the 32768 negative µ-law inputs, each
//! sitting on a decision boundary and landing one step further out there.

/// The samples in one 20 ms frame at 8 kHz, the packetisation every telephony peer accepts.
pub const SAMPLES_PER_FRAME: usize = 160;

/// The largest magnitude a µ-law code decodes to.
pub const ULAW_MAX: i16 = 32124;
/// The largest magnitude an A-law code decodes to.
pub const ALAW_MAX: i16 = 32256;

/// The µ-law bias added before the segment search (33 in the reference's 14-bit scale).
const ULAW_BIAS: u32 = 0x84;
/// The largest biased µ-law magnitude; larger inputs clip to the top code.
const ULAW_CLIP: u32 = 0x7FFF;

/// A G.711 law, as negotiated in SDP. The payload type numbers are the static ones of
/// RFC 3551, which is why every SIP peer knows them without an `a=rtpmap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law (North America, Japan), RTP payload type 0.
    Pcmu,
    /// A-law (Europe, China and most of the rest of the world), RTP payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551): 0 for PCMU, 8 for PCMA.
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec with this static payload type, if it is one of ours.
    pub const fn from_payload_type(payload_type: u8) -> Option<Codec> {
        match payload_type {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The encoding name as `a=rtpmap` writes it (`PCMU`, `PCMA`).
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The codec an `a=rtpmap` encoding name stands for; names are case-insensitive
    /// (RFC 4566 §6), and some devices do write `pcmu`.
    pub fn from_encoding_name(name: &str) -> Option<Codec> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }

    /// Encodes one sample.
    #[inline]
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(sample),
            Codec::Pcma => alaw_encode(sample),
        }
    }

    /// Decodes one code.
    #[inline]
    pub fn decode_sample(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ulaw_decode(code),
            Codec::Pcma => alaw_decode(code),
        }
    }

    /// Encodes `samples` into `codes`, one byte per sample, over the shorter of the two; it
    /// returns how many it wrote. The caller owns the buffer so the per-packet path never
    /// allocates.
    pub fn encode(self, samples: &[i16], codes: &mut [u8]) -> usize {
        let n = samples.len().min(codes.len());
        match self {
            Codec::Pcmu => {
                for (code, &sample) in codes[..n].iter_mut().zip(&samples[..n]) {
                    *code = ulaw_encode(sample);
                }
            }
            Codec::Pcma => {
                for (code, &sample) in codes[..n].iter_mut().zip(&samples[..n]) {
                    *code = alaw_encode(sample);
                }
            }
        }
        n
    }

    /// Decodes `codes` into `samples` over the shorter of the two; it returns how many it
    /// wrote.
    pub fn decode(self, codes: &[u8], samples: &mut [i16]) -> usize {
        let n = samples.len().min(codes.len());
        let table = match self {
            Codec::Pcmu => &ULAW_TO_LINEAR,
            Codec::Pcma => &ALAW_TO_LINEAR,
        };
        for (sample, &code) in samples[..n].iter_mut().zip(&codes[..n]) {
            *sample = table[code as usize];
        }
        n
    }

    /// The code for digital silence in this law, for padding and comfort.
    pub const fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }
}

/// Encodes one sample to µ-law (G.711 §3.2, as the G.191 reference computes it).
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    // The reference works on the one's complement of negative inputs, so `!x` and not `-x`.
    let (magnitude, mask) = if sample < 0 {
        ((!sample) as u32, 0x7F)
    } else {
        (sample as u32, 0xFF)
    };
    let biased = (magnitude + ULAW_BIAS).min(ULAW_CLIP);
    // `biased` lies in 0x84..=0x7FFF, so its top bit is bit 7 to bit 14: segments 0 to 7.
    let segment = 24 - biased.leading_zeros();
    let mantissa = (biased >> (segment + 3)) & 0x0F;
    (((segment << 4) | mantissa) as u8) ^ mask
}

/// Decodes one µ-law code.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TO_LINEAR[code as usize]
}

/// Encodes one sample to A-law (G.711 §3.1, as the G.191 reference computes it).
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let (magnitude, sign) = if sample < 0 {
        (((!sample) as u32) >> 4, 0x00)
    } else {
        ((sample as u32) >> 4, 0x80)
    };
    // Below 32 the 12-bit magnitude is its own code (segments 0 and 1 share a step); above,
    // the exponent is the position of the top bit and the mantissa the next four bits.
    let code = if magnitude < 32 {
        magnitude
    } else {
        let exponent = 28 - magnitude.leading_zeros();
        (exponent << 4) | ((magnitude >> (exponent - 1)) & 0x0F)
    };
    ((code | sign) as u8) ^ 0x55
}

/// Decodes one A-law code.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TO_LINEAR[code as usize]
}

/// The µ-law expansion of the G.191 reference (`ulaw_expand`), one code at a time.
const fn ulaw_expand(code: u8) -> i16 {
    let inverted = !code;
    let exponent = ((inverted >> 4) & 0x07) as i32;
    let mantissa = (inverted & 0x0F) as i32;
    let step = 4 << (exponent + 1);
    let magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    if code < 0x80 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// The A-law expansion of the G.191 reference (`alaw_expand`), one code at a time.
const fn alaw_expand(code: u8) -> i16 {
    let toggled = (code ^ 0x55) & 0x7F;
    let exponent = (toggled >> 4) as i32;
    let mut mantissa = (toggled & 0x0F) as i32;
    if exponent > 0 {
        mantissa += 16;
    }
    mantissa = (mantissa << 4) + 0x08;
    if exponent > 1 {
        mantissa <<= exponent - 1;
    }
    if code > 127 {
        mantissa as i16
    } else {
        -mantissa as i16
    }
}

const fn build_table(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = if alaw {
            alaw_expand(code as u8)
        } else {
            ulaw_expand(code as u8)
        };
        code += 1;
    }
    table
}

/// µ-law code → linear sample.
pub static ULAW_TO_LINEAR: [i16; 256] = build_table(false);
/// A-law code → linear sample.
pub static ALAW_TO_LINEAR: [i16; 256] = build_table(true);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ulaw_code_points() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), ULAW_MAX);
        assert_eq!(ULAW_TO_LINEAR[..4], [-32124, -31100, -30076, -29052]);
        // Between decision levels the reference's one's complement shows: -31612 is
        // companded as 31611, below the boundary at 31612.
        assert_eq!(ulaw_encode(31612), 0x80);
        assert_eq!(ulaw_encode(-31612), 0x01);
        assert_eq!(ulaw_decode(0x00), -ULAW_MAX);
        // The first step above zero: 8 in the 16-bit scale.
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_decode(0x7E), -8);
        // 1000 sits in segment 3 (step 64).
        assert_eq!(ulaw_encode(1000), 0xCE);
        assert_eq!(ulaw_decode(0xCE), 988);
    }

    #[test]
    fn known_alaw_code_points() {
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), ALAW_MAX);
        assert_eq!(ALAW_TO_LINEAR[..4], [-5504, -5248, -6016, -5760]);
        assert_eq!(alaw_decode(0x2A), -ALAW_MAX);
        assert_eq!(alaw_encode(1000), 0xFA);
        assert_eq!(alaw_decode(0xFA), 1008);
    }

    /// The size of the quantisation interval a decoded value stands in the middle of.
    fn ulaw_step(code: u8) -> i32 {
        let segment = ((!code >> 4) & 0x07) as i32;
        8 << segment
    }

    fn alaw_step(code: u8) -> i32 {
        let exponent = (((code ^ 0x55) & 0x7F) >> 4) as i32;
        if exponent <= 1 {
            16
        } else {
            16 << (exponent - 1)
        }
    }

    #[test]
    fn ulaw_round_trip_is_within_half_a_step_for_every_sample() {
        for x in i16::MIN..=i16::MAX {
            let code = ulaw_encode(x);
            let y = ulaw_decode(code) as i32;
            let error = (y - x as i32).abs();
            // +1 for the one's complement of negative inputs.
            let within = error <= ulaw_step(code) / 2 + 1;
            let clipped = y.abs() == ULAW_MAX as i32 && (x as i32).abs() > ULAW_MAX as i32;
            assert!(within || clipped, "x={x} code={code:#04x} y={y}");
        }
    }

    #[test]
    fn alaw_round_trip_is_within_half_a_step_for_every_sample() {
        for x in i16::MIN..=i16::MAX {
            let code = alaw_encode(x);
            let y = alaw_decode(code) as i32;
            let error = (y - x as i32).abs();
            assert!(
                error <= alaw_step(code) / 2 + 1,
                "x={x} code={code:#04x} y={y}"
            );
        }
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
            if code == 0x7F {
                // µ-law's negative zero: decodes to 0, and 0 encodes as positive zero.
                assert_eq!(ulaw_encode(ulaw_decode(code)), 0xFF);
            } else {
                assert_eq!(ulaw_encode(ulaw_decode(code)), code, "µ-law {code:#04x}");
            }
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        // A larger input never decodes to a smaller value: the laws are monotonic.
        let mut previous_u = i16::MIN;
        let mut previous_a = i16::MIN;
        for x in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(x));
            let a = alaw_decode(alaw_encode(x));
            assert!(u >= previous_u && a >= previous_a, "x={x}");
            previous_u = u;
            previous_a = a;
        }
    }

    #[test]
    fn slices_match_single_samples() {
        let samples: Vec<i16> = (0..SAMPLES_PER_FRAME as i32)
            .map(|i| (i * 409 - 32768) as i16)
            .collect();
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut codes = [0u8; SAMPLES_PER_FRAME];
            assert_eq!(codec.encode(&samples, &mut codes), SAMPLES_PER_FRAME);
            let mut decoded = [0i16; SAMPLES_PER_FRAME];
            assert_eq!(codec.decode(&codes, &mut decoded), SAMPLES_PER_FRAME);
            for i in 0..SAMPLES_PER_FRAME {
                assert_eq!(codes[i], codec.encode_sample(samples[i]));
                assert_eq!(decoded[i], codec.decode_sample(codes[i]));
            }
            assert!(codec.decode_sample(codec.silence()).abs() <= 8);
        }
    }

    #[test]
    fn names_and_payload_types() {
        assert_eq!(Codec::from_encoding_name("pcmu"), Some(Codec::Pcmu));
        assert_eq!(Codec::from_encoding_name("PCMA"), Some(Codec::Pcma));
        assert_eq!(Codec::from_encoding_name("G729"), None);
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(18), None);
        assert_eq!(Codec::Pcmu.payload_type(), 0);
    }
}
