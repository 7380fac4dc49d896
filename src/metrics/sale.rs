//! The figures of the sale beyond booking: cancellations, holds, waiting-list
//! offers and the waiting room. Counted by `crate::sale` (and its sweeper)
//! after the commit that made the change, in the task that ran it.
//!
//! Seats in holds move through `flashbook_held_seats_total{change}`:
//! `created` (a hold, or an offer `make_offers()` made), then one of
//! `confirmed` (they became a booking, counted in `flashbook_seats_booked_total`
//! too), `released` or `expired`. So the seats held now, summed over the
//! replicas, are `created − confirmed − released − expired`. A hold past its
//! `expires_at` frees its seats at that instant (the seat functions treat it
//! as free), but it is counted `expired` only when the sweeper marks it
//! (every `FLASHBOOK_HOLD_SWEEP_MS`, on whichever replica gets there first):
//! until then the counters still call its seats held.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::db::changes::Held;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    change: &'static str,
}

/// What happened to a hold (or to an offer, which is a hold of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldChange {
    Created,
    Confirmed,
    Released,
    Expired,
}

impl HoldChange {
    /// The `change` label of holds and held seats.
    fn hold_label(self) -> &'static str {
        match self {
            HoldChange::Created => "created",
            HoldChange::Confirmed => "confirmed",
            HoldChange::Released => "released",
            HoldChange::Expired => "expired",
        }
    }

    /// The `change` label of offers: made, taken, declined (released by its
    /// buyer, or left the list) or expired.
    fn offer_label(self) -> &'static str {
        match self {
            HoldChange::Created => "made",
            HoldChange::Confirmed => "taken",
            HoldChange::Released => "declined",
            HoldChange::Expired => "expired",
        }
    }
}

#[derive(Clone, Debug)]
pub struct SaleMetrics {
    bookings_cancelled: Counter,
    seats_cancelled: Counter,
    holds: Family<ChangeLabels, Counter>,
    offers: Family<ChangeLabels, Counter>,
    held_seats: Family<ChangeLabels, Counter>,
    /// Buyers in the waiting rooms' lines, not yet admitted (all active rooms).
    pub queue_length: Gauge,
    /// Places admitted so far (all active rooms).
    pub admitted: Gauge,
}

impl SaleMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            bookings_cancelled: Counter::default(),
            seats_cancelled: Counter::default(),
            holds: Family::default(),
            offers: Family::default(),
            held_seats: Family::default(),
            queue_length: Gauge::default(),
            admitted: Gauge::default(),
        };
        registry.register(
            "flashbook_bookings_cancelled",
            "Bookings cancelled by this process (DELETE /bookings/{id} that cancelled)",
            metrics.bookings_cancelled.clone(),
        );
        registry.register(
            "flashbook_seats_cancelled",
            "Seats of the bookings this process cancelled: seats sold = seats booked - seats cancelled",
            metrics.seats_cancelled.clone(),
        );
        registry.register(
            "flashbook_holds",
            "Buyers' holds by change: created, confirmed, released, expired (marked by the sweeper)",
            metrics.holds.clone(),
        );
        registry.register(
            "flashbook_offers",
            "Waiting-list offers by change: made, taken (confirmed), declined (released or left), \
             expired (marked by the sweeper)",
            metrics.offers.clone(),
        );
        registry.register(
            "flashbook_held_seats",
            "Seats in holds and offers by change: created, confirmed, released, expired; \
             held now = created - confirmed - released - expired",
            metrics.held_seats.clone(),
        );
        registry.register(
            "flashbook_waiting_room_queue_length",
            "Buyers in line in the active waiting rooms, not yet admitted (read from the database \
             every second: the same on every replica, take max, not sum)",
            metrics.queue_length.clone(),
        );
        registry.register(
            "flashbook_waiting_room_admitted",
            "Places admitted so far in the active waiting rooms (read from the database every \
             second: the same on every replica, take max, not sum)",
            metrics.admitted.clone(),
        );
        metrics
    }

    /// A booking this process cancelled, with its seats.
    pub fn cancelled(&self, seats: u64) {
        self.bookings_cancelled.inc();
        self.seats_cancelled.inc_by(seats);
    }

    /// `held` buyers' holds (`offer` false) or offers went through `change`.
    pub fn holds(&self, offer: bool, change: HoldChange, held: Held) {
        if held.holds == 0 {
            return;
        }
        let (family, label) = if offer {
            (&self.offers, change.offer_label())
        } else {
            (&self.holds, change.hold_label())
        };
        family
            .get_or_create(&ChangeLabels { change: label })
            .inc_by(held.holds);
        self.held_seats
            .get_or_create(&ChangeLabels {
                change: change.hold_label(),
            })
            .inc_by(held.seats);
    }
}
