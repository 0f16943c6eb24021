//! A call's media end to end, through the public API only: negotiate, play a prompt as RTP,
//! receive it with statistics, press keys both as RFC 4733 events and as in-band tones
//! through G.711, and record both legs to a WAV file that reads back.

use hotline_media::dtmf::{send_digit, DtmfReceiver};
use hotline_media::g711::{Codec, SAMPLES_PER_FRAME};
use hotline_media::goertzel::DtmfDetector;
use hotline_media::playout::{mix, PromptPlayer, FRAME_SAMPLES};
use hotline_media::rtp::{PacketStatus, ReceiverStats, RtpPacket};
use hotline_media::sdp::{
    accept_answer, build_answer, build_offer, LocalMedia, MediaPolicy, SessionDescription,
};
use hotline_media::wav::{read_wav, WavWriter};

const CARRIER_OFFER: &str = "v=0\n\
o=carrier 1 1 IN IP4 203.0.113.5\n\
s=-\n\
c=IN IP4 203.0.113.5\n\
t=0 0\n\
m=audio 40000 RTP/AVP 8 0 101\n\
a=rtpmap:101 telephone-event/8000\n\
a=fmtp:101 0-16\n\
a=sendrecv\n";

fn local(port: u16) -> LocalMedia {
    LocalMedia {
        address: "192.0.2.10".into(),
        port,
        session_id: 99,
        session_version: 1,
    }
}

/// A tone pair for a digit at 8 kHz, `ms` long.
fn dtmf_tone(digit: char, ms: usize) -> Vec<i16> {
    let rows = [697.0f32, 770.0, 852.0, 941.0];
    let columns = [1209.0f32, 1336.0, 1477.0, 1633.0];
    let keys = "123A456B789C*0#D";
    let index = keys.find(digit).unwrap();
    let (row, column) = (rows[index / 4], columns[index % 4]);
    (0..ms * 8)
        .map(|n| {
            let t = n as f32 / 8000.0;
            let x = 6000.0 * (2.0 * std::f32::consts::PI * row * t).sin()
                + 7000.0 * (2.0 * std::f32::consts::PI * column * t).sin();
            x as i16
        })
        .collect()
}

#[test]
fn a_prompt_travels_as_rtp_and_arrives_counted() {
    let offer = SessionDescription::parse(CARRIER_OFFER).unwrap();
    let answer = build_answer(&offer, &local(30000), &MediaPolicy::default());
    let audio = answer.audio.unwrap();
    assert_eq!(audio.codec, Codec::Pcma);
    assert_eq!(audio.telephone_event, Some(101));

    // 1 s of prompt, sent as 50 frames; the network loses one and duplicates one.
    let prompt: Vec<i16> = (0..8000)
        .map(|i| ((i % 200) * 100 - 10000) as i16)
        .collect();
    let mut player = PromptPlayer::new(vec![prompt.clone()], false);
    let mut datagrams = Vec::new();
    let mut sequence = 65530u16;
    let mut timestamp = 0u32;
    let mut payload = [0u8; SAMPLES_PER_FRAME];
    while let Some(frame) = player.next_frame() {
        audio.codec.encode(&frame, &mut payload);
        let packet = RtpPacket::new(audio.payload_type, sequence, timestamp, 0xCAFE, &payload);
        datagrams.push(packet.to_vec().unwrap());
        sequence = sequence.wrapping_add(1);
        timestamp = timestamp.wrapping_add(FRAME_SAMPLES as u32);
    }
    assert_eq!(datagrams.len(), 50);
    datagrams.remove(20);
    let duplicate = datagrams[30].clone();
    datagrams.push(duplicate);

    let mut stats = ReceiverStats::new(0xCAFE);
    let mut received = Vec::new();
    for (i, bytes) in datagrams.iter().enumerate() {
        let packet = RtpPacket::parse(bytes).unwrap();
        let arrival = i as u32 * 160 + 1000;
        let status = stats.handle_packet(packet.sequence, packet.timestamp, arrival);
        if status.is_playable() || status == PacketStatus::Probation {
            let mut frame = [0i16; SAMPLES_PER_FRAME];
            audio.codec.decode(packet.payload, &mut frame);
            received.push(frame);
        }
    }
    // The first packet is the probation packet; 48 more count, one is lost, one duplicated.
    assert_eq!(stats.received(), 48);
    assert_eq!(stats.expected(), 49);
    assert_eq!(stats.lost(), 1);
    assert_eq!(stats.duplicates(), 1);
    assert_eq!(received.len(), 49);
    // What arrived is the prompt within A-law's quantisation.
    for (got, sent) in received[0].iter().zip(&prompt) {
        assert!((*got as i32 - *sent as i32).abs() <= 257, "{got} vs {sent}");
    }
}

#[test]
fn keys_arrive_once_as_events_and_as_tones() {
    let policy = MediaPolicy::default();
    let offer = build_offer(&local(30000), &policy);
    let answer = build_answer(&offer, &local(40000), &policy);
    let ours = accept_answer(&answer.description, &policy).unwrap();
    let event_pt = ours.telephone_event.unwrap();

    // RFC 4733: "123#" as packets over the wire, every packet sent twice.
    let mut receiver = DtmfReceiver::new();
    let mut start_ms = 0u64;
    let mut timestamp = 1_000u32;
    let mut sequence = 1u16;
    for digit in "123#".chars() {
        let packets = send_digit(digit, 100, timestamp, start_ms).unwrap();
        let next_timestamp = packets.next_audio_timestamp();
        for p in packets {
            let mut bytes = RtpPacket::new(event_pt, sequence, p.timestamp, 7, &p.payload);
            bytes.marker = p.marker;
            let datagram = bytes.to_vec().unwrap();
            sequence = sequence.wrapping_add(1);
            for _ in 0..2 {
                let packet = RtpPacket::parse(&datagram).unwrap();
                assert_eq!(packet.payload_type, event_pt);
                receiver
                    .handle_packet(p.send_at_ms, packet.timestamp, packet.payload)
                    .unwrap();
            }
        }
        start_ms += 300;
        timestamp = next_timestamp + 1600;
    }
    let digits: String = std::iter::from_fn(|| receiver.poll_digit())
        .map(|d| d.digit)
        .collect();
    assert_eq!(digits, "123#");

    // In-band: the same keys as tones, through A-law and back, 20 ms at a time.
    let mut pcm = Vec::new();
    for digit in "123#".chars() {
        pcm.extend(dtmf_tone(digit, 60));
        pcm.extend(vec![0i16; 480]);
    }
    let mut detector = DtmfDetector::new();
    let mut found = String::new();
    for frame in pcm.chunks(SAMPLES_PER_FRAME) {
        let mut codes = [0u8; SAMPLES_PER_FRAME];
        let n = Codec::Pcma.encode(frame, &mut codes);
        let mut decoded = [0i16; SAMPLES_PER_FRAME];
        Codec::Pcma.decode(&codes[..n], &mut decoded[..n]);
        detector.process(&decoded[..n]);
        while let Some(d) = detector.poll_digit() {
            found.push(d.digit);
        }
    }
    assert_eq!(found, "123#");
}

#[test]
fn a_two_leg_recording_reads_back() {
    let caller = dtmf_tone('5', 200);
    let agent: Vec<i16> = caller.iter().map(|s| s / 2).collect();
    let mut writer = WavWriter::stereo();
    for (a, b) in caller.chunks(160).zip(agent.chunks(160)) {
        writer.push_stereo(a, b);
    }
    let wav = read_wav(&writer.finish().unwrap()).unwrap();
    assert_eq!(wav.channel(0), caller);
    assert_eq!(wav.channel(1), agent);
    let mut mono = WavWriter::mono();
    mono.push_stereo(&caller, &agent);
    assert_eq!(
        read_wav(&mono.finish().unwrap()).unwrap().samples,
        mix(&caller, &agent)
    );
}
