//! `promlite gen-cluster`: writes a synthetic Kubernetes cluster's metrics.

use std::io::BufWriter;
use std::time::Instant;

use anyhow::Context as _;
use promlite_cluster::{ClusterSpec, LabelStyle, Size};

use crate::args::{ClusterFormat, GenClusterArgs, LabelStyleArg, SizeArg};

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

/// Generates the cluster and writes it in the requested layout.
pub fn run(args: &GenClusterArgs) -> anyhow::Result<()> {
    let spec = spec(args.size, args.seed, args.label_style);
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
