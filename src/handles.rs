//! The global handle table: `u64` handles that C callers hold instead of
//! pointers. A handle carries its slot's generation, so a freed handle is never
//! mistaken for the newer client that reuses its slot.
//!
//! Handle layout: `generation << 32 | (slot + 1)`, with generations below 2^21,
//! so every handle is non-zero and below 2^53 (exact in a JavaScript Number or
//! a double).
//!
//! Lookups take no lock and write no shared memory: slots live in fixed
//! chunks that never move, each an `ArcSwapOption`. Inserting and removing
//! take a mutex among themselves only.

use arc_swap::ArcSwapOption;
use once_cell::sync::{Lazy, OnceCell};
use parking_lot::Mutex;
use std::sync::Arc;

const GENERATION_LIMIT: u32 = 1 << 21;
const CHUNK_SLOTS: usize = 1024;
/// 4096 chunks of 1024 slots: over four million live clients.
const MAX_CHUNKS: usize = 4096;

/// What a slot holds while it is in use.
struct Occupant<T> {
    generation: u32,
    value: Arc<T>,
}

type Chunk<T> = Box<[ArcSwapOption<Occupant<T>>]>;

/// A table of shared values addressed by generation-checked handles.
pub struct HandleTable<T> {
    chunks: Box<[OnceCell<Chunk<T>>]>,
    allocation: Mutex<Allocation>,
}

struct Allocation {
    /// The last generation handed out per slot ever used.
    generations: Vec<u32>,
    free: Vec<u32>,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        HandleTable {
            chunks: (0..MAX_CHUNKS).map(|_| OnceCell::new()).collect(),
            allocation: Mutex::new(Allocation {
                generations: Vec::new(),
                free: Vec::new(),
            }),
        }
    }
}

fn split(handle: u64) -> Option<(usize, u32)> {
    let slot = (handle & 0xffff_ffff).checked_sub(1)?;
    let generation = u32::try_from(handle >> 32).ok()?;
    Some((slot as usize, generation))
}

impl<T> HandleTable<T> {
    fn slot(&self, index: usize) -> Option<&ArcSwapOption<Occupant<T>>> {
        let chunk = self.chunks.get(index / CHUNK_SLOTS)?.get()?;
        Some(&chunk[index % CHUNK_SLOTS])
    }

    /// Stores `value` and returns its handle.
    pub fn insert(&self, value: T) -> u64 {
        let mut allocation = self.allocation.lock();
        let index = match allocation.free.pop() {
            Some(index) => index as usize,
            None => {
                allocation.generations.push(0);
                allocation.generations.len() - 1
            }
        };
        let chunk = self
            .chunks
            .get(index / CHUNK_SLOTS)
            .expect("fewer than MAX_CHUNKS * CHUNK_SLOTS live clients");
        let slots =
            chunk.get_or_init(|| (0..CHUNK_SLOTS).map(|_| ArcSwapOption::empty()).collect());
        let generation = &mut allocation.generations[index];
        *generation = (*generation % (GENERATION_LIMIT - 1)) + 1;
        let generation = *generation;
        slots[index % CHUNK_SLOTS].store(Some(Arc::new(Occupant {
            generation,
            value: Arc::new(value),
        })));
        (u64::from(generation) << 32) | (index as u64 + 1)
    }

    /// `read(value)` for the value behind `handle`, without a lock and
    /// without touching its reference count. Keep `read` short: the value
    /// stays alive while it runs.
    pub fn with<R>(&self, handle: u64, read: impl FnOnce(&T) -> R) -> Option<R> {
        let (index, generation) = split(handle)?;
        let occupant = self.slot(index)?.load();
        match &*occupant {
            Some(o) if o.generation == generation => Some(read(&o.value)),
            _ => None,
        }
    }

    /// The value behind `handle`, shared: calls that may block (network I/O)
    /// hold this, not a slot.
    pub fn get(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = split(handle)?;
        match &*self.slot(index)?.load() {
            Some(o) if o.generation == generation => Some(o.value.clone()),
            _ => None,
        }
    }

    /// Removes `handle`. Calls already holding the value finish normally; the
    /// value is dropped when the last of them returns.
    pub fn remove(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = split(handle)?;
        let mut allocation = self.allocation.lock();
        let slot = self.slot(index)?;
        let occupant = slot.load_full()?;
        if occupant.generation != generation {
            return None;
        }
        slot.store(None);
        allocation.free.push(index as u32);
        Some(occupant.value.clone())
    }
}

/// The process-wide table of clients behind the C ABI.
pub static CLIENTS: Lazy<HandleTable<crate::Client>> = Lazy::new(HandleTable::default);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_miss_after_reuse() {
        let table = HandleTable::default();
        let first = table.insert(1);
        assert_eq!(table.remove(first).as_deref(), Some(&1));
        let second = table.insert(2);
        assert_ne!(first, second);
        assert!(table.get(first).is_none());
        assert!(table.with(first, |_| ()).is_none());
        assert!(table.remove(first).is_none());
        assert_eq!(table.get(second).as_deref(), Some(&2));
        assert_eq!(table.with(second, |v| *v), Some(2));
        assert!(table.get(0).is_none());
        assert!(table.get(u64::MAX).is_none());
        assert!(second < (1u64 << 53));
    }

    #[test]
    fn generations_wrap_without_reaching_zero() {
        let table = HandleTable::default();
        let mut last = 0;
        for round in 0..(GENERATION_LIMIT as usize + 3) {
            let handle = table.insert(round);
            assert_ne!(handle >> 32, 0);
            assert!(handle < (1u64 << 53));
            assert_ne!(handle, last);
            last = handle;
            table.remove(handle);
        }
    }

    #[test]
    fn slots_beyond_one_chunk() {
        let table = HandleTable::default();
        let handles: Vec<u64> = (0..CHUNK_SLOTS * 2 + 5).map(|i| table.insert(i)).collect();
        for (i, handle) in handles.iter().enumerate() {
            assert_eq!(table.with(*handle, |v| *v), Some(i));
        }
    }
}
