//! Large buffers on transparent huge pages.
//!
//! The graph walk reads one code per node at random across tens of megabytes; with 4 KiB pages
//! nearly every read also misses the TLB, and under virtualisation a page walk costs more than
//! the read. Buffers of 4 MiB and more (codes, one-bit codes, graph links) are therefore advised
//! as huge pages (`madvise(MADV_HUGEPAGE)`, Linux) before they are first written. The kernel may
//! ignore the advice; `EMERALD_GALLERY_HUGEPAGES=off` skips it.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Eight 64-bit words on a cache line of their own: a `Vec<Line>` starts on a 64-byte boundary
/// (a `Vec<u64>` of this size starts 16 bytes past one, from `malloc`'s header), so a 64-byte
/// code in it is one line, not two, and one prefetch covers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct Line(pub [u64; 8]);

// SAFETY: `Line` is `repr(C)` over a `[u64; 8]` of exactly its alignment (64 bytes), so it has no
// padding, and every bit pattern, all zeros included, is a valid value.
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above; `Copy` and `'static`.
unsafe impl bytemuck::Pod for Line {}

/// Buffers below this size are left alone.
const MIN_BYTES: usize = 4 << 20;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| !std::env::var("EMERALD_GALLERY_HUGEPAGES").is_ok_and(|v| v.eq_ignore_ascii_case("off")))
}

/// `n` zeroed values; a large buffer is advised as huge pages before anything writes it (a zeroed
/// allocation of this size comes straight from `mmap`, untouched).
pub(crate) fn zeroed_vec<T: bytemuck::Zeroable + Clone>(n: usize) -> Vec<T> {
    let v = vec![T::zeroed(); n];
    advise(&v);
    v
}

/// Moves a large buffer into a fresh, advised allocation (after a build that grew it piecemeal).
pub(crate) fn rehome<T: bytemuck::Pod>(v: &mut Vec<T>) {
    if !wants_advice(std::mem::size_of_val(v.as_slice())) {
        return;
    }
    let mut fresh = zeroed_vec::<T>(v.len());
    fresh.copy_from_slice(v);
    *v = fresh;
}

/// A buffer of this many bytes is worth huge pages (and worth moving for them).
fn wants_advice(bytes: usize) -> bool {
    enabled() && bytes >= MIN_BYTES
}

fn advise<T>(v: &[T]) {
    let bytes = std::mem::size_of_val(v);
    if !wants_advice(bytes) {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let first = start.next_multiple_of(HUGE);
        let end = (start + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: [first, end) lies inside `v`'s allocation; MADV_HUGEPAGE only changes how
            // the kernel backs those pages, never their contents, and failure is harmless.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
}
