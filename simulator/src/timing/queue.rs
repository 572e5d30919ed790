//! The event queue: a calendar (bucket) queue over integer times, FIFO among equal times.
//!
//! A discrete-event simulation never schedules into the past, so the times popped are
//! non-decreasing. Time is cut into *epochs* of `2^(SHIFT + RING_BITS)` µs (134 s) and
//! each epoch into `2^RING_BITS` buckets of `2^SHIFT` µs (32.8 ms). An event of the
//! current epoch is appended to its bucket's `Vec` once; an event of a later epoch is
//! appended to that epoch's list and moved into the ring once, when the queue reaches
//! that epoch. When the queue reaches a bucket, the bucket is sorted by (time, sequence
//! number) in one go and drained; events pushed into that bucket meanwhile are inserted
//! in order (they land near the end, which is where the next pops come from). Finding
//! the next non-empty bucket is a scan of a two-level bitmap. So each event is moved at
//! most twice, against 2–4 moves in the radix heap this replaced (see
//! docs/SIMULATOR-TIMING.md). Events with the same time come out in the order they were
//! pushed (the sequence number breaks ties), so the simulation is deterministic without
//! depending on hash or allocation order, and the order is exactly that of a binary heap
//! of (time, sequence) — the test below checks it.
//!
//! It must never accept an event earlier than the last one popped (that is a bug in the
//! engine; it is caught by a debug assertion and clamped in release builds).

use std::collections::BTreeMap;

/// Bucket width: 2^SHIFT µs.
const SHIFT: u32 = 15;
/// Buckets in the ring: 2^RING_BITS.
const RING_BITS: u32 = 12;
const RING: usize = 1 << RING_BITS;
const WORDS: usize = RING / 64;

/// One queued event: time in microseconds, sequence number, and a packed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub time: u64,
    seq: u32,
    pub payload: u32,
}

impl Entry {
    #[inline]
    fn key(&self) -> (u64, u32) {
        (self.time, self.seq)
    }
}

/// Calendar queue of [`Entry`].
#[derive(Debug)]
pub(crate) struct EventQueue {
    /// The last time popped.
    last: u64,
    /// The epoch the ring holds (`time >> (SHIFT + RING_BITS)`).
    epoch: u64,
    /// The bucket being drained (its entries are in `current`).
    cursor: usize,
    /// Whether `cursor`'s bucket has been moved to `current` (false at an epoch's start).
    taken: bool,
    /// The drained bucket, sorted by descending (time, seq): the next event is last.
    current: Vec<Entry>,
    /// Buckets of the current epoch, unsorted.
    ring: Vec<Vec<Entry>>,
    /// Bit per non-empty bucket of `ring`, and a bit per non-zero word of it.
    nonempty: [u64; WORDS],
    summary: u64,
    /// Entries of later epochs, by epoch.
    far: BTreeMap<u64, Vec<Entry>>,
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
            epoch: 0,
            cursor: 0,
            taken: false,
            current: Vec::new(),
            ring: (0..RING).map(|_| Vec::new()).collect(),
            nonempty: [0; WORDS],
            summary: 0,
            far: BTreeMap::new(),
            len: 0,
            seq: 0,
            peak_len: 0,
        }
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
        self.len += 1;
        if self.len > self.peak_len {
            self.peak_len = self.len;
        }
        let epoch = time >> (SHIFT + RING_BITS);
        if epoch != self.epoch {
            self.far.entry(epoch).or_default().push(entry);
            return;
        }
        let b = (time >> SHIFT) as usize & (RING - 1);
        if self.taken && b == self.cursor {
            // Descending order, popped from the end; the new entry has the largest
            // sequence number, so it comes right after the entries with later times
            // (and is popped after those with an equal time).
            let at = self.current.partition_point(|e| e.time > time);
            self.current.insert(at, entry);
        } else {
            self.put(b, entry);
        }
    }

    #[inline]
    fn put(&mut self, b: usize, e: Entry) {
        self.ring[b].push(e);
        self.nonempty[b >> 6] |= 1 << (b & 63);
        self.summary |= 1 << (b >> 6);
    }

    /// The first non-empty bucket at or after `from`.
    #[inline]
    fn next_bucket(&self, from: usize) -> Option<usize> {
        if from >= RING {
            return None;
        }
        let w = from >> 6;
        let bits = self.nonempty[w] & (!0u64 << (from & 63));
        if bits != 0 {
            return Some(w << 6 | bits.trailing_zeros() as usize);
        }
        let rest = if w + 1 >= 64 {
            0
        } else {
            self.summary & (!0u64 << (w + 1))
        };
        if rest == 0 {
            return None;
        }
        let w = rest.trailing_zeros() as usize;
        Some(w << 6 | self.nonempty[w].trailing_zeros() as usize)
    }

    /// Removes and returns the earliest event (first pushed among equal times).
    #[inline]
    pub fn pop(&mut self) -> Option<Entry> {
        loop {
            if let Some(e) = self.current.pop() {
                self.last = e.time;
                self.len -= 1;
                return Some(e);
            }
            if !self.advance() {
                return None;
            }
        }
    }

    /// Moves the next non-empty bucket (of this epoch, else of the next one) to
    /// `current`; false when the queue is empty.
    #[cold]
    fn advance(&mut self) -> bool {
        let from = self.cursor + usize::from(self.taken);
        if let Some(b) = self.next_bucket(from) {
            self.nonempty[b >> 6] &= !(1 << (b & 63));
            if self.nonempty[b >> 6] == 0 {
                self.summary &= !(1 << (b >> 6));
            }
            self.cursor = b;
            self.taken = true;
            // `current` is empty: swap so both allocations are reused.
            std::mem::swap(&mut self.current, &mut self.ring[b]);
            if self.current.len() > 1 {
                self.current
                    .sort_unstable_by_key(|e| std::cmp::Reverse(e.key()));
            }
            return true;
        }
        let Some((epoch, mut later)) = self.far.pop_first() else {
            return false;
        };
        self.epoch = epoch;
        self.cursor = 0;
        self.taken = false;
        for e in later.drain(..) {
            self.put((e.time >> SHIFT) as usize & (RING - 1), e);
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
        // Delays within one bucket, across buckets, and across epochs.
        for spread in [1000u64, 1 << 22, 1 << 31, 1 << 40] {
            matches_a_binary_heap(spread);
        }
    }

    fn matches_a_binary_heap(spread: u64) {
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
                let delay = match round % 7 {
                    0 => 0,
                    1 => (x >> 40) % 1000,
                    _ => (x >> 20) % spread,
                };
                let t = now + delay;
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
