//! The NEXMark event generator.
//!
//! It follows the generator of the NEXMark implementations for Apache Beam and Apache Flink
//! (`nexmark/nexmark`, `GeneratorConfig` and the `PersonGenerator`, `AuctionGenerator` and
//! `BidGenerator` models): out of every 50 events, 1 is a person, 3 are auctions and 46 are
//! bids; ids start at 1000; three auctions in four are sold by a "hot" seller and the rest by
//! one of the 1000 most recently registered people; half of the bids go to a hot auction and
//! the rest to one of the 100 auctions in flight; three bidders in four are hot; prices are
//! log-uniform between one cent and ten thousand dollars.
//!
//! One deliberate difference: an auction's length is drawn uniformly from the configured
//! range, in event time, instead of being derived from the event rate, so that auctions
//! close on the same scale of seconds at every rate a suite tries.

use super::model::{Auction, Bid, CHANNELS, CITIES, Event, FIRST_NAMES, LAST_NAMES, Name, Person, STATES};
use crate::log::Generator;
use crate::rng::EventRng;
use flowmark_core::Time;
use flowmark_core::time::SECOND;
use serde::{Deserialize, Serialize};

const PERSON_PROPORTION: u64 = 1;
const AUCTION_PROPORTION: u64 = 3;
const BID_PROPORTION: u64 = 46;
const PROPORTION_DENOMINATOR: u64 = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
const FIRST_PERSON_ID: u64 = 1000;
const FIRST_AUCTION_ID: u64 = 1000;
const FIRST_CATEGORY_ID: u64 = 10;
const NUM_CATEGORIES: u64 = 5;
/// Of every `HOT_AUCTION_RATIO` bids, all but one go to a hot auction (the Beam and Flink
/// generators' `hotAuctionRatio`); likewise for sellers and bidders.
pub const HOT_AUCTION_RATIO: u64 = 2;
/// The default share of auctions by hot sellers: all but one in this many.
pub const HOT_SELLER_RATIO: u64 = 4;
/// The default share of bids by hot bidders: all but one in this many.
pub const HOT_BIDDER_RATIO: u64 = 4;
const NUM_ACTIVE_PEOPLE: u64 = 1000;
const NUM_IN_FLIGHT_AUCTIONS: u64 = 100;
const PERSON_ID_LEAD: u64 = 10;
const AUCTION_ID_LEAD: u64 = 10;

/// Parameters of the NEXMark generator.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NexmarkGenerator {
    /// Shortest auction.
    #[serde(with = "flowmark_core::time::duration")]
    pub min_auction_length: Time,
    /// Longest auction.
    #[serde(with = "flowmark_core::time::duration")]
    pub max_auction_length: Time,
    /// All but one in this many bids go to a hot auction (1: none do).
    pub hot_auction_ratio: u64,
    /// All but one in this many auctions are a hot seller's.
    pub hot_seller_ratio: u64,
    /// All but one in this many bids are a hot bidder's.
    pub hot_bidder_ratio: u64,
}

impl Default for NexmarkGenerator {
    fn default() -> Self {
        NexmarkGenerator {
            min_auction_length: SECOND,
            max_auction_length: 20 * SECOND,
            hot_auction_ratio: HOT_AUCTION_RATIO,
            hot_seller_ratio: HOT_SELLER_RATIO,
            hot_bidder_ratio: HOT_BIDDER_RATIO,
        }
    }
}

/// The id (from 0) of the last person registered by event `n`: each epoch of 50 events
/// registers one person, at its start.
fn last_person(n: u64) -> u64 {
    const _: () = assert!(PERSON_PROPORTION == 1, "one person per epoch, at offset 0");
    n / PROPORTION_DENOMINATOR
}

/// The id (from 0) of the last auction opened by event `n` (0 before the first).
fn last_auction(n: u64) -> u64 {
    let (epoch, offset) = (n / PROPORTION_DENOMINATOR, n % PROPORTION_DENOMINATOR);
    let within = if offset < PERSON_PROPORTION {
        // the previous epoch's last auction
        return (epoch * AUCTION_PROPORTION).saturating_sub(1);
    } else {
        (offset - PERSON_PROPORTION).min(AUCTION_PROPORTION - 1)
    };
    epoch * AUCTION_PROPORTION + within
}

/// One of the recently registered people (or one about to register).
fn some_person(n: u64, rng: &mut EventRng) -> u64 {
    let people = last_person(n) + 1;
    let active = people.min(NUM_ACTIVE_PEOPLE);
    people - active + rng.below(active + PERSON_ID_LEAD)
}

/// One of the auctions in flight (or one about to open).
fn some_auction(n: u64, rng: &mut EventRng) -> u64 {
    let last = last_auction(n);
    let min = last.saturating_sub(NUM_IN_FLIGHT_AUCTIONS);
    min + rng.below(last - min + 1 + AUCTION_ID_LEAD)
}

/// A price in cents: log-uniform from 1 to 10⁶.
fn price(rng: &mut EventRng) -> u64 {
    (10f64.powf(rng.next_f64() * 6.0) * 100.0).round() as u64 / 100 + 1
}

impl Generator for NexmarkGenerator {
    type Event = Event;

    #[inline]
    fn event(&self, n: u64, time: Time, rng: &mut EventRng) -> Event {
        let offset = n % PROPORTION_DENOMINATOR;
        if offset < PERSON_PROPORTION {
            let r = rng.next_u64();
            Event::Person(Person {
                id: last_person(n) + FIRST_PERSON_ID,
                name: Name((r % FIRST_NAMES.len() as u64) as u8, ((r >> 8) % LAST_NAMES.len() as u64) as u8),
                credit_card: rng.below(10_000_000_000_000_000),
                city: ((r >> 16) % CITIES.len() as u64) as u8,
                state: ((r >> 24) % STATES.len() as u64) as u8,
                date_time: time,
            })
        } else if offset < PERSON_PROPORTION + AUCTION_PROPORTION {
            let seller = if rng.below(self.hot_seller_ratio) > 0 {
                last_person(n) / self.hot_seller_ratio * self.hot_seller_ratio
            } else {
                some_person(n, rng)
            };
            let initial_bid = price(rng);
            let span = (self.max_auction_length - self.min_auction_length).max(0) as u64;
            Event::Auction(Auction {
                id: last_auction(n) + FIRST_AUCTION_ID,
                item: rng.next_u64() as u32,
                initial_bid,
                reserve: initial_bid + price(rng),
                date_time: time,
                expires: time + self.min_auction_length + rng.below(span + 1) as Time,
                seller: seller + FIRST_PERSON_ID,
                category: FIRST_CATEGORY_ID + rng.below(NUM_CATEGORIES),
            })
        } else {
            let auction = if rng.below(self.hot_auction_ratio) > 0 {
                last_auction(n) / self.hot_auction_ratio * self.hot_auction_ratio
            } else {
                some_auction(n, rng)
            };
            let bidder = if rng.below(self.hot_bidder_ratio) > 0 {
                last_person(n) / self.hot_bidder_ratio * self.hot_bidder_ratio + 1
            } else {
                some_person(n, rng)
            };
            Event::Bid(Bid {
                auction: auction + FIRST_AUCTION_ID,
                bidder: bidder + FIRST_PERSON_ID,
                price: price(rng),
                channel: rng.below(CHANNELS.len() as u64) as u8,
                date_time: time,
                seq: n,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(k: u64) -> Vec<Event> {
        events_of(&NexmarkGenerator::default(), k)
    }

    fn events_of(g: &NexmarkGenerator, k: u64) -> Vec<Event> {
        (0..k).map(|n| g.event(n, n as Time, &mut crate::rng::for_event(1, 1, n))).collect()
    }

    /// The share of bids whose auction's id (from the first) is a multiple of `r`: where the
    /// hot auctions of ratio `r` are.
    fn on_multiples(g: &NexmarkGenerator, r: u64) -> f64 {
        let bids: Vec<u64> = events_of(g, 50_000).iter().filter_map(|e| e.bid()).map(|b| b.auction).collect();
        bids.iter().filter(|a| (*a - FIRST_AUCTION_ID).is_multiple_of(r)).count() as f64 / bids.len() as f64
    }

    #[test]
    fn the_hot_auction_ratio_sets_how_many_bids_go_to_hot_auctions() {
        let with = |ratio| NexmarkGenerator { hot_auction_ratio: ratio, ..Default::default() };
        // all but one in ten bids to a hot auction, and a tenth of the rest by chance
        let hot = on_multiples(&with(10), 10);
        assert!((0.88..0.93).contains(&hot), "{hot}");
        // ratio 1: nothing is hot, a tenth land on multiples of ten by chance
        let cold = on_multiples(&with(1), 10);
        assert!((0.07..0.13).contains(&cold), "{cold}");
        // the default: half the bids
        let default = on_multiples(&NexmarkGenerator::default(), 2);
        assert!((0.72..0.78).contains(&default), "{default}");
    }

    #[test]
    fn proportions_are_1_3_46() {
        let es = events(50_000);
        let people = es.iter().filter(|e| matches!(e, Event::Person(_))).count();
        let auctions = es.iter().filter(|e| matches!(e, Event::Auction(_))).count();
        assert_eq!((people, auctions, es.len() - people - auctions), (1000, 3000, 46_000));
    }

    #[test]
    fn ids_are_dense_and_references_point_at_existing_or_imminent_ids() {
        let es = events(10_000);
        let persons: Vec<u64> = es.iter().filter_map(|e| e.person()).map(|p| p.id).collect();
        let auctions: Vec<u64> = es.iter().filter_map(|e| e.auction()).map(|a| a.id).collect();
        assert_eq!(persons, (1000..1200).collect::<Vec<_>>());
        assert_eq!(auctions, (1000..1600).collect::<Vec<_>>());
        for e in &es {
            if let Event::Bid(b) = e {
                assert!(b.auction < 1600 + AUCTION_ID_LEAD && b.auction >= 1000);
                assert!((1..=1_000_001).contains(&b.price));
            }
            if let Event::Auction(a) = e {
                assert!(a.expires > a.date_time && a.reserve > a.initial_bid);
                assert!((10..15).contains(&a.category));
            }
        }
    }
}
