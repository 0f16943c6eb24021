//! Conservation over whole simulated days: every call offered ends in exactly one bucket of
//! the metrics, and every callback too, for each example scenario and several seeds.

use std::path::Path;

use hotline_routing::QueueId;

fn load(name: &str) -> hotline_sim::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    hotline_config::load_scenario(&path).expect("example scenario")
}

#[test]
fn every_contact_is_counted_exactly_once() {
    for name in [
        "bank-payday-baseline.toml",
        "bank-payday-vip.toml",
        "ecommerce-618-zh.toml",
    ] {
        let scenario = load(name);
        for seed in [1, 2, 3] {
            let report = hotline_sim::simulate(&scenario, seed, &mut |_| {}).unwrap();
            let c = report.metrics.center_total();
            let what = format!("{name}, seed {seed}");
            // Calls: offered = answered + abandoned (short or not) + sent out + refused.
            assert_eq!(
                c.offered,
                c.answered + c.abandoned + c.short_abandoned + c.overflowed + c.refused,
                "{what}: {c:?}"
            );
            // Callbacks: requested = connected + failed + cancelled (none refused here).
            assert_eq!(
                c.callbacks_requested,
                c.callbacks_connected + c.callbacks_failed + c.callbacks_cancelled,
                "{what}"
            );
            // Arrivals split into calls offered and calls that became callbacks.
            assert_eq!(report.arrivals, c.offered + c.callbacks_requested, "{what}");
            // Every answered contact was handled by the end of the day.
            assert_eq!(c.handled, c.answered + c.callbacks_connected, "{what}");
            // The queues add up to the center, but for the queue-to-queue overflows.
            let mut queue_answered = 0;
            for q in 0..report.queue_names.len() {
                queue_answered += report.metrics.queue_total(QueueId(q as u32)).answered;
            }
            assert_eq!(queue_answered, c.answered, "{what}");
            // Segments agree with the metrics.
            let answered: u64 = report.segments.iter().map(|s| s.answered).sum();
            assert_eq!(answered, c.answered, "{what}");
            let abandoned: u64 = report.segments.iter().map(|s| s.abandoned).sum();
            assert_eq!(abandoned, c.abandoned, "{what}");
        }
    }
}
