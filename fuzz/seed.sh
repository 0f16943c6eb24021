#!/bin/sh
# Copies the SIP torture corpus (crates/sip/tests/fixtures, valid and invalid .sip files)
# into fuzz/corpus/<target>/ as seeds, so the seeds are always the fixtures as they are now.
# Run from anywhere; safe to run again (it overwrites the seeds, and keeps what the fuzzer
# has added to the corpus).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../crates/sip/tests/fixtures"
for target in parse_message frame transactions; do
    mkdir -p "$here/corpus/$target"
    find "$fixtures" -type f -name '*.sip' | while read -r file; do
        kind=$(basename "$(dirname "$file")")
        cp "$file" "$here/corpus/$target/seed-$kind-$(basename "$file")"
    done
done
# The framer reads streams: also seed every valid message twice in a row with a CRLF
# keep-alive between them.
for file in "$fixtures"/valid/*.sip; do
    { printf '\r\n'; cat "$file"; printf '\r\n'; cat "$file"; } \
        > "$here/corpus/frame/seed-stream-$(basename "$file")"
done
# The transaction layer (see fuzz_targets/transactions.rs for the format): every valid
# message answered 200 (an empty first datagram, then control 0x40: peer 0, no time, answer
# 200), then the same message again 500 ms later (control 0x0c), a retransmission.
for file in "$fixtures"/valid/*.sip; do
    { printf '\000\376\100'; cat "$file"; printf '\000\376\014'; cat "$file"; } \
        > "$here/corpus/transactions/seed-twice-$(basename "$file")"
done
echo "seeded $(ls "$here"/corpus/*/seed-* | wc -l) files into $here/corpus/"
