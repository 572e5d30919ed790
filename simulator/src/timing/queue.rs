//! The event queue: a monotone radix heap over integer times, FIFO among equal times.
//!
//! A discrete-event simulation never schedules into the past, so the keys popped are
//! non-decreasing and a radix heap applies. This one uses byte digits: an entry sits in
//! bucket (level, digit) where `level` is the highest byte in which its time differs from
//! the last time popped and `digit` is its time's byte there. An entry moves down at most
//! 8 levels over its life (2–4 for times within minutes of each other), every move is an
//! append to a `Vec`, and finding the next bucket is a scan of a few bitmap words. That is
//! much friendlier to caches than a binary heap of a million entries. Events with the same time come out in
//! the order they were pushed (a sequence number breaks ties), so the simulation is
//! deterministic without depending on hash or allocation order.
//!
//! It must never accept an event earlier than the last one popped (that is a bug in the
//! engine; it is caught by a debug assertion and clamped in release builds).

use std::collections::VecDeque;

const BUCKETS: usize = 8 * 256;

/// One queued event: time in microseconds, sequence number, and a packed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub time: u64,
    seq: u32,
    pub payload: u32,
}

/// Monotone radix heap of [`Entry`].
#[derive(Debug)]
pub(crate) struct EventQueue {
    last: u64,
    /// Entries whose time equals `last`, in sequence order.
    current: VecDeque<Entry>,
    /// Bucket `level * 256 + digit`, see the module comment.
    buckets: Vec<Vec<Entry>>,
    /// Smallest time in each bucket (kept on push, so a refill needs one pass, not two).
    mins: Vec<u64>,
    /// Per level, a 256-bit map of the non-empty digits.
    nonempty: [[u64; 4]; 8],
    /// Bit `level` set when any bucket of that level is non-empty.
    levels: u8,
    len: usize,
    seq: u32,
    peak_len: usize,
}

impl Default for EventQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl EventQueue {
    pub fn new() -> Self {
        EventQueue {
            last: 0,
            current: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            mins: vec![u64::MAX; BUCKETS],
            nonempty: [[0; 4]; 8],
            levels: 0,
            len: 0,
            seq: 0,
            peak_len: 0,
        }
    }

    /// Bucket of a time different from `last`.
    #[inline]
    fn bucket_of(&self, time: u64) -> usize {
        let level = (63 - (time ^ self.last).leading_zeros()) / 8;
        let digit = (time >> (8 * level)) & 0xff;
        (level as usize) << 8 | digit as usize
    }

    /// Schedules `payload` at `time` (not earlier than the last popped time).
    #[inline]
    pub fn push(&mut self, time: u64, payload: u32) {
        debug_assert!(time >= self.last, "event scheduled in the past");
        let time = time.max(self.last);
        // Wraps after 2^32 pushes; the order stays deterministic, only FIFO among
        // simultaneous events could then be broken.
        let entry = Entry {
            time,
            seq: self.seq,
            payload,
        };
        self.seq = self.seq.wrapping_add(1);
        if time == self.last {
            self.current.push_back(entry);
        } else {
            self.put(entry);
        }
        self.len += 1;
        if self.len > self.peak_len {
            self.peak_len = self.len;
        }
    }

    #[inline]
    fn put(&mut self, e: Entry) {
        let b = self.bucket_of(e.time);
        self.buckets[b].push(e);
        if e.time < self.mins[b] {
            self.mins[b] = e.time;
        }
        let (level, digit) = (b >> 8, b & 0xff);
        self.nonempty[level][digit >> 6] |= 1 << (digit & 63);
        self.levels |= 1 << level;
    }

    /// Removes and returns the earliest event (first pushed among equal times).
    #[inline]
    pub fn pop(&mut self) -> Option<Entry> {
        if self.current.is_empty() && !self.refill() {
            return None;
        }
        self.len -= 1;
        self.current.pop_front()
    }

    /// Moves the smallest non-empty bucket down; false when the queue is empty.
    fn refill(&mut self) -> bool {
        if self.levels == 0 {
            return false;
        }
        let level = self.levels.trailing_zeros() as usize;
        let words = &mut self.nonempty[level];
        let Some(w) = words.iter().position(|&x| x != 0) else {
            return false; // unreachable: `levels` says this level has a bucket
        };
        let digit = w * 64 + words[w].trailing_zeros() as usize;
        words[w] &= !(1 << (digit & 63));
        if words.iter().all(|&x| x == 0) {
            self.levels &= !(1 << level);
        }
        let i = level << 8 | digit;
        let mut bucket = std::mem::take(&mut self.buckets[i]);
        let min = self.mins[i];
        self.mins[i] = u64::MAX;
        self.last = min;
        for e in bucket.drain(..) {
            if e.time == min {
                self.current.push_back(e);
            } else {
                self.put(e);
            }
        }
        // Every entry went to a lower bucket: give the allocation back for reuse.
        self.buckets[i] = bucket;
        if self.current.len() > 1 {
            self.current
                .make_contiguous()
                .sort_unstable_by_key(|e| e.seq);
        }
        true
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The largest number of events queued at once.
    pub fn peak_len(&self) -> usize {
        self.peak_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_in_time_then_push_order_like_a_binary_heap() {
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut now = 0u64;
        let mut seq = 0u32;
        for round in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(3) || reference.is_empty() {
                let t = now + (x >> 40) % 1000 * if round % 7 == 0 { 0 } else { 1 };
                q.push(t, round);
                reference.push(Reverse((t, seq, round)));
                seq += 1;
            } else {
                let Reverse((t, _, payload)) = reference.pop().expect("non-empty");
                let e = q.pop().expect("non-empty");
                assert_eq!((e.time, e.payload), (t, payload));
                now = t;
            }
            assert_eq!(q.len(), reference.len());
        }
        while let Some(Reverse((t, _, payload))) = reference.pop() {
            let e = q.pop().expect("non-empty");
            assert_eq!((e.time, e.payload), (t, payload));
        }
        assert!(q.pop().is_none());
        assert!(q.is_empty());
    }
}
