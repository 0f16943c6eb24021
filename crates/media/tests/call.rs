//! `CallMedia` through its public API only, on a virtual clock (plain millisecond values):
//! latching, relay and transcoding, digits as events and as tones, prompt pacing, hold,
//! recording, RTCP reports sent and received, and what garbage and floods do to it.

use std::net::SocketAddr;
use std::sync::Arc;

use hotline_media::call::{
    CallMedia, CallMediaConfig, LegId, LegSetup, MediaEvent, Transmit, MAX_PENDING_EVENTS,
    MAX_PENDING_RECORDING_FRAMES, MAX_PENDING_TRANSMITS, RECORDING_BACKLOG_FRAMES,
    RTCP_INITIAL_INTERVAL_MS, RTCP_INTERVAL_MS, TICK_MS,
};
use hotline_media::dtmf::send_digit;
use hotline_media::g711::Codec;
use hotline_media::goertzel::detect_block;
use hotline_media::rtp::rtcp::{
    self, ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SenderReport,
};
use hotline_media::rtp::{is_rtcp, RtpPacket};
use proptest::prelude::*;

const CALLER_SDP: &str = "203.0.113.5:40000";
const CALLER_NAT: &str = "198.51.100.7:61000";
const AGENT_SDP: &str = "192.0.2.50:20000";
const STRANGER: &str = "198.51.100.99:5004";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn leg_setup(codec: Codec, telephone_event: Option<u8>, remote: &str, latch: bool) -> LegSetup {
    LegSetup {
        codec,
        payload_type: codec.payload_type(),
        telephone_event,
        remote: Some(addr(remote)),
        latch,
        send: true,
    }
}

fn media(in_band_dtmf: bool) -> CallMedia {
    CallMedia::new(CallMediaConfig {
        seed: 42,
        in_band_dtmf,
    })
}

/// A caller (PCMU, events on 101, latching) and an agent (PCMU, events on 96, no latching).
fn two_legs() -> CallMedia {
    let mut m = media(false);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcmu, Some(101), CALLER_SDP, true),
    );
    m.set_leg(
        LegId::Agent,
        leg_setup(Codec::Pcmu, Some(96), AGENT_SDP, false),
    );
    m
}

/// The RTP datagrams waiting; RTCP reports waiting with them are left out (the tests of
/// RTCP look at them with [`all_transmits`]).
fn transmits(m: &mut CallMedia) -> Vec<Transmit> {
    all_transmits(m).into_iter().filter(|t| !t.rtcp).collect()
}

fn all_transmits(m: &mut CallMedia) -> Vec<Transmit> {
    std::iter::from_fn(|| m.poll_transmit()).collect()
}

/// When the next RTCP report of either leg is due: all that `poll_timeout` says when no frame,
/// digit or recording is due.
fn next_report(m: &CallMedia) -> Option<u64> {
    [LegId::Caller, LegId::Agent]
        .into_iter()
        .filter_map(|leg| m.rtcp_due_ms(leg))
        .min()
}

fn events(m: &mut CallMedia) -> Vec<MediaEvent> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

fn digits(m: &mut CallMedia) -> Vec<(LegId, char)> {
    events(m)
        .into_iter()
        .filter_map(|e| match e {
            MediaEvent::Digit { leg, digit } => Some((leg, digit)),
            _ => None,
        })
        .collect()
}

fn parse(t: &Transmit) -> RtpPacket<'_> {
    RtpPacket::parse(&t.bytes).unwrap()
}

fn decode(codec: Codec, payload: &[u8]) -> Vec<i16> {
    let mut samples = vec![0i16; payload.len()];
    codec.decode(payload, &mut samples);
    samples
}

/// A far-end phone's RTP stream.
struct Phone {
    codec: Codec,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

impl Phone {
    fn new(codec: Codec, ssrc: u32) -> Phone {
        Phone {
            codec,
            ssrc,
            sequence: 1000,
            timestamp: 50_000,
        }
    }

    /// One packet of these samples, encoded.
    fn audio(&mut self, samples: &[i16]) -> Vec<u8> {
        let mut payload = vec![0u8; samples.len()];
        self.codec.encode(samples, &mut payload);
        self.raw(&payload)
    }

    /// One packet of this payload, as is.
    fn raw(&mut self, payload: &[u8]) -> Vec<u8> {
        let packet = RtpPacket::new(
            self.codec.payload_type(),
            self.sequence,
            self.timestamp,
            self.ssrc,
            payload,
        );
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(payload.len() as u32);
        packet.to_vec().unwrap()
    }
}

fn tone(frequency: f32, amplitude: f32, samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|n| {
            let t = n as f32 / 8000.0;
            (amplitude * (2.0 * std::f32::consts::PI * frequency * t).sin()) as i16
        })
        .collect()
}

/// The dual tone of a key at 8 kHz.
fn dtmf_tone(digit: char, ms: usize) -> Vec<i16> {
    let rows = [697.0f32, 770.0, 852.0, 941.0];
    let columns = [1209.0f32, 1336.0, 1477.0, 1633.0];
    let index = "123A456B789C*0#D".find(digit).unwrap();
    let row = tone(rows[index / 4], 6000.0, ms * 8);
    let column = tone(columns[index % 4], 7000.0, ms * 8);
    row.iter().zip(&column).map(|(a, b)| a + b).collect()
}

/// Within G.711's quantisation error (half a step, a step being at most 1/16 of the value).
fn close(got: i16, want: i16) -> bool {
    (got as i32 - want as i32).abs() <= (want as i32).abs() / 16 + 16
}

fn energy(samples: &[i16]) -> f64 {
    samples.iter().map(|&s| (s as f64) * (s as f64)).sum()
}

fn prompt(samples: usize, value: i16) -> Arc<[i16]> {
    vec![value; samples].into()
}

#[test]
fn latching_sends_to_the_sdp_address_then_the_source_and_drops_strangers() {
    let mut m = two_legs();
    m.play(LegId::Caller, vec![], vec![prompt(160, 1000)]);
    m.handle_timeout(0);
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].leg, LegId::Caller);
    assert_eq!(
        sent[0].destination,
        addr(CALLER_SDP),
        "before latching: SDP"
    );

    let mut phone = Phone::new(Codec::Pcmu, 7);
    m.handle_packet(5, LegId::Caller, addr(CALLER_NAT), &phone.audio(&[0; 160]));
    assert!(events(&mut m).contains(&MediaEvent::Latched {
        leg: LegId::Caller,
        remote: addr(CALLER_NAT),
    }));
    m.handle_timeout(20);
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination, addr(CALLER_NAT), "after latching");

    // RTP bleed: a third party's packets are dropped and counted, latching holds.
    m.handle_packet(30, LegId::Caller, addr(STRANGER), &phone.audio(&[0; 160]));
    assert!(events(&mut m).is_empty());
    let stats = m.stats(LegId::Caller);
    assert_eq!(stats.packets_in, 1);
    assert_eq!(stats.dropped, 1);
    m.handle_timeout(40);
    assert_eq!(transmits(&mut m)[0].destination, addr(CALLER_NAT));

    // Without latching: any source is taken, and we keep sending to the SDP address.
    m.play(LegId::Agent, vec![], vec![prompt(160, 1000)]);
    let mut agent = Phone::new(Codec::Pcmu, 9);
    m.handle_packet(41, LegId::Agent, addr(STRANGER), &agent.audio(&[0; 160]));
    m.handle_packet(42, LegId::Agent, addr(CALLER_NAT), &agent.audio(&[0; 160]));
    assert_eq!(m.stats(LegId::Agent).packets_in, 2);
    assert_eq!(m.stats(LegId::Agent).dropped, 0);
    assert!(!events(&mut m)
        .iter()
        .any(|e| matches!(e, MediaEvent::Latched { .. })));
    m.handle_timeout(60);
    let agent_sent: Vec<_> = transmits(&mut m)
        .into_iter()
        .filter(|t| t.leg == LegId::Agent)
        .collect();
    assert_eq!(agent_sent.len(), 1);
    assert_eq!(agent_sent[0].destination, addr(AGENT_SDP));

    // A re-INVITE to a new address starts latching over.
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcmu, Some(101), "203.0.113.6:40002", true),
    );
    m.handle_timeout(80);
    let caller_sent: Vec<_> = transmits(&mut m)
        .into_iter()
        .filter(|t| t.leg == LegId::Caller)
        .collect();
    assert_eq!(caller_sent[0].destination, addr("203.0.113.6:40002"));
    m.handle_packet(81, LegId::Caller, addr(STRANGER), &phone.audio(&[0; 160]));
    assert!(events(&mut m).contains(&MediaEvent::Latched {
        leg: LegId::Caller,
        remote: addr(STRANGER),
    }));
}

#[test]
fn no_address_sends_nothing_until_latched() {
    let mut m = media(false);
    let mut setup = leg_setup(Codec::Pcma, None, "0.0.0.0:0", true);
    setup.remote = None;
    m.set_leg(LegId::Caller, setup.clone());
    m.play(LegId::Caller, vec![], vec![prompt(160, 500)]);
    m.handle_timeout(0);
    assert!(transmits(&mut m).is_empty());

    // Port 0 is no address either.
    setup.remote = Some(addr("203.0.113.5:0"));
    m.set_leg(LegId::Caller, setup);
    m.handle_timeout(20);
    assert!(transmits(&mut m).is_empty());

    let mut phone = Phone::new(Codec::Pcma, 3);
    m.handle_packet(30, LegId::Caller, addr(CALLER_NAT), &phone.audio(&[0; 160]));
    m.handle_timeout(40);
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination, addr(CALLER_NAT));
    assert!(parse(&sent[0]).marker, "the stream's first packet");
}

#[test]
fn relay_same_codec_keeps_the_payload_and_continues_our_stream() {
    let mut m = two_legs();
    // The agent hears a whisper prompt first: three frames, 20 ms apart.
    m.play(LegId::Agent, vec![prompt(480, 300)], vec![]);
    let mut prompt_packets = Vec::new();
    for now in [0, 20, 40] {
        m.handle_timeout(now);
        prompt_packets.extend(transmits(&mut m));
    }
    assert_eq!(prompt_packets.len(), 3);
    assert!(events(&mut m).contains(&MediaEvent::PromptsFinished { leg: LegId::Agent }));
    let last = parse(&prompt_packets[2]);
    let (ssrc, last_sequence, last_timestamp) = (last.ssrc, last.sequence, last.timestamp);
    assert!(parse(&prompt_packets[0]).marker);
    assert!(!parse(&prompt_packets[1]).marker);

    m.bridge();
    assert!(m.is_bridged());
    assert_eq!(m.poll_timeout(), next_report(&m), "only relaying");
    let mut caller = Phone::new(Codec::Pcmu, 0xABCD);
    let payloads: Vec<Vec<u8>> = (0..3u8)
        .map(|k| (0..160).map(|i| (i as u8).wrapping_mul(k + 1)).collect())
        .collect();
    let mut relayed = Vec::new();
    for (k, payload) in payloads.iter().enumerate() {
        let now = 60 + 20 * k as u64;
        m.handle_packet(now, LegId::Caller, addr(CALLER_NAT), &caller.raw(payload));
        relayed.extend(transmits(&mut m));
    }
    assert_eq!(relayed.len(), 3, "relayed at once, no buffering");
    for (k, t) in relayed.iter().enumerate() {
        let p = parse(t);
        assert_eq!(t.leg, LegId::Agent);
        assert_eq!(t.destination, addr(AGENT_SDP));
        assert_eq!(p.payload, &payloads[k][..], "payload untouched");
        assert_eq!(p.payload_type, 0);
        assert_eq!(p.ssrc, ssrc, "our SSRC, not the caller's");
        assert_eq!(p.sequence, last_sequence.wrapping_add(1 + k as u16));
        assert_eq!(
            p.timestamp,
            last_timestamp.wrapping_add(160 * (k as u32 + 1)),
            "the timestamp continues from the prompt"
        );
        assert_eq!(
            p.marker,
            k == 0,
            "marker on the first packet after the switch"
        );
    }

    // A prompt to the agent while bridged replaces the caller's audio for the agent only.
    m.play(LegId::Agent, vec![prompt(160, 300)], vec![]);
    m.handle_packet(
        120,
        LegId::Caller,
        addr(CALLER_NAT),
        &caller.raw(&payloads[0]),
    );
    assert!(transmits(&mut m).is_empty(), "the agent hears the prompt");
    m.handle_timeout(120);
    let whisper = transmits(&mut m);
    assert_eq!(whisper.len(), 1);
    let whisper_packet = parse(&whisper[0]);
    assert!(whisper_packet.marker);
    assert_eq!(whisper_packet.sequence, last_sequence.wrapping_add(4));
    let mut agent = Phone::new(Codec::Pcmu, 0x5555);
    m.handle_packet(125, LegId::Agent, addr(AGENT_SDP), &agent.raw(&payloads[1]));
    let to_caller = transmits(&mut m);
    assert_eq!(to_caller.len(), 1, "the caller still hears the agent");
    assert_eq!(to_caller[0].leg, LegId::Caller);
    assert_eq!(to_caller[0].destination, addr(CALLER_NAT));
    assert_ne!(parse(&to_caller[0]).ssrc, ssrc, "one stream per leg");

    // bridge() again restores the relay; the timestamp follows wall time across the gap.
    m.bridge();
    m.handle_packet(
        300,
        LegId::Caller,
        addr(CALLER_NAT),
        &caller.raw(&payloads[2]),
    );
    let back = transmits(&mut m);
    assert_eq!(back.len(), 1);
    let p = parse(&back[0]);
    assert!(p.marker);
    assert_eq!(p.sequence, whisper_packet.sequence.wrapping_add(1));
    assert_eq!(
        p.timestamp,
        whisper_packet.timestamp.wrapping_add(180 * 8),
        "180 ms after the whisper frame"
    );
    assert_eq!(m.stats(LegId::Agent).packets_out, 8);
    assert_eq!(m.stats(LegId::Caller).packets_out, 1);
    assert_eq!(m.stats(LegId::Caller).packets_in, 5);
}

#[test]
fn relay_transcodes_pcmu_to_pcma() {
    let mut m = media(false);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcmu, None, CALLER_SDP, false),
    );
    m.set_leg(LegId::Agent, leg_setup(Codec::Pcma, None, AGENT_SDP, false));
    m.bridge();
    let speech = tone(440.0, 12000.0, 160);
    let mut caller = Phone::new(Codec::Pcmu, 1);
    let datagram = caller.audio(&speech);
    let ulaw_payload = RtpPacket::parse(&datagram).unwrap().payload.to_vec();
    m.handle_packet(0, LegId::Caller, addr(CALLER_SDP), &datagram);
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 1);
    let p = parse(&sent[0]);
    assert_eq!(p.payload_type, 8, "the agent's payload type");
    assert_eq!(p.payload.len(), 160);
    assert_ne!(p.payload, &ulaw_payload[..], "transcoded, not copied");
    let heard = decode(Codec::Pcma, p.payload);
    for (i, (&got, &sent)) in heard.iter().zip(&speech).enumerate() {
        // Two quantisations: each within half a step, a step being at most 1024 at the top.
        assert!(
            (got as i32 - sent as i32).abs() <= 1024,
            "sample {i}: {got} vs {sent}"
        );
    }
    let through_ulaw = decode(Codec::Pcmu, &ulaw_payload);
    for (&a, &u) in heard.iter().zip(&through_ulaw) {
        let step = (u as i32).abs() / 16 + 16;
        assert!((a as i32 - u as i32).abs() <= step, "{a} vs {u}");
    }

    // And back: the agent's A-law reaches the caller as µ-law.
    let mut agent = Phone::new(Codec::Pcma, 2);
    m.handle_packet(1, LegId::Agent, addr(AGENT_SDP), &agent.audio(&speech));
    let sent = transmits(&mut m);
    let p = parse(&sent[0]);
    assert_eq!(sent[0].leg, LegId::Caller);
    assert_eq!(p.payload_type, 0);
    let heard = decode(Codec::Pcmu, p.payload);
    for (&got, &sent) in heard.iter().zip(&speech) {
        assert!((got as i32 - sent as i32).abs() <= 1024);
    }
}

/// The packets of one key press as a phone sends them, on payload type `pt`.
fn digit_packets(
    phone: &mut Phone,
    pt: u8,
    digit: char,
    ms: u32,
    start_ms: u64,
) -> Vec<(u64, Vec<u8>)> {
    let packets = send_digit(digit, ms, phone.timestamp, start_ms).unwrap();
    let next = packets.next_audio_timestamp();
    let out = packets
        .map(|p| {
            let mut packet =
                RtpPacket::new(pt, phone.sequence, p.timestamp, phone.ssrc, &p.payload);
            packet.marker = p.marker;
            phone.sequence = phone.sequence.wrapping_add(1);
            (p.send_at_ms, packet.to_vec().unwrap())
        })
        .collect();
    phone.timestamp = next;
    out
}

#[test]
fn rfc4733_digits_are_reported_once_and_relayed_with_the_other_payload_type() {
    let mut m = two_legs();
    let mut caller = Phone::new(Codec::Pcmu, 77);
    for (at, bytes) in digit_packets(&mut caller, 101, '5', 100, 0) {
        m.handle_packet(at, LegId::Caller, addr(CALLER_NAT), &bytes);
    }
    assert_eq!(digits(&mut m), vec![(LegId::Caller, '5')]);
    assert!(transmits(&mut m).is_empty(), "not bridged: nothing relayed");

    // A press whose end packets are all lost ends at the receiver's timeout.
    let packets = digit_packets(&mut caller, 101, '7', 100, 1000);
    let count = packets.len();
    for (at, bytes) in packets.into_iter().take(count - 3) {
        m.handle_packet(at, LegId::Caller, addr(CALLER_NAT), &bytes);
    }
    assert!(digits(&mut m).is_empty());
    let due = m.poll_timeout().expect("a digit in progress");
    m.handle_timeout(due - 1);
    assert!(digits(&mut m).is_empty());
    m.handle_timeout(due);
    assert_eq!(digits(&mut m), vec![(LegId::Caller, '7')]);
    assert_eq!(m.poll_timeout(), next_report(&m));

    // Bridged: audio, then a press, then audio; events go out on the agent's type 96 with
    // the same timestamp relationship to the audio.
    m.bridge();
    let mut now = 2000;
    let audio_ts = caller.timestamp;
    m.handle_packet(
        now,
        LegId::Caller,
        addr(CALLER_NAT),
        &caller.audio(&[0; 160]),
    );
    let first = transmits(&mut m);
    let first_out_ts = parse(&first[0]).timestamp;
    let event_ts = caller.timestamp;
    let packets = digit_packets(&mut caller, 101, '#', 60, now + 20);
    let n = packets.len();
    for (at, bytes) in packets {
        now = at;
        m.handle_packet(at, LegId::Caller, addr(CALLER_NAT), &bytes);
    }
    let relayed = transmits(&mut m);
    assert_eq!(relayed.len(), n);
    for t in &relayed {
        let p = parse(t);
        assert_eq!(t.leg, LegId::Agent);
        assert_eq!(p.payload_type, 96);
        assert_eq!(
            p.timestamp.wrapping_sub(first_out_ts),
            event_ts.wrapping_sub(audio_ts)
        );
    }
    assert!(parse(&relayed[0]).marker);
    assert!(!parse(&relayed[1]).marker);
    assert_eq!(digits(&mut m), vec![(LegId::Caller, '#')], "still reported");

    // An agent without telephone events gets none relayed, but the digit is still heard.
    m.set_leg(LegId::Agent, leg_setup(Codec::Pcmu, None, AGENT_SDP, false));
    for (at, bytes) in digit_packets(&mut caller, 101, '9', 60, now + 100) {
        m.handle_packet(at, LegId::Caller, addr(CALLER_NAT), &bytes);
    }
    assert!(transmits(&mut m).is_empty());
    assert_eq!(digits(&mut m), vec![(LegId::Caller, '9')]);
    assert_eq!(m.stats(LegId::Caller).dropped, 0);
}

/// Sends `samples` on a leg as 20 ms packets from `start_ms`.
fn send_audio(
    m: &mut CallMedia,
    phone: &mut Phone,
    leg: LegId,
    source: &str,
    start_ms: u64,
    samples: &[i16],
) {
    for (k, frame) in samples.chunks(160).enumerate() {
        m.handle_packet(
            start_ms + 20 * k as u64,
            leg,
            addr(source),
            &phone.audio(frame),
        );
    }
}

fn keyed(digits: &[&str]) -> Vec<i16> {
    let mut pcm = Vec::new();
    for d in digits {
        for c in d.chars() {
            pcm.extend(dtmf_tone(c, 80));
            pcm.extend(vec![0i16; 640]);
        }
    }
    pcm
}

#[test]
fn in_band_tones_are_heard_only_without_telephone_events_and_unbridged() {
    let pcm = keyed(&["4", "#"]);

    let mut m = media(true);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcma, None, CALLER_SDP, true),
    );
    let mut phone = Phone::new(Codec::Pcma, 5);
    send_audio(&mut m, &mut phone, LegId::Caller, CALLER_NAT, 0, &pcm);
    assert_eq!(
        digits(&mut m),
        vec![(LegId::Caller, '4'), (LegId::Caller, '#')]
    );

    // Not asked for.
    let mut m = media(false);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcma, None, CALLER_SDP, true),
    );
    send_audio(&mut m, &mut phone, LegId::Caller, CALLER_NAT, 0, &pcm);
    assert!(digits(&mut m).is_empty());

    // The leg negotiated telephone events: tones in its audio are not keys.
    let mut m = media(true);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcma, Some(101), CALLER_SDP, true),
    );
    send_audio(&mut m, &mut phone, LegId::Caller, CALLER_NAT, 0, &pcm);
    assert!(digits(&mut m).is_empty());

    // Bridged: the tones go to the agent, they are not menu keys.
    let mut m = media(true);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcma, None, CALLER_SDP, true),
    );
    m.set_leg(LegId::Agent, leg_setup(Codec::Pcma, None, AGENT_SDP, false));
    m.bridge();
    send_audio(&mut m, &mut phone, LegId::Caller, CALLER_NAT, 0, &pcm);
    assert!(digits(&mut m).is_empty());
    assert_eq!(transmits(&mut m).len(), pcm.len() / 160);
}

#[test]
fn prompts_are_paced_one_frame_a_tick_then_music_on_hold_loops() {
    let mut m = two_legs();
    // 1 s of prompt, 50 frames, in two prompts that do not end on a frame boundary.
    let first: Arc<[i16]> = (0..4000).map(|i| (i % 100) as i16 * 100).collect();
    let second: Arc<[i16]> = (0..4000).map(|i| -((i % 50) as i16) * 100).collect();
    let music: Arc<[i16]> = (0..250).map(|i| 3000 + i as i16).collect();
    let mut expected: Vec<i16> = first.iter().chain(second.iter()).copied().collect();
    m.handle_timeout(1000);
    m.play(
        LegId::Caller,
        vec![first.clone(), second.clone()],
        vec![music.clone()],
    );
    assert!(
        m.poll_timeout().unwrap() <= 1000,
        "the first frame is due at once"
    );
    let mut heard = Vec::new();
    let mut now = 1000;
    let mut finished_at = None;
    // 20 ticks on time: 20 frames.
    for _ in 0..20 {
        m.handle_timeout(now);
        let sent = transmits(&mut m);
        assert_eq!(sent.len(), 1, "one frame per tick");
        heard.push(sent[0].clone());
        now += TICK_MS;
        assert_eq!(m.poll_timeout(), Some(now));
    }
    // A tick twice at the same time sends nothing more.
    m.handle_timeout(now - TICK_MS);
    assert!(transmits(&mut m).is_empty());
    // 200 ms late: ten frames due, five sent, the rest skipped.
    now += 9 * TICK_MS;
    m.handle_timeout(now);
    let burst = transmits(&mut m);
    assert_eq!(burst.len(), 5, "catch-up capped at 5");
    let gap = parse(&burst[0]);
    let before = parse(heard.last().unwrap());
    assert_eq!(gap.sequence, before.sequence.wrapping_add(1));
    assert_eq!(
        gap.timestamp,
        before.timestamp.wrapping_add(6 * 160),
        "the skipped slots show as a gap in the timestamps"
    );
    assert!(gap.marker);
    heard.extend(burst);
    now += TICK_MS;
    assert_eq!(m.poll_timeout(), Some(now));
    // The rest, on time, until the prompts end.
    while finished_at.is_none() {
        m.handle_timeout(now);
        let sent = transmits(&mut m);
        assert_eq!(sent.len(), 1);
        heard.extend(sent);
        if events(&mut m).contains(&MediaEvent::PromptsFinished { leg: LegId::Caller }) {
            finished_at = Some(heard.len());
        }
        now += TICK_MS;
    }
    assert_eq!(finished_at, Some(50), "finished right after the 50th frame");
    // Nothing of the prompt was skipped: the backlog only delayed it.
    let samples: Vec<i16> = heard
        .iter()
        .flat_map(|t| decode(Codec::Pcmu, parse(t).payload))
        .collect();
    expected.truncate(samples.len());
    for (i, (&got, &want)) in samples.iter().zip(&expected).enumerate() {
        assert!(close(got, want), "sample {i}: {got} vs {want}");
    }
    // Music on hold loops on after it, seamlessly and with continuous sequence numbers.
    let mut moh = Vec::new();
    for _ in 0..10 {
        m.handle_timeout(now);
        let sent = transmits(&mut m);
        assert_eq!(sent.len(), 1);
        moh.extend(sent);
        now += TICK_MS;
    }
    assert!(events(&mut m).is_empty(), "PromptsFinished only once");
    let mut sequence = parse(heard.last().unwrap()).sequence;
    for t in &moh {
        sequence = sequence.wrapping_add(1);
        assert_eq!(parse(t).sequence, sequence);
    }
    let music_heard: Vec<i16> = moh
        .iter()
        .flat_map(|t| decode(Codec::Pcmu, parse(t).payload))
        .collect();
    for (i, got) in music_heard.iter().enumerate() {
        let want = music[i % 250];
        assert!(close(*got, want), "sample {i}: {got} vs {want}");
    }

    // stop(): silence, nothing due.
    m.stop(LegId::Caller);
    assert_eq!(m.poll_timeout(), next_report(&m));
    m.handle_timeout(now + 1000);
    assert!(transmits(&mut m).is_empty());
}

#[test]
fn prompts_without_music_end_in_silence() {
    let mut m = two_legs();
    m.play(LegId::Agent, vec![prompt(300, 100)], vec![]);
    m.handle_timeout(0);
    assert!(events(&mut m).is_empty());
    m.handle_timeout(20);
    assert_eq!(
        events(&mut m),
        vec![MediaEvent::PromptsFinished { leg: LegId::Agent }]
    );
    assert_eq!(transmits(&mut m).len(), 2);
    assert_eq!(m.poll_timeout(), next_report(&m));
    m.handle_timeout(40);
    assert!(transmits(&mut m).is_empty());

    // Nothing to play at all: finished at the next tick, no packet.
    m.play(LegId::Agent, vec![], vec![]);
    m.handle_timeout(60);
    assert_eq!(
        events(&mut m),
        vec![MediaEvent::PromptsFinished { leg: LegId::Agent }]
    );
    assert!(transmits(&mut m).is_empty());

    // A leg not set up: play is ignored.
    let mut lone = media(false);
    lone.play(LegId::Caller, vec![prompt(160, 1)], vec![]);
    assert_eq!(lone.poll_timeout(), None);
    lone.handle_timeout(0);
    assert!(transmits(&mut lone).is_empty());
    assert!(events(&mut lone).is_empty());
}

#[test]
fn hold_sends_nothing_but_still_receives() {
    let mut m = two_legs();
    m.bridge();
    let mut hold = leg_setup(Codec::Pcmu, Some(96), AGENT_SDP, false);
    hold.send = false;
    m.set_leg(LegId::Agent, hold.clone());
    let mut caller = Phone::new(Codec::Pcmu, 1);
    let mut agent = Phone::new(Codec::Pcmu, 2);
    m.handle_packet(0, LegId::Caller, addr(CALLER_NAT), &caller.audio(&[0; 160]));
    assert!(transmits(&mut m).is_empty(), "no relay to a holding leg");
    m.play(LegId::Agent, vec![], vec![prompt(160, 100)]);
    m.handle_timeout(0);
    m.handle_timeout(20);
    assert!(transmits(&mut m).is_empty(), "no prompts either");
    // The holding phone's music still reaches the caller, and its keys are still heard.
    m.handle_packet(20, LegId::Agent, addr(AGENT_SDP), &agent.audio(&[0; 160]));
    let to_caller = transmits(&mut m);
    assert_eq!(to_caller.len(), 1);
    assert_eq!(to_caller[0].leg, LegId::Caller);
    for (at, bytes) in digit_packets(&mut agent, 96, '1', 60, 40) {
        m.handle_packet(at, LegId::Agent, addr(AGENT_SDP), &bytes);
    }
    assert_eq!(digits(&mut m), vec![(LegId::Agent, '1')]);
    assert_eq!(m.stats(LegId::Agent).packets_in, 1 + 5);
    for now in (40..=200).step_by(20) {
        m.handle_timeout(now);
    }
    assert!(transmits(&mut m).iter().all(|t| t.leg == LegId::Caller));
    assert_eq!(m.stats(LegId::Agent).packets_out, 0);

    // Resumed: music on hold to the agent resumes, marker set.
    hold.send = true;
    m.set_leg(LegId::Agent, hold);
    m.handle_timeout(220);
    let sent: Vec<_> = transmits(&mut m)
        .into_iter()
        .filter(|t| t.leg == LegId::Agent)
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(parse(&sent[0]).marker);
}

#[test]
fn stereo_recording_puts_the_caller_left_and_the_agent_right() {
    let mut m = two_legs();
    m.start_recording(true);
    // Not bridged: nothing recorded.
    let mut caller = Phone::new(Codec::Pcmu, 1);
    let mut agent = Phone::new(Codec::Pcmu, 2);
    m.handle_packet(
        0,
        LegId::Caller,
        addr(CALLER_NAT),
        &caller.audio(&[5000; 160]),
    );
    m.handle_timeout(0);
    let mut out = Vec::new();
    m.poll_recording(&mut out);
    assert!(out.is_empty());
    assert_eq!(m.poll_timeout(), next_report(&m));

    m.bridge();
    assert_eq!(m.poll_timeout(), Some(0), "the first frame is due at once");
    let speech = tone(1000.0, 8000.0, 160 * 10);
    for k in 0..10u64 {
        let now = 100 + 20 * k;
        let frame = &speech[k as usize * 160..(k as usize + 1) * 160];
        m.handle_packet(now, LegId::Caller, addr(CALLER_NAT), &caller.audio(frame));
        m.handle_packet(now, LegId::Agent, addr(AGENT_SDP), &agent.audio(&[0; 160]));
        m.handle_timeout(now);
    }
    m.poll_recording(&mut out);
    assert_eq!(out.len(), 10 * 160 * 2);
    let left: Vec<i16> = out.iter().step_by(2).copied().collect();
    let right: Vec<i16> = out.iter().skip(1).step_by(2).copied().collect();
    assert!(energy(&left) > 1e9, "the caller's tone on the left");
    assert_eq!(energy(&right), 0.0, "nothing on the right");
    for (&got, &want) in left.iter().zip(&speech) {
        assert!(close(got, want), "{got} vs {want}");
    }
    // Polled: nothing left.
    out.clear();
    m.poll_recording(&mut out);
    assert!(out.is_empty());

    // A leg that sent nothing records silence; the recorder keeps time.
    m.handle_timeout(300);
    m.poll_recording(&mut out);
    assert_eq!(out.len(), 320);
    assert_eq!(energy(&out), 0.0);
}

#[test]
fn mono_recording_mixes_both_legs() {
    let mut m = two_legs();
    m.bridge();
    m.start_recording(false);
    let mut caller = Phone::new(Codec::Pcma, 1);
    let mut agent = Phone::new(Codec::Pcma, 2);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcma, Some(101), CALLER_SDP, true),
    );
    m.set_leg(
        LegId::Agent,
        leg_setup(Codec::Pcma, Some(96), AGENT_SDP, false),
    );
    let a = tone(500.0, 6000.0, 160);
    let b = tone(1300.0, 6000.0, 160);
    m.handle_packet(0, LegId::Caller, addr(CALLER_NAT), &caller.audio(&a));
    m.handle_packet(0, LegId::Agent, addr(AGENT_SDP), &agent.audio(&b));
    m.handle_timeout(0);
    let mut out = Vec::new();
    m.poll_recording(&mut out);
    assert_eq!(out.len(), 160);
    for i in 0..160 {
        let want = a[i] as i32 + b[i] as i32;
        assert!((out[i] as i32 - want).abs() <= 300, "sample {i}");
    }
    // A tone of the caller's alone shows its own frequency in the mix: the agent's doesn't
    // cancel it out.
    assert!(energy(&out) > energy(&a));
}

#[test]
fn recording_is_bounded_on_both_sides() {
    let mut m = two_legs();
    m.bridge();
    m.start_recording(false);
    let mut caller = Phone::new(Codec::Pcmu, 1);
    // A burst of 1 s of audio between two ticks: only the backlog is kept.
    m.handle_timeout(0);
    for k in 0..50u64 {
        m.handle_packet(
            1,
            LegId::Caller,
            addr(CALLER_NAT),
            &caller.audio(&[(k as i16 + 1) * 100; 160]),
        );
    }
    let mut out = Vec::new();
    m.poll_recording(&mut out);
    out.clear();
    for k in 1..=20u64 {
        m.handle_timeout(20 * k);
    }
    m.poll_recording(&mut out);
    assert_eq!(out.len(), 20 * 160);
    let nonzero = out.chunks(160).filter(|f| energy(f) > 0.0).count();
    assert_eq!(nonzero, RECORDING_BACKLOG_FRAMES);
    // The newest audio is what was kept (the oldest dropped).
    let first_kept = decode(Codec::Pcmu, &[Codec::Pcmu.encode_sample(4100)])[0];
    assert!(
        (out[0] as i32 - first_kept as i32).abs() <= 256,
        "{}",
        out[0]
    );

    // Nobody polls for 3 s: at most MAX_PENDING_RECORDING_FRAMES wait, the rest counted.
    let before = m.overflows();
    for k in 21..=170u64 {
        m.handle_timeout(20 * k);
    }
    out.clear();
    m.poll_recording(&mut out);
    assert_eq!(out.len(), MAX_PENDING_RECORDING_FRAMES * 160);
    assert_eq!(
        m.overflows() - before,
        150 - MAX_PENDING_RECORDING_FRAMES as u64
    );
}

#[test]
fn queues_are_bounded_when_nobody_polls() {
    let mut m = two_legs();
    m.bridge();
    let mut caller = Phone::new(Codec::Pcmu, 1);
    for k in 0..1000u64 {
        m.handle_packet(k, LegId::Caller, addr(CALLER_NAT), &caller.audio(&[0; 160]));
    }
    assert_eq!(m.stats(LegId::Agent).packets_out, 1000);
    assert_eq!(m.overflows(), 1000 - MAX_PENDING_TRANSMITS as u64);
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), MAX_PENDING_TRANSMITS);
    // The newest were kept.
    let first = parse(&sent[0]).sequence;
    let last = parse(sent.last().unwrap()).sequence;
    assert_eq!(last.wrapping_sub(first), MAX_PENDING_TRANSMITS as u16 - 1);

    let mut m = two_legs();
    let mut start = 0;
    for _ in 0..(MAX_PENDING_EVENTS + 10) {
        for (at, bytes) in digit_packets(&mut caller, 101, '3', 40, start) {
            m.handle_packet(at, LegId::Caller, addr(CALLER_NAT), &bytes);
        }
        start += 200;
    }
    let all = events(&mut m);
    assert_eq!(all.len(), MAX_PENDING_EVENTS);
    assert!(all.iter().all(|e| *e
        == MediaEvent::Digit {
            leg: LegId::Caller,
            digit: '3'
        }));
    // The Latched event was the oldest, and dropped.
    assert_eq!(m.overflows(), 11);
}

#[test]
fn garbage_is_dropped_and_counted_and_rtcp_set_apart() {
    let mut m = two_legs();
    m.bridge();
    let source = addr(CALLER_NAT);
    let mut caller = Phone::new(Codec::Pcmu, 1);
    // An RTCP receiver report on the RTP socket: RTCP, not a dropped RTP packet.
    let rtcp = [0x80, 201, 0, 1, 0, 0, 0, 1];
    m.handle_packet(0, LegId::Caller, source, &rtcp);
    assert_eq!(m.stats(LegId::Caller).dropped, 0);
    assert_eq!(m.stats(LegId::Caller).rtcp_in, 1);
    assert!(events(&mut m).is_empty(), "RTCP does not latch RTP");
    // Not RTP, too short, too large, an unknown payload type.
    m.handle_packet(0, LegId::Caller, source, b"hello, world");
    m.handle_packet(0, LegId::Caller, source, &[0x80, 0]);
    let mut big = caller.audio(&[0; 160]);
    big.resize(1501, 0);
    m.handle_packet(0, LegId::Caller, source, &big);
    let mut g729 = caller.audio(&[0; 160]);
    g729[1] = 18;
    m.handle_packet(0, LegId::Caller, source, &g729);
    let mut pcma = caller.audio(&[0; 160]);
    pcma[1] = 8;
    m.handle_packet(0, LegId::Caller, source, &pcma);
    // A telephone event too short to be one.
    let short_event = RtpPacket::new(101, 1, 1, 1, &[1, 2]).to_vec().unwrap();
    m.handle_packet(0, LegId::Caller, source, &short_event);
    assert_eq!(m.stats(LegId::Caller).dropped, 6);
    assert_eq!(m.stats(LegId::Caller).packets_in, 0);
    assert!(transmits(&mut m).is_empty(), "nothing relayed");
    assert!(events(&mut m).is_empty(), "garbage does not latch");

    // Packets for a leg that is not set up.
    let mut lone = media(false);
    lone.handle_packet(0, LegId::Agent, source, &caller.audio(&[0; 160]));
    assert_eq!(lone.stats(LegId::Agent).dropped, 1);
}

#[test]
fn statistics_follow_the_far_stream_and_start_over_with_a_new_ssrc() {
    let mut m = two_legs();
    let mut caller = Phone::new(Codec::Pcmu, 1);
    for k in 0..20u64 {
        let bytes = caller.audio(&[0; 160]);
        if k == 10 {
            continue; // lost
        }
        // Every other packet 5 ms late.
        let now = 20 * k + if k % 2 == 1 { 5 } else { 0 };
        m.handle_packet(now, LegId::Caller, addr(CALLER_NAT), &bytes);
    }
    let stats = m.stats(LegId::Caller);
    assert_eq!(stats.packets_in, 19);
    assert_eq!(stats.lost, 1);
    assert!(stats.jitter > 0);
    let mut restarted = Phone::new(Codec::Pcmu, 2);
    restarted.sequence = 7;
    for k in 0..3u64 {
        m.handle_packet(
            1000 + 20 * k,
            LegId::Caller,
            addr(CALLER_NAT),
            &restarted.audio(&[0; 160]),
        );
    }
    let stats = m.stats(LegId::Caller);
    assert_eq!(stats.packets_in, 22);
    assert_eq!(stats.lost, 0);
    assert_eq!(stats.jitter, 0);
}

#[test]
fn a_new_far_stream_during_relay_starts_a_new_run_without_a_timestamp_jump() {
    let mut m = two_legs();
    m.bridge();
    let mut caller = Phone::new(Codec::Pcmu, 1);
    m.handle_packet(0, LegId::Caller, addr(CALLER_NAT), &caller.audio(&[0; 160]));
    let first = parse(&transmits(&mut m)[0]).timestamp;
    // The caller's device switches streams: new SSRC, timestamps far away.
    let mut other = Phone::new(Codec::Pcmu, 99);
    other.timestamp = 0x8000_0000;
    m.handle_packet(20, LegId::Caller, addr(CALLER_NAT), &other.audio(&[0; 160]));
    let sent = transmits(&mut m);
    let p = parse(&sent[0]);
    assert_eq!(p.timestamp, first.wrapping_add(160));
    assert!(p.marker);
}

#[test]
fn a_removed_leg_is_forgotten_and_can_come_back() {
    let mut m = two_legs();
    m.bridge();
    m.start_recording(false);
    let mut caller = Phone::new(Codec::Pcmu, 1);
    let mut agent = Phone::new(Codec::Pcmu, 2);
    m.handle_packet(0, LegId::Agent, addr(AGENT_SDP), &agent.audio(&[0; 160]));
    let caller_ssrc = parse(&transmits(&mut m)[0]).ssrc;
    m.handle_packet(0, LegId::Caller, addr(CALLER_NAT), &caller.audio(&[0; 160]));
    let agent_ssrc = parse(&transmits(&mut m)[0]).ssrc;

    m.remove_leg(LegId::Agent);
    assert!(!m.is_bridged());
    assert_eq!(
        m.poll_timeout(),
        next_report(&m),
        "no recording without a bridge"
    );
    m.handle_packet(
        20,
        LegId::Caller,
        addr(CALLER_NAT),
        &caller.audio(&[0; 160]),
    );
    assert!(
        transmits(&mut m).is_empty(),
        "nothing relayed to a removed leg"
    );
    m.handle_packet(20, LegId::Agent, addr(AGENT_SDP), &agent.audio(&[0; 160]));
    assert!(transmits(&mut m).is_empty());
    assert_eq!(m.stats(LegId::Agent).dropped, 1);

    // Music for the caller while a new agent is found.
    m.play(LegId::Caller, vec![], vec![prompt(160, 100)]);
    m.handle_timeout(40);
    let moh = transmits(&mut m);
    assert_eq!(moh.len(), 1);
    assert_eq!(
        parse(&moh[0]).ssrc,
        caller_ssrc,
        "the caller's stream goes on"
    );

    m.set_leg(
        LegId::Agent,
        leg_setup(Codec::Pcma, Some(96), "192.0.2.51:20002", false),
    );
    m.bridge();
    let mut agent2 = Phone::new(Codec::Pcma, 3);
    m.handle_packet(
        60,
        LegId::Agent,
        addr("192.0.2.51:20002"),
        &agent2.audio(&[0; 160]),
    );
    m.handle_packet(
        60,
        LegId::Caller,
        addr(CALLER_NAT),
        &caller.audio(&[0; 160]),
    );
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].leg, LegId::Caller);
    assert_eq!(sent[1].leg, LegId::Agent);
    assert_eq!(sent[1].destination, addr("192.0.2.51:20002"));
    assert_eq!(parse(&sent[1]).payload_type, 8);
    assert_ne!(
        parse(&sent[1]).ssrc,
        agent_ssrc,
        "a new stream for a new phone"
    );
}

#[test]
fn streams_are_seeded() {
    let ssrcs = |seed: u64| {
        let mut m = CallMedia::new(CallMediaConfig {
            seed,
            in_band_dtmf: false,
        });
        m.set_leg(
            LegId::Caller,
            leg_setup(Codec::Pcmu, None, CALLER_SDP, false),
        );
        m.set_leg(LegId::Agent, leg_setup(Codec::Pcmu, None, AGENT_SDP, false));
        m.play(LegId::Caller, vec![prompt(160, 1)], vec![]);
        m.play(LegId::Agent, vec![prompt(160, 1)], vec![]);
        m.handle_timeout(0);
        let sent = transmits(&mut m);
        let (a, b) = (parse(&sent[0]), parse(&sent[1]));
        (a.ssrc, a.sequence, a.timestamp, b.ssrc)
    };
    assert_eq!(ssrcs(1), ssrcs(1));
    assert_ne!(ssrcs(1), ssrcs(2));
    let (a, _, _, b) = ssrcs(1);
    assert_ne!(a, b);
}

#[test]
fn the_relay_carries_a_caller_tone_the_detector_can_hear() {
    // End to end through transcoding: a key the caller plays in-band reaches the agent as
    // A-law that still decodes to the key.
    let mut m = media(true);
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcmu, None, CALLER_SDP, false),
    );
    m.set_leg(LegId::Agent, leg_setup(Codec::Pcma, None, AGENT_SDP, false));
    m.bridge();
    let mut caller = Phone::new(Codec::Pcmu, 1);
    let pcm = dtmf_tone('8', 40);
    send_audio(&mut m, &mut caller, LegId::Caller, CALLER_SDP, 0, &pcm);
    let sent = transmits(&mut m);
    let heard = decode(Codec::Pcma, parse(&sent[0]).payload);
    assert_eq!(detect_block(&heard), Some('8'));
}

proptest! {
    #[test]
    fn garbage_never_panics_and_is_accounted(
        datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..40),
        bridged in any::<bool>(),
        in_band in any::<bool>(),
    ) {
        let mut m = media(in_band);
        m.set_leg(LegId::Caller, leg_setup(Codec::Pcmu, None, CALLER_SDP, true));
        m.set_leg(LegId::Agent, leg_setup(Codec::Pcma, Some(101), AGENT_SDP, false));
        if bridged {
            m.bridge();
            m.start_recording(true);
        }
        m.play(LegId::Caller, vec![prompt(400, 7)], vec![]);
        let mut rtcp = 0;
        for (k, bytes) in datagrams.iter().enumerate() {
            let leg = if k % 2 == 0 { LegId::Caller } else { LegId::Agent };
            if is_rtcp(bytes) {
                rtcp += 1;
            }
            m.handle_packet(k as u64 * 7, leg, addr(STRANGER), bytes);
            m.handle_timeout(k as u64 * 7);
        }
        let caller = m.stats(LegId::Caller);
        let agent = m.stats(LegId::Agent);
        prop_assert_eq!(
            caller.packets_in + caller.dropped + agent.packets_in + agent.dropped,
            datagrams.len() as u64 - rtcp
        );
        prop_assert_eq!(
            caller.rtcp_in + caller.rtcp_dropped + agent.rtcp_in + agent.rtcp_dropped,
            rtcp
        );
        prop_assert!(transmits(&mut m).len() <= MAX_PENDING_TRANSMITS);
        prop_assert!(events(&mut m).len() <= MAX_PENDING_EVENTS);
        let mut out = Vec::new();
        m.poll_recording(&mut out);
        prop_assert!(out.len() <= MAX_PENDING_RECORDING_FRAMES * 320);
    }

    #[test]
    fn plausible_rtp_never_panics_and_is_accounted(
        packets in prop::collection::vec(
            (
                prop::sample::select(vec![0u8, 8, 96, 101, 18, 127]),
                any::<u16>(),
                any::<u32>(),
                prop::sample::select(vec![1u32, 2, 3]),
                prop::collection::vec(any::<u8>(), 0..400),
                any::<bool>(),
                0u64..100,
                any::<bool>(),
            ),
            1..60,
        ),
        in_band in any::<bool>(),
        stereo in any::<bool>(),
    ) {
        // Headers that parse, payload types that are ours or not, several sources and
        // SSRCs, any payload (short telephone events included), time jumping about.
        let mut m = media(in_band);
        m.set_leg(LegId::Caller, leg_setup(Codec::Pcmu, Some(101), CALLER_SDP, true));
        m.set_leg(LegId::Agent, leg_setup(Codec::Pcma, None, AGENT_SDP, false));
        m.play(LegId::Caller, vec![prompt(500, 9)], vec![prompt(100, 3)]);
        let mut now = 0;
        for (k, (pt, seq, ts, ssrc, payload, marker, gap, caller)) in packets.iter().enumerate() {
            now += gap;
            if k == packets.len() / 2 {
                m.bridge();
                m.start_recording(stereo);
            }
            let mut packet = RtpPacket::new(*pt, *seq, *ts, *ssrc, payload);
            packet.marker = *marker;
            let bytes = packet.to_vec().unwrap();
            let (leg, source) = if *caller {
                (LegId::Caller, if ssrc % 2 == 0 { CALLER_NAT } else { STRANGER })
            } else {
                (LegId::Agent, AGENT_SDP)
            };
            m.handle_packet(now, leg, addr(source), &bytes);
            if let Some(due) = m.poll_timeout() {
                if due <= now {
                    m.handle_timeout(now);
                }
            }
        }
        let caller = m.stats(LegId::Caller);
        let agent = m.stats(LegId::Agent);
        prop_assert_eq!(
            caller.packets_in + caller.dropped + agent.packets_in + agent.dropped,
            packets.len() as u64
        );
        let sent = transmits(&mut m);
        prop_assert!(sent.len() <= MAX_PENDING_TRANSMITS);
        for t in &sent {
            let p = parse(t);
            match t.leg {
                LegId::Caller => prop_assert!(p.payload_type == 0 || p.payload_type == 101),
                LegId::Agent => prop_assert_eq!(p.payload_type, 8),
            }
        }
        prop_assert!(events(&mut m).len() <= MAX_PENDING_EVENTS);
    }

    #[test]
    fn relayed_sequence_numbers_never_jump(
        gaps in prop::collection::vec(0u64..200, 1..60),
        switches in prop::collection::vec(any::<bool>(), 1..60),
    ) {
        // Whatever mix of prompts and relay, at whatever times, our stream to the agent is
        // one sequence without gaps.
        let mut m = two_legs();
        let mut caller = Phone::new(Codec::Pcmu, 1);
        let mut now = 0;
        let mut sequences = Vec::new();
        for (gap, switch) in gaps.iter().zip(switches.iter().cycle()) {
            now += gap;
            if *switch {
                m.play(LegId::Agent, vec![prompt(320, 5)], vec![prompt(160, 6)]);
            } else {
                m.bridge();
            }
            m.handle_timeout(now);
            m.handle_packet(now, LegId::Caller, addr(CALLER_NAT), &caller.audio(&[0; 160]));
            for t in transmits(&mut m) {
                if t.leg == LegId::Agent {
                    sequences.push(parse(&t).sequence);
                }
            }
        }
        for pair in sequences.windows(2) {
            prop_assert_eq!(pair[1], pair[0].wrapping_add(1));
        }
    }
}

// RTCP.

/// A time on the driver's clock as it is in production: milliseconds since the Unix epoch.
const T0: u64 = 1_700_000_000_000;
/// Seconds from 1900 (NTP) to 1970 (Unix).
const NTP_UNIX_OFFSET_SECONDS: u64 = 2_208_988_800;

/// A far end that sends a 20 ms RTP packet every 20 ms on a leg.
struct Far {
    leg: LegId,
    source: SocketAddr,
    phone: Phone,
}

fn far(leg: LegId, source: &str, ssrc: u32) -> Far {
    Far {
        leg,
        source: addr(source),
        phone: Phone::new(Codec::Pcmu, ssrc),
    }
}

/// Runs the call on the virtual clock over [from, to): each far end sends a packet every 20 ms
/// from `from`, and `handle_timeout` runs whenever `poll_timeout` says, which must then be
/// later than the time it ran at (no busy loop). Returns what was sent and when.
fn drive(m: &mut CallMedia, fars: &mut [Far], from: u64, to: u64) -> Vec<(u64, Transmit)> {
    let mut sent = Vec::new();
    let mut clock = from;
    let mut next_packet = from;
    loop {
        let due = m.poll_timeout().map(|due| due.max(clock));
        let timeout = due.is_some_and(|due| fars.is_empty() || due < next_packet);
        let now = if timeout { due.unwrap() } else { next_packet };
        if now >= to {
            break;
        }
        clock = now;
        if timeout {
            m.handle_timeout(now);
            let next = m.poll_timeout();
            assert!(
                next.is_none_or(|next| next > now),
                "busy loop: due at {next:?} after handle_timeout({now})"
            );
        } else {
            for f in fars.iter_mut() {
                let bytes = f.phone.audio(&[0; 160]);
                m.handle_packet(now, f.leg, f.source, &bytes);
            }
            next_packet += TICK_MS;
        }
        sent.extend(all_transmits(m).into_iter().map(|t| (now, t)));
    }
    sent
}

/// The RTCP reports of a leg among what was sent, parsed, with when they were sent and where.
fn reports_of(sent: &[(u64, Transmit)], leg: LegId) -> Vec<(u64, SocketAddr, Vec<RtcpPacket>)> {
    sent.iter()
        .filter(|(_, t)| t.rtcp && t.leg == leg)
        .map(|(at, t)| {
            let packets = rtcp::parse_compound(&t.bytes).expect("our RTCP parses");
            (*at, t.destination, packets)
        })
        .collect()
}

fn sender_report(packets: &[RtcpPacket]) -> &SenderReport {
    match &packets[0] {
        RtcpPacket::SenderReport(sr) => sr,
        other => panic!("expected a sender report first, got {other:?}"),
    }
}

fn receiver_report(packets: &[RtcpPacket]) -> &ReceiverReport {
    match &packets[0] {
        RtcpPacket::ReceiverReport(rr) => rr,
        other => panic!("expected a receiver report first, got {other:?}"),
    }
}

/// The CNAME of the SDES chunk of `ssrc`, which must follow the report.
fn cname(packets: &[RtcpPacket], ssrc: u32) -> String {
    match &packets[1..] {
        [RtcpPacket::SourceDescription(chunks)] => {
            assert_eq!(chunks.len(), 1);
            assert_eq!(chunks[0].ssrc, ssrc, "the chunk describes our source");
            chunks[0].cname.clone().expect("a CNAME")
        }
        other => panic!("expected one SDES after the report, got {other:?}"),
    }
}

/// A far end's compound RTCP: its report, then its SDES.
fn far_rtcp(report: RtcpPacket, ssrc: u32) -> Vec<u8> {
    let sdes = RtcpPacket::SourceDescription(vec![SdesChunk {
        ssrc,
        cname: Some("phone@192.0.2.99".into()),
    }]);
    rtcp::write_compound(&[report, sdes]).unwrap()
}

fn block_about(ssrc: u32) -> ReportBlock {
    ReportBlock {
        ssrc,
        fraction_lost: 12,
        cumulative_lost: 3,
        extended_highest_sequence: 70_000,
        jitter: 40,
        last_sender_report: 0,
        delay_since_last_sender_report: 0,
    }
}

/// The RTP a leg sent: (time, packet timestamp, SSRC, payload length) in order.
fn rtp_of(sent: &[(u64, Transmit)], leg: LegId) -> Vec<(u64, u32, u32, usize)> {
    sent.iter()
        .filter(|(_, t)| !t.rtcp && t.leg == leg)
        .map(|(at, t)| {
            let p = parse(t);
            (*at, p.timestamp, p.ssrc, p.payload.len())
        })
        .collect()
}

#[test]
fn a_bridged_leg_sends_a_sender_report_to_the_rtcp_port_of_its_far_end() {
    let mut m = two_legs();
    m.bridge();
    let mut fars = [
        far(LegId::Caller, CALLER_NAT, 0xCA11),
        far(LegId::Agent, AGENT_SDP, 0xA6E7),
    ];
    let end = T0 + RTCP_INITIAL_INTERVAL_MS * 3 / 2 + 1;
    let sent = drive(&mut m, &mut fars, T0, end);
    for (leg, rtcp_destination, far_ssrc) in [
        // Latched: RTP port + 1 of where its RTP comes from, not of its SDP address.
        (LegId::Caller, "198.51.100.7:61001", 0xCA11),
        // Not latching: RTP port + 1 of its SDP address.
        (LegId::Agent, "192.0.2.50:20001", 0xA6E7),
    ] {
        let reports = reports_of(&sent, leg);
        assert_eq!(
            reports.len(),
            1,
            "{leg:?}: one report in its first interval"
        );
        let (at, destination, packets) = &reports[0];
        assert!(*at >= T0 + RTCP_INITIAL_INTERVAL_MS / 2, "{leg:?}: {at}");
        assert_eq!(*destination, addr(rtcp_destination), "{leg:?}");
        let sr = sender_report(packets);

        let rtp: Vec<_> = rtp_of(&sent, leg)
            .into_iter()
            .filter(|(sent_at, ..)| sent_at <= at)
            .collect();
        let (last_at, last_timestamp, ssrc, _) = *rtp.last().unwrap();
        assert_eq!(sr.ssrc, ssrc, "{leg:?}: our SSRC on the leg");
        assert_eq!(sr.packet_count as usize, rtp.len(), "{leg:?}");
        let octets: usize = rtp.iter().map(|(.., len)| len).sum();
        assert_eq!(sr.octet_count as usize, octets, "{leg:?}: payload octets");
        assert_eq!(octets, rtp.len() * 160);
        assert_eq!(
            sr.ntp_timestamp >> 32,
            at / 1000 + NTP_UNIX_OFFSET_SECONDS,
            "{leg:?}: NTP seconds"
        );
        assert_eq!(
            sr.ntp_timestamp & 0xFFFF_FFFF,
            ((at % 1000) << 32) / 1000,
            "{leg:?}: NTP fraction"
        );
        assert_eq!(
            sr.rtp_timestamp,
            last_timestamp.wrapping_add(((at - last_at) * 8) as u32),
            "{leg:?}: our stream's timestamp projected to the report"
        );

        assert_eq!(sr.reports.len(), 1, "{leg:?}: one block, on the far stream");
        let block = sr.reports[0];
        assert_eq!(block.ssrc, far_ssrc, "{leg:?}");
        let far_packets = (at - T0) / TICK_MS + 1;
        assert_eq!(
            block.extended_highest_sequence as u64,
            1000 + far_packets - 1,
            "{leg:?}: the far end's last sequence number"
        );
        assert_eq!(block.cumulative_lost, 0);
        assert_eq!(block.fraction_lost, 0);
        assert_eq!(block.last_sender_report, 0, "no SR of theirs yet");
        assert!(cname(packets, ssrc).starts_with("hotline-"));
        assert_eq!(m.stats(leg).rtcp_out, 1);
    }
    assert!(
        transmits(&mut m).is_empty() && rtp_of(&sent, LegId::Caller).len() > 50,
        "the relay went on around the reports"
    );
}

#[test]
fn a_leg_that_only_receives_sends_receiver_reports_and_so_does_a_held_one() {
    let mut m = two_legs();
    // The caller hears nothing (not bridged, no prompt) but talks; the agent is on hold
    // (we may not send to it) while its music would play, and sends nothing.
    let mut held = leg_setup(Codec::Pcmu, Some(96), AGENT_SDP, false);
    held.send = false;
    m.set_leg(LegId::Agent, held);
    m.play(LegId::Agent, vec![], vec![prompt(160, 100)]);
    let mut fars = [far(LegId::Caller, CALLER_NAT, 0xCA11)];
    let sent = drive(&mut m, &mut fars, T0, T0 + 3 * RTCP_INTERVAL_MS);
    assert!(rtp_of(&sent, LegId::Caller).is_empty());
    assert!(rtp_of(&sent, LegId::Agent).is_empty(), "on hold");

    let caller = reports_of(&sent, LegId::Caller);
    assert!(caller.len() >= 2);
    for (_, destination, packets) in &caller {
        assert_eq!(*destination, addr("198.51.100.7:61001"));
        let rr = receiver_report(packets);
        assert_eq!(rr.reports.len(), 1);
        assert_eq!(rr.reports[0].ssrc, 0xCA11, "about the caller's stream");
        cname(packets, rr.ssrc);
    }
    let agent = reports_of(&sent, LegId::Agent);
    assert!(agent.len() >= 2, "RTCP goes on during hold");
    for (_, destination, packets) in &agent {
        assert_eq!(*destination, addr("192.0.2.50:20001"));
        let rr = receiver_report(packets);
        assert!(rr.reports.is_empty(), "nothing received: no block");
        cname(packets, rr.ssrc);
    }
    assert_eq!(
        cname(&caller[0].2, receiver_report(&caller[0].2).ssrc),
        cname(&agent[0].2, receiver_report(&agent[0].2).ssrc),
        "one CNAME for the call"
    );
}

#[test]
fn reports_keep_coming_at_randomised_intervals_and_stop_with_the_leg() {
    let mut m = two_legs();
    m.bridge();
    let mut fars = [
        far(LegId::Caller, CALLER_NAT, 0xCA11),
        far(LegId::Agent, AGENT_SDP, 0xA6E7),
    ];
    let sent = drive(&mut m, &mut fars, T0, T0 + 60_000);
    for leg in [LegId::Caller, LegId::Agent] {
        let reports = reports_of(&sent, leg);
        assert!(
            (8..=24).contains(&reports.len()),
            "{leg:?}: {}",
            reports.len()
        );
        assert!(reports[0].0 <= T0 + RTCP_INITIAL_INTERVAL_MS * 3 / 2);
        let intervals: Vec<u64> = reports.windows(2).map(|w| w[1].0 - w[0].0).collect();
        for interval in &intervals {
            assert!(
                (RTCP_INTERVAL_MS / 2..=RTCP_INTERVAL_MS * 3 / 2).contains(interval),
                "{leg:?}: {interval} ms"
            );
        }
        assert!(
            intervals.iter().any(|i| *i != intervals[0]),
            "{leg:?}: randomised, not periodic"
        );
        for (_, _, packets) in &reports {
            assert!(!sender_report(packets).reports.is_empty());
        }
        assert_eq!(m.stats(leg).rtcp_out, reports.len() as u64);
    }

    // A removed leg reports no more; the other goes on.
    m.remove_leg(LegId::Agent);
    assert_eq!(m.rtcp_due_ms(LegId::Agent), None);
    let mut caller = [far(LegId::Caller, CALLER_NAT, 0xCA11)];
    let sent = drive(&mut m, &mut caller, T0 + 60_000, T0 + 80_000);
    assert!(reports_of(&sent, LegId::Agent).is_empty());
    assert!(reports_of(&sent, LegId::Caller).len() >= 3);
}

#[test]
fn the_far_ends_report_gives_its_view_of_our_stream_and_the_round_trip_time() {
    let mut m = two_legs();
    m.bridge();
    let mut fars = [
        far(LegId::Caller, CALLER_NAT, 0xCA11),
        far(LegId::Agent, AGENT_SDP, 0xA6E7),
    ];
    drive(&mut m, &mut fars, T0, T0 + 1);
    let due = m.rtcp_due_ms(LegId::Caller).unwrap();
    let sent = drive(&mut m, &mut fars, T0 + 1, due + 1);
    let reports = reports_of(&sent, LegId::Caller);
    let (sent_at, _, packets) = reports.last().unwrap();
    assert_eq!(*sent_at, due);
    let ours = sender_report(packets).clone();
    let stats = m.stats(LegId::Caller);
    assert_eq!(
        (
            stats.remote_fraction_lost,
            stats.remote_lost,
            stats.remote_jitter,
            stats.rtt_ms
        ),
        (None, None, None, None),
        "nothing reported yet"
    );

    // The caller's phone reports 1.25 s later, having held our SR for 1 s: 250 ms round trip.
    drive(&mut m, &mut fars, due + 1, due + 1250);
    let mut block = block_about(ours.ssrc);
    block.last_sender_report = rtcp::ntp_middle(ours.ntp_timestamp);
    block.delay_since_last_sender_report = 65536;
    let stranger_block = ReportBlock {
        fraction_lost: 200,
        ..block_about(0xBAD)
    };
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0xCA11,
        reports: vec![block, stranger_block],
    });
    m.handle_rtcp(
        due + 1250,
        LegId::Caller,
        addr("198.51.100.7:61001"),
        &far_rtcp(rr, 0xCA11),
    );
    let stats = m.stats(LegId::Caller);
    assert_eq!(stats.rtcp_in, 1);
    assert_eq!(
        stats.remote_fraction_lost,
        Some(12),
        "our block, not the other"
    );
    assert_eq!(stats.remote_lost, Some(3));
    assert_eq!(stats.remote_jitter, Some(40));
    assert_eq!(stats.rtt_ms, Some(250));
    assert_eq!(m.stats(LegId::Agent).remote_lost, None, "per leg");

    // An SR of theirs carries blocks too. One echoing an SR we never sent, or none (LSR 0),
    // updates the loss but not the round-trip time.
    for lsr in [0, block.last_sender_report.wrapping_add(1)] {
        let sr = RtcpPacket::SenderReport(SenderReport {
            ssrc: 0xCA11,
            ntp_timestamp: 1 << 32,
            rtp_timestamp: 0,
            packet_count: 0,
            octet_count: 0,
            reports: vec![ReportBlock {
                cumulative_lost: -2,
                last_sender_report: lsr,
                delay_since_last_sender_report: 0,
                ..block
            }],
        });
        m.handle_rtcp(
            due + 1300,
            LegId::Caller,
            addr("198.51.100.7:61001"),
            &far_rtcp(sr, 0xCA11),
        );
        let stats = m.stats(LegId::Caller);
        assert_eq!(stats.remote_lost, Some(-2), "duplicates: negative loss");
        assert_eq!(stats.rtt_ms, Some(250), "LSR {lsr:#x}: no new round trip");
    }
}

#[test]
fn our_report_echoes_the_far_ends_sender_report() {
    let mut m = two_legs();
    let mut fars = [far(LegId::Caller, CALLER_NAT, 0xCA11)];
    drive(&mut m, &mut fars, T0, T0 + 100);
    let their_ntp = 0x1234_5678_9ABC_DEF0u64;
    let theirs = RtcpPacket::SenderReport(SenderReport {
        ssrc: 0xCA11,
        ntp_timestamp: their_ntp,
        rtp_timestamp: 50_000,
        packet_count: 5,
        octet_count: 800,
        reports: vec![],
    });
    m.handle_rtcp(
        T0 + 100,
        LegId::Caller,
        addr("198.51.100.7:61001"),
        &far_rtcp(theirs, 0xCA11),
    );
    let due = m.rtcp_due_ms(LegId::Caller).unwrap();
    assert!(due > T0 + 100, "an SR arriving brings no report forward");
    let sent = drive(&mut m, &mut fars, T0 + 100, due + 1);
    let reports = reports_of(&sent, LegId::Caller);
    let (at, _, packets) = reports.last().unwrap();
    let block = receiver_report(packets).reports[0];
    assert_eq!(block.ssrc, 0xCA11);
    assert_eq!(block.last_sender_report, 0x5678_9ABC, "the middle 32 bits");
    assert_eq!(
        block.delay_since_last_sender_report as u64,
        (at - (T0 + 100)) * 65536 / 1000,
        "the time since it arrived, in 1/65536 s"
    );
}

#[test]
fn rtcp_goes_where_the_far_ends_rtcp_comes_from_and_nowhere_without_an_address() {
    let mut m = two_legs();
    let mut fars = [far(LegId::Caller, CALLER_NAT, 0xCA11)];
    // The caller's NAT maps its RTCP port somewhere other than RTP port + 1.
    let nat_rtcp = addr("198.51.100.7:61234");
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0xCA11,
        reports: vec![],
    });
    m.handle_rtcp(T0, LegId::Caller, nat_rtcp, &far_rtcp(rr.clone(), 0xCA11));
    let sent = drive(&mut m, &mut fars, T0, T0 + 2 * RTCP_INTERVAL_MS);
    let reports = reports_of(&sent, LegId::Caller);
    assert!(!reports.is_empty());
    assert!(reports.iter().all(|(_, to, _)| *to == nat_rtcp));

    // A re-INVITE to a new address starts over: RTP port + 1 of the new address until the
    // new RTCP comes.
    m.set_leg(
        LegId::Caller,
        leg_setup(Codec::Pcmu, Some(101), "203.0.113.6:40002", false),
    );
    let sent = drive(&mut m, &mut [], T0 + 10_000, T0 + 20_000);
    let reports = reports_of(&sent, LegId::Caller);
    assert!(!reports.is_empty());
    assert!(reports
        .iter()
        .all(|(_, to, _)| *to == addr("203.0.113.6:40003")));

    // No address and nothing latched yet: no report, and no busy loop either.
    let mut m = media(false);
    let mut setup = leg_setup(Codec::Pcmu, None, "0.0.0.0:0", true);
    setup.remote = None;
    m.set_leg(LegId::Caller, setup);
    let sent = drive(&mut m, &mut [], T0, T0 + 30_000);
    assert!(sent.is_empty());
    assert_eq!(m.stats(LegId::Caller).rtcp_out, 0);
    // RTCP from the far end gives it one.
    m.handle_rtcp(T0 + 30_000, LegId::Caller, nat_rtcp, &far_rtcp(rr, 0xCA11));
    let sent = drive(&mut m, &mut [], T0 + 30_000, T0 + 40_000);
    assert!(reports_of(&sent, LegId::Caller)
        .iter()
        .all(|(_, to, _)| *to == nat_rtcp));
    assert!(m.stats(LegId::Caller).rtcp_out > 0);
}

#[test]
fn once_rtp_is_latched_rtcp_from_another_host_is_dropped() {
    let mut m = two_legs();
    let mut fars = [far(LegId::Caller, CALLER_NAT, 0xCA11)];
    // The caller's RTP latches the leg.
    drive(&mut m, &mut fars, T0, T0 + 1_000);
    let stranger = addr("203.0.113.99:5001");
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0xCA11,
        reports: vec![],
    });
    m.handle_rtcp(T0 + 1_000, LegId::Caller, stranger, &far_rtcp(rr, 0xCA11));
    assert_eq!(m.stats(LegId::Caller).rtcp_dropped, 1);
    assert_eq!(m.stats(LegId::Caller).rtcp_in, 0);
    let sent = drive(&mut m, &mut fars, T0 + 1_000, T0 + 2 * RTCP_INTERVAL_MS);
    let reports = reports_of(&sent, LegId::Caller);
    assert!(!reports.is_empty());
    assert!(reports
        .iter()
        .all(|(_, to, _)| to.ip() == addr(CALLER_NAT).ip()));
}

#[test]
fn rtcp_multiplexed_on_the_rtp_socket_is_taken_as_rtcp_and_not_relayed() {
    let mut m = two_legs();
    m.bridge();
    let mut fars = [
        far(LegId::Caller, CALLER_NAT, 0xCA11),
        far(LegId::Agent, AGENT_SDP, 0xA6E7),
    ];
    let sent = drive(&mut m, &mut fars, T0, T0 + 100);
    let our_ssrc = rtp_of(&sent, LegId::Caller)[0].2;
    events(&mut m);
    let before = m.stats(LegId::Caller);
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0xCA11,
        reports: vec![block_about(our_ssrc)],
    });
    // From the caller's RTP address, on our RTP socket (rtcp-mux).
    m.handle_packet(
        T0 + 100,
        LegId::Caller,
        addr(CALLER_NAT),
        &far_rtcp(rr, 0xCA11),
    );
    assert!(all_transmits(&mut m).is_empty(), "not relayed to the agent");
    assert!(events(&mut m).is_empty());
    let after = m.stats(LegId::Caller);
    assert_eq!(after.packets_in, before.packets_in, "not counted as RTP");
    assert_eq!(after.dropped, 0);
    assert_eq!(after.rtcp_in, 1);
    assert_eq!(after.remote_lost, Some(3));
    assert_eq!(m.stats(LegId::Agent).packets_out, before.packets_in);
    // Our reports go back to where it came from.
    let due = m.rtcp_due_ms(LegId::Caller).unwrap();
    let sent = drive(&mut m, &mut fars, T0 + 100, due + 1);
    let reports = reports_of(&sent, LegId::Caller);
    assert_eq!(reports.last().unwrap().1, addr(CALLER_NAT));
}

#[test]
fn report_times_and_contents_follow_the_seed() {
    let run = |seed: u64| {
        let mut m = CallMedia::new(CallMediaConfig {
            seed,
            in_band_dtmf: false,
        });
        m.set_leg(
            LegId::Caller,
            leg_setup(Codec::Pcmu, None, CALLER_SDP, true),
        );
        m.set_leg(LegId::Agent, leg_setup(Codec::Pcmu, None, AGENT_SDP, false));
        m.bridge();
        let mut fars = [
            far(LegId::Caller, CALLER_NAT, 0xCA11),
            far(LegId::Agent, AGENT_SDP, 0xA6E7),
        ];
        drive(&mut m, &mut fars, T0, T0 + 30_000)
            .into_iter()
            .filter(|(_, t)| t.rtcp)
            .collect::<Vec<_>>()
    };
    let once = run(7);
    assert!(once.len() >= 8);
    assert_eq!(once, run(7), "same seed, same reports, byte for byte");
    let times = |sent: &[(u64, Transmit)]| sent.iter().map(|(at, _)| *at).collect::<Vec<_>>();
    assert_ne!(times(&once), times(&run(8)), "another seed, other times");
}

#[test]
fn malformed_rtcp_is_counted_and_ignored() {
    let mut m = two_legs();
    let source = addr("198.51.100.7:61001");
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![block_about(1)],
    });
    let good = far_rtcp(rr, 1);
    let mut oversized = good.clone();
    oversized.resize(1501, 0);
    let garbage: [&[u8]; 5] = [
        b"",
        b"hello, world",
        &good[..good.len() - 4],
        &[0x81, 201, 0, 1, 0, 0, 0, 1],
        &oversized,
    ];
    for bytes in garbage {
        m.handle_rtcp(T0, LegId::Caller, addr(STRANGER), bytes);
    }
    let stats = m.stats(LegId::Caller);
    assert_eq!(stats.rtcp_dropped, 5);
    assert_eq!((stats.rtcp_in, stats.dropped), (0, 0));
    // Garbage does not move the RTCP destination.
    m.handle_rtcp(T0, LegId::Caller, source, &good);
    m.handle_rtcp(T0, LegId::Caller, addr(STRANGER), b"\x80\xc9garbage");
    let sent = drive(&mut m, &mut [], T0, T0 + RTCP_INTERVAL_MS);
    assert!(reports_of(&sent, LegId::Caller)
        .iter()
        .all(|(_, to, _)| *to == source));
    // For a leg not set up.
    let mut lone = media(false);
    lone.handle_rtcp(T0, LegId::Agent, source, &good);
    assert_eq!(lone.stats(LegId::Agent).rtcp_dropped, 1);
    assert_eq!(lone.poll_timeout(), None);
}

proptest! {
    #[test]
    fn any_bytes_as_rtcp_are_accounted_and_reports_still_go_out(
        datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..40),
    ) {
        let mut m = two_legs();
        m.bridge();
        for (k, bytes) in datagrams.iter().enumerate() {
            let leg = if k % 2 == 0 { LegId::Caller } else { LegId::Agent };
            m.handle_rtcp(T0 + k as u64, leg, addr(STRANGER), bytes);
        }
        let caller = m.stats(LegId::Caller);
        let agent = m.stats(LegId::Agent);
        prop_assert_eq!(
            caller.rtcp_in + caller.rtcp_dropped + agent.rtcp_in + agent.rtcp_dropped,
            datagrams.len() as u64
        );
        prop_assert_eq!(caller.packets_in + caller.dropped, 0);
        let sent = drive(&mut m, &mut [], T0 + 100, T0 + 2 * RTCP_INTERVAL_MS);
        prop_assert!(!reports_of(&sent, LegId::Caller).is_empty());
        prop_assert!(!reports_of(&sent, LegId::Agent).is_empty());
    }

    #[test]
    fn any_report_blocks_about_our_stream_are_taken_without_panic(
        blocks in prop::collection::vec(
            (
                any::<u8>(),
                -(1i32 << 23)..(1 << 23),
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
            ),
            1..20,
        ),
        arrival_offsets in prop::collection::vec(0u64..100_000, 1..20),
    ) {
        // Whatever the far end claims, including LSRs that match our SRs with any DLSR, and
        // at any time after.
        let mut m = two_legs();
        m.bridge();
        let mut fars = [far(LegId::Agent, AGENT_SDP, 0xA6E7)];
        let sent = drive(&mut m, &mut fars, T0, T0 + 2 * RTCP_INTERVAL_MS);
        let ours: Vec<(u64, SenderReport)> = reports_of(&sent, LegId::Caller)
            .iter()
            .map(|(at, _, packets)| (*at, sender_report(packets).clone()))
            .collect();
        prop_assert!(!ours.is_empty());
        let (sent_at, sr) = ours.last().unwrap().clone();
        let now = T0 + 2 * RTCP_INTERVAL_MS;
        let mut latest = now;
        for ((fraction, lost, jitter, lsr, dlsr, echo), offset) in
            blocks.iter().zip(arrival_offsets.iter().cycle())
        {
            let block = ReportBlock {
                ssrc: sr.ssrc,
                fraction_lost: *fraction,
                cumulative_lost: *lost,
                extended_highest_sequence: 0,
                jitter: *jitter,
                last_sender_report: if *echo {
                    rtcp::ntp_middle(sr.ntp_timestamp)
                } else {
                    *lsr
                },
                delay_since_last_sender_report: *dlsr,
            };
            let rr = RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: 0xCA11,
                reports: vec![block],
            });
            let bytes = far_rtcp(rr, 0xCA11);
            m.handle_rtcp(now + offset, LegId::Caller, addr(CALLER_NAT), &bytes);
            latest = latest.max(now + offset);
            let stats = m.stats(LegId::Caller);
            prop_assert_eq!(stats.remote_fraction_lost, Some(*fraction));
            prop_assert_eq!(stats.remote_lost, Some(*lost as i64));
            prop_assert_eq!(stats.remote_jitter, Some(*jitter));
            if let Some(rtt) = stats.rtt_ms {
                // No longer than our SR has been out.
                prop_assert!(u64::from(rtt) <= latest - sent_at);
            }
        }
    }
}
