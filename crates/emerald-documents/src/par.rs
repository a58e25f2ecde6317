//! Work split over the two cores a document's reading runs on.

/// `f` of every item, in their order, the items split over two threads (the largest first,
/// each to the side with less `size` so far) when there are two and two cores.
pub(crate) fn on_two_threads<T: Sync, R: Send>(
    items: &[T],
    size: impl Fn(&T) -> u64,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if cores < 2 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(size(&items[i])));
    let (mut here, mut there, mut load) = (Vec::new(), Vec::new(), [0u64; 2]);
    for i in order {
        let k = usize::from(load[1] < load[0]);
        load[k] += size(&items[i]);
        if k == 0 {
            here.push(i);
        } else {
            there.push(i);
        }
    }
    let f = &f;
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let other = s.spawn(|| there.iter().map(|&i| (i, f(&items[i]))).collect::<Vec<_>>());
        let mine: Vec<(usize, R)> = here.iter().map(|&i| (i, f(&items[i]))).collect();
        // A panic there is a panic here, as it would have been on one thread.
        let theirs = other.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        for (i, r) in mine.into_iter().chain(theirs) {
            out[i] = Some(r);
        }
    });
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_in_its_order() {
        for n in [0usize, 1, 2, 3, 10] {
            let items: Vec<u64> = (0..n as u64).map(|i| (i * 7919) % 13).collect();
            let seen = std::sync::Mutex::new(Vec::new());
            let out = on_two_threads(
                &items,
                |&v| v,
                |&v| {
                    seen.lock().unwrap().push(std::thread::current().id());
                    v * 2
                },
            );
            assert_eq!(out, items.iter().map(|v| v * 2).collect::<Vec<_>>(), "n = {n}");
            assert_eq!(seen.lock().unwrap().len(), n);
        }
    }

    #[test]
    fn a_panic_on_the_other_thread_is_a_panic_here() {
        let items = [1u64, 2, 3, 4];
        let caught = std::panic::catch_unwind(|| on_two_threads(&items, |&v| v, |&v| assert!(v != 1, "one")));
        assert!(caught.is_err());
    }
}
