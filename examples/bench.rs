//! Times GPT-2 forward passes and traces: median milliseconds of `--runs` after 3 warm-ups, printed and
//! written as `{"ms": {"plain_forward": ..., ...}}`, with the case names of `nnsight_peer.py`.
//!
//! cargo run --release --example bench -- --model <dir> [--prompt T] [--runs N] [--json out.json]

mod common;

use std::time::Instant;

use nnsight::prelude::*;

fn median_ms(runs: usize, mut f: impl FnMut() -> Result<(), Error>) -> Result<f64, Error> {
    for _ in 0..3 {
        f()?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "bench [--model DIR|HUB_ID] [--prompt TEXT] [--runs N] [--json OUT]";
    let args = common::Args::parse(&["model", "prompt", "runs", "json"], usage);
    let model = Gpt2::for_examples(args.get("model"))?;
    let prompt = args.get("prompt").unwrap_or("The Eiffel Tower is in the city of");
    let runs: usize = args.get("runs").map(str::parse).transpose()?.unwrap_or(20).max(1);
    let ids = prompt.into_ids(&model)?;

    let mut cases: Vec<(&str, f64)> = Vec::new();
    cases.push(("plain_forward", median_ms(runs, || model.forward(&ids).map(drop))?));

    let ms: Vec<String> = cases.iter().map(|(name, ms)| format!("\"{name}\": {ms:.3}")).collect();
    let json = format!(
        "{{\"model\": \"{}\", \"tokens\": {}, \"runs\": {runs}, \"ms\": {{{}}}}}",
        model.source().replace('\\', "/").replace('"', "'"),
        ids.dim(1)?,
        ms.join(", ")
    );
    println!("{json}");
    if let Some(path) = args.get("json") {
        std::fs::write(path, &json)?;
    }
    Ok(())
}
