//! NEXMark's events: people, auctions and bids, with the fields of the benchmark's schema.
//!
//! Text fields are kept as indexes into the generator's word lists and printed from them, so
//! that generating an event allocates nothing.

use flowmark_core::Time;
use serde::{Deserialize, Serialize};
use std::fmt;

/// First names, as in the NEXMark generator.
pub const FIRST_NAMES: [&str; 11] =
    ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"];
/// Last names, as in the NEXMark generator.
pub const LAST_NAMES: [&str; 9] =
    ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"];
/// US states, as in the NEXMark generator.
pub const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
/// US cities, as in the NEXMark generator.
pub const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
/// Bid channels.
pub const CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// A person's name: indexes into [`FIRST_NAMES`] and [`LAST_NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Name(pub u8, pub u8);

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", FIRST_NAMES[self.0 as usize], LAST_NAMES[self.1 as usize])
    }
}

/// A new person registering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Person id.
    pub id: u64,
    /// Name.
    pub name: Name,
    /// Credit card number.
    pub credit_card: u64,
    /// City: index into [`CITIES`].
    pub city: u8,
    /// State: index into [`STATES`].
    pub state: u8,
    /// Event time.
    pub date_time: Time,
}

impl Person {
    /// The person's state as text.
    pub fn state_name(&self) -> &'static str {
        STATES[self.state as usize]
    }

    /// The person's city as text.
    pub fn city_name(&self) -> &'static str {
        CITIES[self.city as usize]
    }
}

/// A new auction opening.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Auction {
    /// Auction id.
    pub id: u64,
    /// Item name (a number standing for the generator's random string).
    pub item: u32,
    /// Starting price, in cents.
    pub initial_bid: u64,
    /// Reserve price, in cents.
    pub reserve: u64,
    /// Event time: when the auction opens.
    pub date_time: Time,
    /// When the auction closes.
    pub expires: Time,
    /// The seller's person id.
    pub seller: u64,
    /// Category id.
    pub category: u64,
}

/// A bid on an auction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bid {
    /// Auction id.
    pub auction: u64,
    /// The bidder's person id.
    pub bidder: u64,
    /// Price, in cents.
    pub price: u64,
    /// Channel: index into [`CHANNELS`].
    pub channel: u8,
    /// Event time.
    pub date_time: Time,
    /// The event's number in the log: NEXMark bids have no id, and per-bid results (q0–q2)
    /// need an identity.
    pub seq: u64,
}

/// One NEXMark event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Event {
    /// A person registers.
    Person(Person),
    /// An auction opens.
    Auction(Auction),
    /// A bid is placed.
    Bid(Bid),
}

impl Event {
    /// The bid, if this is one.
    pub fn bid(self) -> Option<Bid> {
        if let Event::Bid(b) = self { Some(b) } else { None }
    }

    /// The auction, if this is one.
    pub fn auction(self) -> Option<Auction> {
        if let Event::Auction(a) = self { Some(a) } else { None }
    }

    /// The person, if this is one.
    pub fn person(self) -> Option<Person> {
        if let Event::Person(p) = self { Some(p) } else { None }
    }
}
