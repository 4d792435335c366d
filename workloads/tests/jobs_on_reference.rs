//! Every job on the reference engine, checked against the same quantity computed directly from
//! the log's events — an independent check of each job's definition.

use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Job, Log, Rec, Time, TimeDomain, Window};
use flowmark_reference::{Input, Output, read, run};
use flowmark_workloads::jobs::sessions::{Sessions, SessionsSpec};
use flowmark_workloads::jobs::wordcount::{WordCount, WordCountSpec, Words};
use flowmark_workloads::jobs::ysb::{EventType, Ysb, YsbSpec};
use flowmark_workloads::nexmark::{self, Event, NexmarkGenerator, Params};
use flowmark_workloads::{Disorder, GeneratedLog, LogSpec, RateProfile, Visitor, WorkloadSpec};
use std::collections::{BTreeMap, BTreeSet};

const END: Time = 12 * SECOND;

fn spec(disorder: Disorder) -> LogSpec {
    LogSpec { seed: 7, partitions: 3, rate: RateProfile::constant(20_000.0), disorder }
}

fn input() -> Input {
    Input { end: END, domain: TimeDomain::Event }
}

/// The records a job reads, as the reference reads them.
fn records<J: Job, L: Log<Event = J::Event>>(job: &J, log: &L) -> Vec<Rec<J::Event>> {
    read(log, job.watermarks(), input())
}

fn values(out: &Output, sink: &str) -> BTreeMap<String, String> {
    out.lines(sink).into_iter().map(|l| (l.id, l.value)).collect()
}

struct NoLateWithinBound;

impl Visitor for NoLateWithinBound {
    type Out = Output;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Output {
        run(&job, &log, input())
    }
}

#[test]
fn every_workload_produces_results_and_nothing_is_late_within_the_bound() {
    for w in WorkloadSpec::catalog() {
        let out = w.visit(&spec(Disorder::uniform(w.bound())), NoLateWithinBound).unwrap();
        assert!(out.records > 200_000, "{}: {} records", w.name(), out.records);
        assert_eq!(out.late_events(), 0, "{}", w.name());
        assert!(
            !out.sinks.is_empty() && out.sinks.values().all(|s| !s.is_empty()),
            "{}: no results",
            w.name()
        );
    }
}

#[test]
fn wordcount_counts_every_on_time_word_once() {
    let disorder = Disorder::uniform(300 * MILLISECOND).with_late(0.02, 3 * SECOND);
    let job = WordCount::new(&WordCountSpec::default()).unwrap();
    let log = GeneratedLog::new(&spec(disorder), Words::new(100_000, 1.0).unwrap()).unwrap();
    let out = run(&job, &log, input());
    let total: u64 = values(&out, "counts").values().map(|v| v.parse::<u64>().unwrap()).sum();
    let late = out.late_events();
    assert!(late > 1_000, "very late words are late: {late}");
    assert_eq!(total + late, out.records);
    // per word and window, from the records directly: the on-time ones are those whose window
    // is still open under their own watermark
    let mut direct: BTreeMap<(u32, Time), u64> = BTreeMap::new();
    for r in records(&job, &log) {
        let start = r.time.div_euclid(SECOND) * SECOND;
        if start + SECOND - 1 > r.wm {
            *direct.entry((r.data, start)).or_default() += 1;
        }
    }
    let got = values(&out, "counts");
    assert_eq!(got.len(), direct.len());
    for ((word, start), n) in direct {
        assert_eq!(got[&format!("{word} [{start},{})", start + SECOND)], n.to_string());
    }
}

#[test]
fn ysb_counts_views_per_campaign() {
    let (job, events) = Ysb::new(&YsbSpec::default(), 7).unwrap();
    let log = GeneratedLog::new(&spec(Disorder::uniform(SECOND)), events).unwrap();
    let out = run(&job, &log, input());
    let views = records(&job, &log).iter().filter(|r| r.data.event_type == EventType::View).count() as u64;
    let counted: u64 = values(&out, "views-per-campaign").values().map(|v| v.parse::<u64>().unwrap()).sum();
    assert_eq!(counted, views);
    let campaigns: BTreeSet<String> =
        values(&out, "views-per-campaign").keys().map(|k| k.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(campaigns.len(), 100);
}

#[test]
fn sessions_cover_every_click() {
    let (job, clicks) = Sessions::new(&SessionsSpec::default()).unwrap();
    let log = GeneratedLog::new(&spec(Disorder::uniform(SECOND / 2)), clicks).unwrap();
    let out = run(&job, &log, input());
    let clicks: u64 =
        values(&out, "sessions").values().map(|v| v.split(' ').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(clicks, out.records);
    // a session window is at least one gap long
    for id in values(&out, "sessions").keys() {
        let w = id.split(' ').nth(1).unwrap();
        let (s, e) = w.trim_matches(|c| c == '[' || c == ')').split_once(',').unwrap();
        assert!(e.parse::<Time>().unwrap() - s.parse::<Time>().unwrap() >= 2 * SECOND);
    }
}

fn nexmark_log() -> GeneratedLog<NexmarkGenerator> {
    GeneratedLog::new(&spec(Disorder::uniform(SECOND / 2)), NexmarkGenerator::default()).unwrap()
}

#[test]
fn nexmark_q0_to_q2_are_per_bid() {
    let log = nexmark_log();
    let p = Params::default();
    let bids: Vec<_> = records(&nexmark::Q0(p), &log).into_iter().filter_map(|r| r.data.bid()).collect();
    assert!(bids.len() > 200_000);
    let q0 = values(&run(&nexmark::Q0(p), &log, input()), "bids");
    assert_eq!(q0.len(), bids.len());
    let q1 = values(&run(&nexmark::Q1(p), &log, input()), "euro-bids");
    let b = &bids[17];
    assert_eq!(
        q1[&b.seq.to_string()],
        format!("{},{},{},{}", b.auction, b.bidder, b.price * 908 / 1000, b.date_time)
    );
    let q2 = values(&run(&nexmark::Q2(p), &log, input()), "selected-bids");
    let selected: Vec<_> = bids.iter().filter(|b| b.auction % 123 == 0).collect();
    assert!(!selected.is_empty());
    assert_eq!(q2.len(), selected.len());
    assert!(selected.iter().all(|b| q2[&b.seq.to_string()] == format!("{},{}", b.auction, b.price)));
}

#[test]
fn nexmark_q3_joins_local_sellers_with_category_10() {
    let log = nexmark_log();
    let p = Params::default();
    let events: Vec<Event> = records(&nexmark::Q3(p), &log).into_iter().map(|r| r.data).collect();
    let people: BTreeMap<u64, _> = events
        .iter()
        .filter_map(|e| e.person())
        .filter(|p| ["OR", "ID", "CA"].contains(&p.state_name()))
        .map(|p| (p.id, p))
        .collect();
    let expected: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e.auction())
        .filter(|a| a.category == 10 && people.contains_key(&a.seller))
        .map(|a| format!("{} {}", a.seller, a.id))
        .collect();
    let got = values(&run(&nexmark::Q3(p), &log, input()), "suggestions");
    assert!(!expected.is_empty());
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), expected);
}

#[test]
fn nexmark_q4_averages_closing_prices_per_category() {
    let log = nexmark_log();
    let p = Params::default();
    let events: Vec<Event> = records(&nexmark::Q4(p), &log).into_iter().map(|r| r.data).collect();
    let mut closing: BTreeMap<u64, (u64, u64)> = BTreeMap::new(); // auction → (category, max price)
    let auctions: BTreeMap<u64, _> = events.iter().filter_map(|e| e.auction()).map(|a| (a.id, a)).collect();
    for b in events.iter().filter_map(|e| e.bid()) {
        if let Some(a) = auctions.get(&b.auction)
            && a.date_time <= b.date_time
            && b.date_time <= a.expires
        {
            let c = closing.entry(a.id).or_insert((a.category, 0));
            c.1 = c.1.max(b.price);
        }
    }
    let mut per_category: BTreeMap<u64, (u128, u64)> = BTreeMap::new();
    for (category, price) in closing.values() {
        let e = per_category.entry(*category).or_default();
        e.0 += u128::from(*price);
        e.1 += 1;
    }
    let got = values(&run(&nexmark::Q4(p), &log, input()), "average-price-by-category");
    assert_eq!(got.len(), per_category.len());
    for (category, (sum, n)) in per_category {
        assert_eq!(got[&category.to_string()], format!("{:.3}", sum as f64 / n as f64));
    }
}

#[test]
fn nexmark_q5_finds_the_most_bid_auctions_per_window() {
    let log = nexmark_log();
    let p = Params::default();
    let bids: Vec<_> = records(&nexmark::Q5(p), &log).into_iter().filter_map(|r| r.data.bid()).collect();
    let got = values(&run(&nexmark::Q5(p), &log, input()), "hot-items");
    // the window [10s, 20s)... of the input's middle: [4s, 14s) ends after the input; take [2s, 12s)
    let w = Window::new(2 * SECOND, 12 * SECOND);
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    for b in bids.iter().filter(|b| w.start <= b.date_time && b.date_time < w.end) {
        *counts.entry(b.auction).or_default() += 1;
    }
    let max = *counts.values().max().unwrap();
    let hot: Vec<String> = counts.iter().filter(|(_, c)| **c == max).map(|(a, _)| a.to_string()).collect();
    let id = format!("{w} [{},{})", w.end - 2 * SECOND, w.end);
    assert_eq!(got[&id], format!("{max}:{}", hot.join(",")));
}

#[test]
fn nexmark_q7_finds_the_highest_bids_per_window() {
    let log = nexmark_log();
    let p = Params::default();
    let bids: Vec<_> = records(&nexmark::Q7(p), &log).into_iter().filter_map(|r| r.data.bid()).collect();
    let got = values(&run(&nexmark::Q7(p), &log, input()), "highest-bids");
    for start in [0, 10 * SECOND] {
        let in_window: Vec<_> =
            bids.iter().filter(|b| start <= b.date_time && b.date_time < start + 10 * SECOND).collect();
        let max = in_window.iter().map(|b| b.price).max().unwrap();
        let mut top: Vec<_> =
            in_window.iter().filter(|b| b.price == max).map(|b| (b.auction, b.bidder, b.seq)).collect();
        top.sort();
        let list: Vec<String> = top.iter().map(|(a, b, s)| format!("{a}/{b}/{s}")).collect();
        assert_eq!(got[&format!("* [{start},{})", start + 10 * SECOND)], format!("{max}:{}", list.join(",")));
    }
}

#[test]
fn nexmark_q8_finds_people_selling_in_the_window_they_joined() {
    let log = nexmark_log();
    let p = Params::default();
    let events: Vec<Event> = records(&nexmark::Q8(p), &log).into_iter().map(|r| r.data).collect();
    let window = |t: Time| t.div_euclid(10 * SECOND);
    let sellers: BTreeSet<(u64, Time)> =
        events.iter().filter_map(|e| e.auction()).map(|a| (a.seller, window(a.date_time))).collect();
    let expected: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e.person())
        .filter(|p| sellers.contains(&(p.id, window(p.date_time))))
        .map(|p| {
            let s = window(p.date_time) * 10 * SECOND;
            format!("{} [{s},{})", p.id, s + 10 * SECOND)
        })
        .collect();
    let got = values(&run(&nexmark::Q8(p), &log, input()), "new-sellers");
    assert!(!expected.is_empty());
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), expected);
}
