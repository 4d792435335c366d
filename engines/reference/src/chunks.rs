//! The records of a stream, held in chunks so that an operator gives back its input's memory
//! as it reads it.
//!
//! The reference holds every record of a run's log. Held in one vector, an operator's input
//! and its output would both be whole at once, and a vector grown by doubling holds up to
//! twice its records: word count's reference peaked at 104 bytes per event of a 40-byte
//! record. In chunks, each chunk of the input is freed once read, so an operator needs about
//! the larger of its input and its output, not their sum.

/// Bytes a chunk holds when full: above the largest allocation glibc's `malloc` serves from its
/// heap (32 MiB on 64-bit), so that every full chunk is mapped on its own and its memory goes
/// back to the system the moment it is freed, whatever the sizes of the chunks around it.
const CHUNK_BYTES: usize = 64 << 20;

/// Records in order, in chunks of at most [`CHUNK_BYTES`].
#[derive(Clone, Debug)]
pub(crate) struct Chunks<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Chunks<T> {
    /// Records a full chunk holds.
    const PER_CHUNK: usize = match size_of::<T>() {
        0 => usize::MAX,
        size if size >= CHUNK_BYTES => 1,
        size => CHUNK_BYTES / size,
    };

    /// No records.
    pub(crate) const fn new() -> Self {
        Chunks { chunks: Vec::new(), len: 0 }
    }

    /// Appends a record.
    pub(crate) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < Self::PER_CHUNK => last.push(item),
            _ => self.chunks.push(vec![item]),
        }
        self.len += 1;
    }

    /// The number of records.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The records in order, borrowed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks::new()
    }
}

impl<T> FromIterator<T> for Chunks<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut chunks = Chunks::new();
        chunks.extend(iter);
        chunks
    }
}

impl<T> Extend<T> for Chunks<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for item in iter {
            self.push(item);
        }
    }
}

/// The records in order, each chunk freed once its last record is taken.
impl<T> IntoIterator for Chunks<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.chunks.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_order_across_chunks() {
        // a record of 16 MiB: four to a chunk
        let per = Chunks::<[u8; 16 << 20]>::PER_CHUNK;
        assert_eq!(per, 4);
        let n = 3 * 4 + 1;
        let chunks: Chunks<u64> = (0..n).collect();
        assert_eq!(chunks.len(), n as usize);
        assert!(chunks.iter().copied().eq(0..n));
        assert!(chunks.clone().into_iter().eq(0..n));
    }

    #[test]
    fn a_chunk_is_full_at_its_size_and_the_next_record_starts_another() {
        let per = Chunks::<u64>::PER_CHUNK;
        assert_eq!(per * size_of::<u64>(), CHUNK_BYTES);
        let mut chunks: Chunks<u64> = (0..per as u64).collect();
        assert_eq!(chunks.chunks.len(), 1);
        chunks.push(0);
        assert_eq!(chunks.chunks.len(), 2);
        assert_eq!(chunks.chunks[0].len(), per);
        assert_eq!(chunks.len(), per + 1);
    }
}
