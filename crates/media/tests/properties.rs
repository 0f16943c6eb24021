//! Property tests: parsers never panic on any bytes; what we print parses back to itself;
//! the DTMF receiver reports one digit per press whatever the network does to the packets.

use hotline_media::dtmf::{send_digit, DtmfReceiver, END_TIMEOUT_MS};
use hotline_media::rtp::{rtcp, Csrcs, Extension, ReceiverStats, RtpPacket};
use hotline_media::sdp::SessionDescription;
use hotline_media::wav::read_wav;
use proptest::prelude::*;

proptest! {
    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = RtpPacket::parse(&bytes);
        let _ = rtcp::parse_compound(&bytes);
        let _ = SessionDescription::parse_bytes(&bytes);
        let _ = read_wav(&bytes);
        let mut riff = b"RIFF\0\0\0\0WAVE".to_vec();
        riff.extend_from_slice(&bytes);
        let _ = read_wav(&riff);
        let mut receiver = DtmfReceiver::new();
        let _ = receiver.handle_packet(0, 0, &bytes);
    }

    #[test]
    fn rtp_round_trips(
        marker in any::<bool>(),
        payload_type in 0u8..128,
        sequence in any::<u16>(),
        timestamp in any::<u32>(),
        ssrc in any::<u32>(),
        csrcs in prop::collection::vec(any::<u32>(), 0..16),
        extension in proptest::option::of((any::<u16>(), prop::collection::vec(any::<u8>(), 0..3))),
        payload in prop::collection::vec(any::<u8>(), 0..200),
        padding in 0u8..8,
    ) {
        let mut list = Csrcs::new();
        for csrc in &csrcs {
            let room = list.len() < 15;
            prop_assert_eq!(list.push(*csrc), room);
        }
        let extension_data: Vec<u8> = extension
            .as_ref()
            .map(|(_, words)| words.iter().flat_map(|w| [*w; 4]).collect())
            .unwrap_or_default();
        let packet = RtpPacket {
            marker,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: list,
            extension: extension.as_ref().map(|(profile, _)| Extension {
                profile: *profile,
                data: &extension_data,
            }),
            payload: &payload,
            padding,
        };
        let bytes = packet.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), packet.encoded_len());
        prop_assert_eq!(RtpPacket::parse(&bytes).unwrap(), packet);
    }

    #[test]
    fn rtcp_round_trips(
        ssrc in any::<u32>(),
        blocks in prop::collection::vec((any::<u32>(), any::<u8>(), -(1i32 << 23)..(1 << 23), any::<u32>()), 0..5),
        cname in "[a-z0-9@.]{0,40}",
        reason in proptest::option::of("[ -~]{1,30}"),
    ) {
        let reports: Vec<rtcp::ReportBlock> = blocks
            .iter()
            .map(|&(ssrc, fraction_lost, cumulative_lost, jitter)| rtcp::ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_sequence: jitter ^ 0x5555,
                jitter,
                last_sender_report: ssrc.rotate_left(3),
                delay_since_last_sender_report: jitter >> 3,
            })
            .collect();
        let packets = vec![
            rtcp::RtcpPacket::ReceiverReport(rtcp::ReceiverReport { ssrc, reports }),
            rtcp::RtcpPacket::SourceDescription(vec![rtcp::SdesChunk { ssrc, cname: Some(cname) }]),
            rtcp::RtcpPacket::Bye(rtcp::Bye { sources: vec![ssrc], reason }),
        ];
        let bytes = rtcp::write_compound(&packets).unwrap();
        prop_assert_eq!(rtcp::parse_compound(&bytes).unwrap(), packets);
    }

    #[test]
    fn sequence_statistics_match_a_count(
        start in any::<u16>(),
        kept in prop::collection::vec(any::<bool>(), 10..400),
    ) {
        // Packets 0 and 1 always arrive (the source must pass probation), the last too; the
        // others arrive when `kept` says so, in order.
        let n = kept.len();
        let mut stats = ReceiverStats::new(1);
        let mut arrived = 0u64;
        for (i, &keep) in kept.iter().enumerate() {
            if keep || i < 2 || i == n - 1 {
                let seq = start.wrapping_add(i as u16);
                stats.handle_packet(seq, i as u32 * 160, i as u32 * 160);
                if i >= 1 {
                    arrived += 1;
                }
            }
        }
        prop_assert_eq!(stats.expected(), n as u64 - 1);
        prop_assert_eq!(stats.received(), arrived);
        prop_assert_eq!(stats.lost(), (n as u64 - 1 - arrived) as i64);
        prop_assert_eq!(stats.duplicates(), 0);
    }

    #[test]
    fn one_digit_per_press_whatever_the_network_does(
        durations in prop::collection::vec(40u32..400, 1..6),
        seed in any::<u64>(),
    ) {
        let mut state = seed | 1;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let keys: Vec<char> = "0123456789*#ABCD".chars().collect();
        let mut receiver = DtmfReceiver::new();
        let mut expected = Vec::new();
        let mut start_ms = 0u64;
        let mut timestamp = random() as u32;
        let mut found = Vec::new();
        for &duration in &durations {
            let digit = keys[(random() % 16) as usize];
            expected.push(digit);
            let mut packets: Vec<_> = send_digit(digit, duration, timestamp, start_ms).unwrap().collect();
            // Lose some packets (never all), duplicate some, swap neighbours.
            let total = packets.len();
            packets.retain(|_| random() % 4 != 0);
            if packets.is_empty() {
                packets = send_digit(digit, duration, timestamp, start_ms).unwrap().take(1).collect();
            }
            let copies: Vec<_> = packets.iter().filter(|_| random() % 3 == 0).copied().collect();
            packets.extend(copies);
            for i in 1..packets.len() {
                if random() % 3 == 0 {
                    packets.swap(i - 1, i);
                }
            }
            prop_assert!(packets.len() <= 2 * total);
            let mut last_ms = start_ms;
            for p in &packets {
                last_ms = last_ms.max(p.send_at_ms);
                receiver.handle_packet(p.send_at_ms, p.timestamp, &p.payload).unwrap();
            }
            // Sometimes the next press comes at once, sometimes after the timeout.
            if random() % 2 == 0 {
                receiver.handle_timeout(last_ms + END_TIMEOUT_MS);
            }
            while let Some(d) = receiver.poll_digit() {
                found.push(d.digit);
            }
            start_ms = last_ms + 100;
            timestamp = timestamp.wrapping_add(duration * 8 + 800);
        }
        receiver.handle_timeout(u64::MAX / 2);
        while let Some(d) = receiver.poll_digit() {
            found.push(d.digit);
        }
        prop_assert_eq!(found, expected);
    }
}
