//! `promlite gen-cluster`: writes a synthetic Kubernetes cluster's metrics.

use std::io::BufWriter;
use std::time::Instant;

use anyhow::Context as _;
use promlite_cluster::{ClusterSpec, LabelStyle, Shape, Size};

use crate::args::{ClusterFormat, GenClusterArgs, LabelStyleArg, ShapeArg, SizeArg};

/// The cluster crate's preset for a command-line size.
pub fn size(arg: SizeArg) -> Size {
    match arg {
        SizeArg::Tiny => Size::Tiny,
        SizeArg::Small => Size::Small,
        SizeArg::Medium => Size::Medium,
        SizeArg::Large => Size::Large,
        SizeArg::Huge => Size::Huge,
    }
}

/// The cluster crate's shape for a command-line shape.
pub fn shape(arg: ShapeArg) -> Shape {
    match arg {
        ShapeArg::Classic => Shape::Classic,
        ShapeArg::Churn => Shape::Churn,
    }
}

/// The label style for `--label-style` in `shape`: the flag's value, else the shape's own
/// (legacy for classic, modern for churn). The churn shape refuses legacy names.
pub fn label_style(
    shape_arg: ShapeArg,
    style: Option<LabelStyleArg>,
) -> anyhow::Result<LabelStyle> {
    match (shape_arg, style) {
        (ShapeArg::Churn, Some(LabelStyleArg::Legacy2018)) => {
            anyhow::bail!("--shape churn uses modern label names; drop --label-style 2018")
        }
        (ShapeArg::Churn, _) | (ShapeArg::Classic, Some(LabelStyleArg::Modern)) => {
            Ok(LabelStyle::Modern)
        }
        (ShapeArg::Classic, _) => Ok(LabelStyle::Legacy2018),
    }
}

/// The spec for the given flags.
pub fn spec(size_arg: SizeArg, seed: Option<u64>, style: LabelStyleArg) -> ClusterSpec {
    let mut spec = ClusterSpec::preset(size(size_arg));
    if let Some(seed) = seed {
        spec.seed = seed;
    }
    spec.label_style = match style {
        LabelStyleArg::Modern => LabelStyle::Modern,
        LabelStyleArg::Legacy2018 => LabelStyle::Legacy2018,
    };
    spec
}

/// The spec for `--size`, `--shape`, `--label-style` and `--seed`.
pub fn shaped_spec(
    size_arg: SizeArg,
    shape_arg: ShapeArg,
    seed: Option<u64>,
    style: Option<LabelStyleArg>,
) -> anyhow::Result<ClusterSpec> {
    let mut spec = ClusterSpec::shaped(size(size_arg), shape(shape_arg));
    spec.label_style = label_style(shape_arg, style)?;
    if let Some(seed) = seed {
        spec.seed = seed;
    }
    Ok(spec)
}

/// Generates the cluster and writes it in the requested layout.
pub fn run(args: &GenClusterArgs) -> anyhow::Result<()> {
    let spec = shaped_spec(args.size, args.shape, args.seed, args.label_style)?;
    let started = Instant::now();
    let stats = match args.format {
        ClusterFormat::Openmetrics => {
            let file = std::fs::File::create(&args.out)
                .with_context(|| format!("creating {}", args.out.display()))?;
            let mut out = BufWriter::new(file);
            let stats = promlite_cluster::write_openmetrics(&spec, &mut out)?;
            std::io::Write::flush(&mut out)
                .with_context(|| format!("writing {}", args.out.display()))?;
            stats
        }
        ClusterFormat::ScrapeDir => {
            std::fs::create_dir_all(&args.out)
                .with_context(|| format!("creating {}", args.out.display()))?;
            promlite_cluster::write_scrape_dir(&spec, &args.out)?
        }
    };
    eprintln!(
        "wrote {} nodes, {} pods, {} series, {} samples over {} scrapes to {} in {:.2?}",
        stats.nodes,
        stats.pods,
        stats.series,
        stats.samples,
        stats.scrapes,
        args.out.display(),
        started.elapsed()
    );
    Ok(())
}
