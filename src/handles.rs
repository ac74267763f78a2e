//! The global handle table: `u64` handles that C callers hold instead of
//! pointers. A handle carries its slot's generation, so a freed handle is never
//! mistaken for the newer client that reuses its slot.
//!
//! Handle layout: `generation << 32 | (slot + 1)`, with generations below 2^21,
//! so every handle is non-zero and below 2^53 (exact in a JavaScript Number or
//! a double).

use once_cell::sync::Lazy;
use parking_lot::RwLock;
use std::sync::Arc;

const GENERATION_LIMIT: u32 = 1 << 21;

struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

/// A table of shared values addressed by generation-checked handles.
pub struct HandleTable<T> {
    inner: RwLock<Slots<T>>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        HandleTable {
            inner: RwLock::new(Slots {
                slots: Vec::new(),
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
    /// Stores `value` and returns its handle.
    pub fn insert(&self, value: T) -> u64 {
        let mut table = self.inner.write();
        let index = match table.free.pop() {
            Some(index) => index,
            None => {
                table.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                u32::try_from(table.slots.len() - 1).expect("fewer than 2^32 live clients")
            }
        };
        let slot = &mut table.slots[index as usize];
        slot.generation = (slot.generation + 1) % GENERATION_LIMIT;
        if slot.generation == 0 {
            slot.generation = 1;
        }
        slot.value = Some(Arc::new(value));
        (u64::from(slot.generation) << 32) | (u64::from(index) + 1)
    }

    /// The value behind `handle`. The table lock is released before the
    /// caller uses it, so calls on one value run in parallel.
    pub fn get(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = split(handle)?;
        let table = self.inner.read();
        let slot = table.slots.get(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.clone()
    }

    /// Removes `handle`. Calls already holding the value finish normally; the
    /// value is dropped when the last of them returns.
    pub fn remove(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = split(handle)?;
        let mut table = self.inner.write();
        let slot = table.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        let value = slot.value.take()?;
        table.free.push(index as u32);
        Some(value)
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
        assert!(table.remove(first).is_none());
        assert_eq!(table.get(second).as_deref(), Some(&2));
        assert!(table.get(0).is_none());
        assert!(second < (1u64 << 53));
    }
}
