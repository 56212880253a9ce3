//! Times GPT-2 forward passes and traces: median milliseconds of `--runs` after 3 warm-ups, printed and
//! written as `{"ms": {"plain_forward": ..., ...}}`, with the case names of `nnsight_peer.py`.
//!
//! cargo run --release --example bench -- --model <dir> [--prompt T] [--runs N] [--json out.json]

mod common;

use std::time::Instant;

use nnsight::prelude::*;

type Case<'a> = (&'static str, Box<dyn FnMut() -> Result<(), Error> + 'a>);

/// Median milliseconds of each case over `runs` rounds, after 3 warm-up rounds. Rounds run every case
/// once in turn, so drift in the machine's speed (shared, noisy) touches all cases alike.
fn median_ms(runs: usize, cases: &mut [Case]) -> Result<Vec<(&'static str, f64)>, Error> {
    let mut times = vec![Vec::with_capacity(runs); cases.len()];
    for round in 0..runs + 3 {
        for (i, (_, f)) in cases.iter_mut().enumerate() {
            let start = Instant::now();
            f()?;
            if round >= 3 {
                times[i].push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    Ok(cases
        .iter()
        .zip(&mut times)
        .map(|((name, _), t)| {
            t.sort_by(f64::total_cmp);
            (*name, t[t.len() / 2])
        })
        .collect())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "bench [--model DIR|HUB_ID] [--prompt TEXT] [--runs N] [--json OUT]";
    let args = common::Args::parse(&["model", "prompt", "runs", "json"], usage);
    let model = Gpt2::for_examples(args.get("model"))?;
    let prompt = args
        .get("prompt")
        .unwrap_or("The Eiffel Tower is in the city of");
    let runs: usize = args
        .get("runs")
        .map(str::parse)
        .transpose()?
        .unwrap_or(20)
        .max(1);
    let ids = prompt.into_ids(&model)?;

    let plain = || model.forward(&ids).map(drop);
    // The trace cases of nnsight_peer.py; like nnsight, each trace tokenizes its prompt.
    let empty = || trace!(model, prompt => {}).map(drop);
    let seed = || {
        let out = trace!(model, prompt => {
            let x = save!(h[0].output);
            stop!(h[0].output);
        })?;
        out.x.value().map(drop)
    };
    let n_layer = model.config().n_layer;
    let save_all = || {
        let out = trace!(model, prompt => {
            let xs: Vec<_> = (0..n_layer).map(|i| save!(h[i].output)).collect();
            let lo = save!(lm_head.output);
        })?;
        out.lo.value().map(drop)
    };
    let zero_mlp5 = || {
        let out = trace!(model, prompt => {
            edit!(h[5].mlp.output, |t| t.zeros_like());
            let lo = save!(lm_head.output);
        })?;
        out.lo.value().map(drop)
    };
    let mut cases: Vec<Case> = vec![
        ("plain_forward", Box::new(plain)),
        ("trace_empty", Box::new(empty)),
        ("seed_save0_stop0", Box::new(seed)),
        ("save_all_blocks_and_logits", Box::new(save_all)),
        ("zero_mlp5_save_logits", Box::new(zero_mlp5)),
    ];
    let cases = median_ms(runs, &mut cases)?;

    let ms: Vec<String> = cases
        .iter()
        .map(|(name, ms)| format!("\"{name}\": {ms:.3}"))
        .collect();
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
