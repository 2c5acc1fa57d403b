//! Go-compatibility helpers: where Prometheus's answer depends on how Go's standard library
//! formats, compares, sorts or parses floats, these reproduce it. A leaf module: it uses nothing
//! else of the crate.

/// Go's `math.Max`: NaN wins, +0 beats -0.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, -0 beats +0.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

/// Formats like Go's `%g` for the common cases used in messages.
pub(crate) fn fmt_g(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        let s = format!("{v}");
        if s.len() > 21 {
            format!("{v:e}")
        } else {
            s
        }
    }
}

/// Formats a float as Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub(crate) fn fmt_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Parses a float as Go's `strconv.ParseFloat` would for the usual spellings (`+Inf`, `inf`,
/// `-Inf`, decimal and exponent forms), as Prometheus reads a bucket's `le` bound.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => return Some(f64::INFINITY),
        "-Inf" | "-inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    s.parse::<f64>().ok()
}

/// `Less` of Prometheus's value heaps: `NaN` sorts first; `reverse` flips the comparison.
#[inline]
pub(crate) fn heap_less(a: f64, b: f64, reverse: bool) -> bool {
    if a.is_nan() {
        return true;
    }
    if reverse {
        a > b
    } else {
        a < b
    }
}

/// A binary min-heap with Go's `container/heap` algorithm, so ties resolve as in Prometheus.
pub(crate) struct GoHeap {
    pub(crate) items: Vec<(usize, f64)>,
    pub(crate) reverse: bool,
}

impl GoHeap {
    fn less(&self, i: usize, j: usize) -> bool {
        match (self.items.get(i), self.items.get(j)) {
            (Some(a), Some(b)) => heap_less(a.1, b.1, self.reverse),
            _ => false,
        }
    }

    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }

    fn down(&mut self, i0: usize) -> bool {
        let n = self.items.len();
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            let j2 = j1 + 1;
            if j2 < n && self.less(j2, j1) {
                j = j2;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
        i > i0
    }

    pub(crate) fn push(&mut self, item: (usize, f64)) {
        self.items.push(item);
        let n = self.items.len();
        self.up(n - 1);
    }

    pub(crate) fn fix_root(&mut self) {
        if !self.down(0) {
            self.up(0);
        }
    }
}

/// Sorts with `less` like Go's `sort.Sort` does for short inputs (insertion sort, stable);
/// longer inputs use a stable sort on the same order.
pub(crate) fn go_sort<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    if items.len() <= 12 {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && less(&items[j], &items[j - 1]) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        items.sort_by(|a, b| {
            if less(a, b) {
                std::cmp::Ordering::Less
            } else if less(b, a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_min_max_propagate_nan() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert_eq!(go_max(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn go_heap_keeps_first_of_ties_like_prometheus() {
        let mut h = GoHeap {
            items: Vec::new(),
            reverse: false,
        };
        h.push((0, 1.0));
        h.push((1, 1.0));
        // A larger value replaces the root, which is the first pushed of the tied values.
        if let Some(r) = h.items.first_mut() {
            *r = (2, 2.0);
        }
        h.fix_root();
        let ids: Vec<usize> = h.items.iter().map(|x| x.0).collect();
        assert!(ids.contains(&1) && ids.contains(&2));
    }

    #[test]
    fn float_formatting_matches_go() {
        assert_eq!(fmt_float(1.0), "1");
        assert_eq!(fmt_float(0.5), "0.5");
        assert_eq!(fmt_float(f64::INFINITY), "+Inf");
        assert_eq!(fmt_float(1e21), "1000000000000000000000");
    }

    #[test]
    fn floats_parse_like_strconv() {
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("0.25"), Some(0.25));
        assert_eq!(parse_float("1e3"), Some(1000.0));
        assert_eq!(parse_float("x"), None);
    }
}
