//! Go's `sort.Sort` (the pattern-defeating quicksort of Go 1.19/1.20, with
//! which Debian built Prometheus 2.42) and `container/heap`, step for step,
//! so that `sort`, `sort_desc`, `topk` and `bottomk` leave equal values in
//! the order Prometheus does. Both are deterministic for a given input
//! order, but neither is stable: a stable Rust sort orders ties
//! differently once there are more than twelve of them. The comparators
//! are Prometheus' too, NaN handling included, even where they are not a
//! strict weak order.

/// Sorts `data` as Go's `sort.Sort` would with `less(data[i], data[j])`.
pub(crate) fn sort<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = data.len();
    let limit = usize::BITS - n.leading_zeros();
    Sorter { data, less }.pdqsort(0, n, limit);
}

/// Pushes `x` onto the heap in `data` (Go's `heap.Push`).
pub(crate) fn heap_push<T>(data: &mut Vec<T>, x: T, less: impl Fn(&T, &T) -> bool) {
    data.push(x);
    let mut j = data.len() - 1;
    // Go's (j-1)/2 is 0 for j = 0, which ends the loop.
    while j > 0 {
        let i = (j - 1) / 2;
        if !less(&data[j], &data[i]) {
            break;
        }
        data.swap(i, j);
        j = i;
    }
}

/// Removes the heap's root (Go's `heap.Pop`).
pub(crate) fn heap_pop<T>(data: &mut Vec<T>, less: impl Fn(&T, &T) -> bool) -> Option<T> {
    let n = data.len().checked_sub(1)?;
    data.swap(0, n);
    let mut i = 0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && less(&data[j1 + 1], &data[j1]) {
            j = j1 + 1;
        }
        if !less(&data[j], &data[i]) {
            break;
        }
        data.swap(i, j);
        i = j;
    }
    data.pop()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

struct Sorter<'a, T, F> {
    data: &'a mut [T],
    less: F,
}

impl<T, F: Fn(&T, &T) -> bool> Sorter<'_, T, F> {
    fn less(&self, i: usize, j: usize) -> bool {
        (self.less)(&self.data[i], &self.data[j])
    }

    fn insertion_sort(&mut self, a: usize, b: usize) {
        for i in a + 1..b {
            let mut j = i;
            while j > a && self.less(j, j - 1) {
                self.data.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    fn sift_down(&mut self, lo: usize, hi: usize, first: usize) {
        let mut root = lo;
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                return;
            }
            if child + 1 < hi && self.less(first + child, first + child + 1) {
                child += 1;
            }
            if !self.less(first + root, first + child) {
                return;
            }
            self.data.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort(&mut self, a: usize, b: usize) {
        let (first, hi) = (a, b - a);
        for i in (0..=(hi - 1) / 2).rev() {
            self.sift_down(i, hi, first);
        }
        for i in (0..hi).rev() {
            self.data.swap(first, first + i);
            self.sift_down(0, i, first);
        }
    }

    fn pdqsort(&mut self, mut a: usize, mut b: usize, mut limit: u32) {
        const MAX_INSERTION: usize = 12;
        let (mut was_balanced, mut was_partitioned) = (true, true);
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(a, b);
            if hint == Hint::Decreasing {
                self.reverse_range(a, b);
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            if was_balanced && was_partitioned && hint == Hint::Increasing && self.partial_insertion_sort(a, b) {
                return;
            }
            // Many equal elements: put those equal to the pivot first.
            if a > 0 && !self.less(a - 1, pivot) {
                a = self.partition_equal(a, b, pivot);
                continue;
            }
            let (mid, already) = self.partition(a, b, pivot);
            was_partitioned = already;
            let (left, right) = (mid - a, b - mid);
            let balance_threshold = length / 8;
            if left < right {
                was_balanced = left >= balance_threshold;
                self.pdqsort(a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right >= balance_threshold;
                self.pdqsort(mid + 1, b, limit);
                b = mid;
            }
        }
    }

    fn partition(&mut self, a: usize, b: usize, pivot: usize) -> (usize, bool) {
        self.data.swap(a, pivot);
        // i and j are inclusive bounds of what is left to partition; j may
        // pass below i, so it is kept signed.
        let (mut i, mut j) = (a + 1, b as isize - 1);
        while i as isize <= j && self.less(i, a) {
            i += 1;
        }
        while i as isize <= j && !self.less(j as usize, a) {
            j -= 1;
        }
        if i as isize > j {
            self.data.swap(j as usize, a);
            return (j as usize, true);
        }
        self.data.swap(i, j as usize);
        i += 1;
        j -= 1;
        loop {
            while i as isize <= j && self.less(i, a) {
                i += 1;
            }
            while i as isize <= j && !self.less(j as usize, a) {
                j -= 1;
            }
            if i as isize > j {
                break;
            }
            self.data.swap(i, j as usize);
            i += 1;
            j -= 1;
        }
        self.data.swap(j as usize, a);
        (j as usize, false)
    }

    fn partition_equal(&mut self, a: usize, b: usize, pivot: usize) -> usize {
        self.data.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b as isize - 1);
        loop {
            while i as isize <= j && !self.less(a, i) {
                i += 1;
            }
            while i as isize <= j && self.less(a, j as usize) {
                j -= 1;
            }
            if i as isize > j {
                break;
            }
            self.data.swap(i, j as usize);
            i += 1;
            j -= 1;
        }
        i
    }

    fn partial_insertion_sort(&mut self, a: usize, b: usize) -> bool {
        const MAX_STEPS: usize = 5;
        const SHORTEST_SHIFTING: usize = 50;
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.less(i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            self.data.swap(i, i - 1);
            if i - a >= 2 {
                let mut j = i - 1;
                while j >= 1 {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.data.swap(j, j - 1);
                    j -= 1;
                }
            }
            if b - i >= 2 {
                for j in i + 1..b {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.data.swap(j, j - 1);
                }
            }
        }
        false
    }

    fn break_patterns(&mut self, a: usize, b: usize) {
        let length = b - a;
        if length >= 8 {
            let mut random = length as u64;
            let modulus = 1usize << (usize::BITS - length.leading_zeros());
            let idx = a + (length / 4) * 2 - 1;
            for i in 0..3 {
                random ^= random << 13;
                random ^= random >> 17;
                random ^= random << 5;
                let mut other = (random as usize) & (modulus - 1);
                if other >= length {
                    other -= length;
                }
                // Go 1.19's release swaps from idx itself (found against Prometheus' answers).
                self.data.swap(idx + i, a + other);
            }
        }
    }

    fn choose_pivot(&mut self, a: usize, b: usize) -> (usize, Hint) {
        const SHORTEST_NINTHER: usize = 50;
        const MAX_SWAPS: usize = 4 * 3;
        let l = b - a;
        let mut swaps = 0;
        let mut i = a + l / 4;
        let mut j = a + l / 4 * 2;
        let mut k = a + l / 4 * 3;
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(i - 1, i, i + 1, &mut swaps);
                j = self.median(j - 1, j, j + 1, &mut swaps);
                k = self.median(k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(i, j, k, &mut swaps);
        }
        match swaps {
            0 => (j, Hint::Increasing),
            MAX_SWAPS => (j, Hint::Decreasing),
            _ => (j, Hint::Unknown),
        }
    }

    fn order2(&self, a: usize, b: usize, swaps: &mut usize) -> (usize, usize) {
        if self.less(b, a) {
            *swaps += 1;
            (b, a)
        } else {
            (a, b)
        }
    }

    fn median(&self, a: usize, b: usize, c: usize, swaps: &mut usize) -> usize {
        let (a, b) = self.order2(a, b, swaps);
        let (b, _) = self.order2(b, c, swaps);
        let (_, b) = self.order2(a, b, swaps);
        b
    }

    fn reverse_range(&mut self, a: usize, b: usize) {
        let (mut i, mut j) = (a, b - 1);
        while i < j {
            self.data.swap(i, j);
            i += 1;
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_any_sort_when_there_are_no_ties() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for n in [0, 1, 2, 12, 13, 49, 50, 51, 200, 1000] {
            let mut v: Vec<u64> = (0..n)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            sort(&mut v, |a, b| a < b);
            assert_eq!(v, want, "n = {n}");
        }
    }

    #[test]
    fn sorts_descending_and_patterned_input() {
        let mut v: Vec<i32> = (0..300).rev().collect();
        sort(&mut v, |a, b| a < b);
        assert_eq!(v, (0..300).collect::<Vec<_>>());
        let mut w: Vec<i32> = (0..300).map(|i| i % 7).collect();
        sort(&mut w, |a, b| a < b);
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn heap_pops_in_order() {
        let mut h = Vec::new();
        for x in [5, 3, 8, 1, 9, 2] {
            heap_push(&mut h, x, |a: &i32, b: &i32| a < b);
        }
        let popped: Vec<i32> = std::iter::from_fn(|| heap_pop(&mut h, |a: &i32, b: &i32| a < b)).collect();
        assert_eq!(popped, [1, 2, 3, 5, 8, 9]);
    }
}
