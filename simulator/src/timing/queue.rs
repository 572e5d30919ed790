//! The event queue: a monotone radix heap over integer times, FIFO among equal times.
//!
//! A discrete-event simulation never schedules into the past, so the keys popped are
//! non-decreasing and a radix heap applies: each element moves down at most 64 buckets
//! over its life, and every move is an append to a `Vec`, which is much friendlier to
//! caches than a binary heap of a million entries. Events with the same time come out in
//! the order they were pushed (a sequence number breaks ties), so the simulation is
//! deterministic without depending on hash or allocation order.
//!
//! It must never accept an event earlier than the last one popped (that is a bug in the
//! engine; it is caught by a debug assertion and clamped in release builds).

use std::collections::VecDeque;

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
    /// Bucket `i` (1..=64) holds entries whose time differs from `last` first at bit `i-1`.
    buckets: Vec<Vec<Entry>>,
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
            buckets: (0..65).map(|_| Vec::new()).collect(),
            len: 0,
            seq: 0,
            peak_len: 0,
        }
    }

    #[inline]
    fn bucket_of(&self, time: u64) -> usize {
        (64 - (time ^ self.last).leading_zeros()) as usize
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
            let b = self.bucket_of(time);
            self.buckets[b].push(entry);
        }
        self.len += 1;
        if self.len > self.peak_len {
            self.peak_len = self.len;
        }
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
        let Some(i) = (1..65).find(|&i| !self.buckets[i].is_empty()) else {
            return false;
        };
        let mut bucket = std::mem::take(&mut self.buckets[i]);
        let min = bucket.iter().map(|e| e.time).min().unwrap_or(self.last);
        self.last = min;
        for e in bucket.drain(..) {
            if e.time == min {
                self.current.push_back(e);
            } else {
                let b = self.bucket_of(e.time);
                self.buckets[b].push(e);
            }
        }
        // Give the allocation back so the bucket does not have to grow again.
        if self.buckets[i].is_empty() {
            self.buckets[i] = bucket;
        }
        self.current
            .make_contiguous()
            .sort_unstable_by_key(|e| e.seq);
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
