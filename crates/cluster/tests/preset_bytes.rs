//! The presets' output is frozen: goldens (testdata/workload/golden, Prometheus 2.42's answers on
//! the small preset) and every cached benchmark data set depend on the exact bytes. Adding a
//! cluster shape or a spec field must not move a single draw of the preset generator.
//!
//! The pinned digests were computed from the generator before the `churn` shape existed
//! (commit bbfaa9a); there is no other oracle for "the same bytes as before".

use std::io::Write;

use promlite_cluster::{Cluster, ClusterSpec, LabelStyle, Size};

/// 64-bit FNV-1a over everything written.
struct Fnv(u64);

impl Write for Fnv {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for b in buf {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn spec(size: Size, style: LabelStyle) -> ClusterSpec {
    ClusterSpec {
        label_style: style,
        ..ClusterSpec::preset(size)
    }
}

fn openmetrics_digest(spec: &ClusterSpec) -> u64 {
    let cluster = Cluster::build(spec).expect("preset builds");
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    cluster
        .write_openmetrics(&mut h)
        .expect("hashing cannot fail");
    h.0
}

/// Digest of the series definitions only (labels, spans, resets): the topology of the large
/// presets without drawing their values.
fn series_digest(spec: &ClusterSpec) -> u64 {
    let cluster = Cluster::build(spec).expect("preset builds");
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for def in cluster.series() {
        writeln!(
            h,
            "{}|{:?}|{:?}|{:?}",
            def.labels, def.spans, def.resets, def.model
        )
        .expect("hashing cannot fail");
    }
    h.0
}

#[test]
fn preset_openmetrics_bytes_are_unchanged() {
    let cases = [
        (
            Size::Tiny,
            LabelStyle::Legacy2018,
            0xfef7_1366_9e16_668d_u64,
        ),
        (Size::Tiny, LabelStyle::Modern, 0xe1bd_55fb_8a50_2ac5),
        (Size::Small, LabelStyle::Legacy2018, 0xe82c_a0eb_0408_5a4b),
        (Size::Small, LabelStyle::Modern, 0xfe0b_2962_45a2_8f35),
    ];
    let mut bad = Vec::new();
    for (size, style, want) in cases {
        let got = openmetrics_digest(&spec(size, style));
        if got != want {
            bad.push(format!(
                "{size:?} {style:?}: {got:#018x} (pinned {want:#018x})"
            ));
        }
    }
    assert!(bad.is_empty(), "preset output changed:\n{}", bad.join("\n"));
}

#[test]
fn preset_series_definitions_are_unchanged() {
    let cases = [
        (
            Size::Medium,
            LabelStyle::Legacy2018,
            0x12f1_17ee_e2aa_c00d_u64,
        ),
        (Size::Medium, LabelStyle::Modern, 0x3a46_c0e6_9163_4e37),
        (Size::Large, LabelStyle::Legacy2018, 0x7913_1666_acd9_59f2),
        (Size::Large, LabelStyle::Modern, 0xcf0a_8a18_810b_47b0),
        (Size::Huge, LabelStyle::Legacy2018, 0x4bc4_9d43_a786_afd8),
    ];
    let mut bad = Vec::new();
    for (size, style, want) in cases {
        let got = series_digest(&spec(size, style));
        if got != want {
            bad.push(format!(
                "{size:?} {style:?}: {got:#018x} (pinned {want:#018x})"
            ));
        }
    }
    assert!(bad.is_empty(), "preset series changed:\n{}", bad.join("\n"));
}
