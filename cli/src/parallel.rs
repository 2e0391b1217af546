//! `map` over all cores, keeping order: route files and entries are independent, and
//! `check` of a million routes should not wait on one core.

use std::thread;

/// `f` applied to every item, on as many threads as there are cores, results in order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    // Interleaved, so a few large items at one end do not all land on one thread.
    let f = &f;
    let parts: Vec<Vec<(usize, R)>> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || items.iter().enumerate().skip(t).step_by(threads).map(|(i, x)| (i, f(x))).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for (i, r) in parts.into_iter().flatten() {
        out[i] = Some(r);
    }
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let xs: Vec<u32> = (0..1001).collect();
        assert_eq!(super::map(&xs, |x| x * 2), xs.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(super::map(&[] as &[u32], |x| *x).is_empty());
    }
}
