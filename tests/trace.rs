//! `trace!` at run time: the seed cells, stops that really stop, interventions against HF transformers
//! (goldens made with torch hooks: tests/golden/make_interventions.py), set-up errors, concurrency.

mod common;

use std::sync::Arc;

use candle_core::{DType, Device};
use common::{golden, relative_error, TOLERANCE};
use nnsight::hooks::OutputRecorder;
use nnsight::prelude::*;

const PROMPT: &str = "The Eiffel Tower is in the city of";
/// Events of a full pass of the 12-block tiny model: 2 per module, 6 outside the blocks, 13 per block.
const FULL_PASS_EVENTS: usize = 2 * (6 + 13 * 12);

fn model() -> Gpt2 {
    Gpt2::tiny().unwrap()
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn seed_cell_1_saves_block_0_bit_for_bit_and_stops_after_one_block() {
    let model = model();
    let out = trace!(model, PROMPT => {
        let l1 = save!(h[0].output);
        stop!(h[0].output);
    })
    .unwrap();
    let mut rec = OutputRecorder::default();
    model
        .forward_with(&PROMPT.into_ids(&model).unwrap(), &mut rec)
        .unwrap();
    let full = rec
        .outputs
        .iter()
        .find(|(k, _)| k == "transformer.h.0")
        .map(|(_, t)| t)
        .unwrap();
    assert_eq!(bits(out.l1.value().unwrap()), bits(full));
    assert_eq!(out.l1.value().unwrap().dims(), &[1, 10, 32]);
}

#[test]
fn stop_ends_the_pass_counted_in_events() {
    let model = model();
    let tracer = nnsight::Tracer::new(&model, &nnsight::schema::SCHEMAS[0]);
    let site = tracer.event(
        nnsight::schema::Module::Block,
        Some(0),
        nnsight::schema::EventKind::Output,
    );
    tracer.stop(site);
    let run = tracer.run(PROMPT).unwrap();
    // transformer.input, wte x2, wpe x2, drop x2, then block 0's 26 events: nothing after h[0].output.
    assert_eq!(run.events_fired(), 7 + 26);
    assert!(run.logits().is_none());
    assert_eq!(
        run.stopped_at().map(|e| e.path()).as_deref(),
        Some("h[0].output")
    );

    let tracer = nnsight::Tracer::new(&model, &nnsight::schema::SCHEMAS[0]);
    let run = tracer.run(PROMPT).unwrap();
    assert_eq!(run.events_fired(), FULL_PASS_EVENTS);
    assert!(run.logits().is_some());
}

#[test]
fn seed_cell_2_reports_the_save_past_the_stop() {
    let model = model();
    #[allow(deprecated)] // the compiler warns: this save can never be set
    let out = trace!(model, PROMPT => {
        let l2 = save!(h[1].output);
        stop!(h[0].output);
    })
    .unwrap();
    let e = out.l2.value().unwrap_err().to_string();
    assert!(
        e.contains("`h[1].output` was never set") && e.contains("stopped at `h[0].output`"),
        "{e}"
    );
    assert!(format!("{}", out.l2).contains("never set"));
}

#[test]
fn earliest_stop_wins_whatever_the_order() {
    let model = model();
    #[allow(deprecated)]
    let out = trace!(model, PROMPT => {
        stop!(h[3].output);
        let a = save!(h[1].output);
        let b = save!(h[2].output);
        stop!(h[1].output);
    })
    .unwrap();
    assert!(out.a.value().is_ok());
    let e = out.b.value().unwrap_err().to_string();
    assert!(e.contains("stopped at `h[1].output`"), "{e}");
}

fn check_against(name: &str, logits: &Tensor, blocks: &[Saved]) {
    let g = golden("interventions");
    let last = logits.i((0, 9)).unwrap();
    let err = relative_error(&last, &g[&format!("{name}.logits_last")]);
    assert!(err <= TOLERANCE, "{name}: logits differ by {err:e}");
    let argmax: Vec<u32> = logits
        .i(0)
        .unwrap()
        .argmax(D::Minus1)
        .unwrap()
        .to_vec1()
        .unwrap();
    let hf_argmax: Vec<u32> = g[&format!("{name}.argmax")]
        .to_dtype(DType::U32)
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(argmax, hf_argmax, "{name}: argmax");
    for (i, saved) in blocks.iter().enumerate() {
        let err = relative_error(saved.value().unwrap(), &g[&format!("{name}.h.{i}")]);
        assert!(err <= TOLERANCE, "{name}: h[{i}] differs by {err:e}");
    }
}

#[test]
fn interventions_match_hf_with_torch_hooks() {
    let model = model();
    let dev = Device::Cpu;
    let steer = Tensor::arange(0f32, 32f32, &dev)
        .unwrap()
        .affine(2.0 / 31.0, -1.0)
        .unwrap(); // linspace(-1, 1, 32)
    let patch = Tensor::full(0.5f32, (1, 1, 32), &dev).unwrap();
    let skip_value = Tensor::full(0.1f32, (1, 10, 32), &dev).unwrap();

    let out = trace!(model, PROMPT => {
        let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
        let logits = save!(lm_head.output);
    })
    .unwrap();
    check_against("plain", out.logits.value().unwrap(), &out.blocks);

    let out = trace!(model, PROMPT => {
        edit!(h[5].mlp.output, |t| t.zeros_like());
        let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
        let logits = save!(lm_head.output);
    })
    .unwrap();
    check_against("zero_mlp5", out.logits.value().unwrap(), &out.blocks);

    let out = trace!(model, PROMPT => {
        edit!(h[3].output, |t| t.broadcast_add(&steer));
        let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
        let logits = save!(lm_head.output);
    })
    .unwrap();
    check_against("steer_h3", out.logits.value().unwrap(), &out.blocks);

    let out = trace!(model, PROMPT => {
        edit!(h[7].attn.output, |t| t.slice_assign(&[0..1, 4..5, 0..32], &patch));
        let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
        let logits = save!(lm_head.output);
    })
    .unwrap();
    check_against("patch_attn7", out.logits.value().unwrap(), &out.blocks);

    let out = trace!(model, PROMPT => {
        skip!(h[4].mlp, skip_value);
        let inside = save!(h[4].mlp.c_fc.output);
        let mlp = save!(h[4].mlp.output);
        let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
        let logits = save!(lm_head.output);
    })
    .unwrap();
    check_against("skip_mlp4", out.logits.value().unwrap(), &out.blocks);
    let e = out.inside.value().unwrap_err().to_string();
    assert!(e.contains("`h[4].mlp` was skipped"), "{e}");
    assert_eq!(bits(out.mlp.value().unwrap()), bits(&skip_value));
}

#[test]
fn attention_pattern_matches_hf() {
    let model = model();
    let out = trace!(model, PROMPT => {
        let patterns: Vec<_> = (0..12).map(|i| save!(h[i].attn.attn_dropout.output)).collect();
    })
    .unwrap();
    let g = golden("interventions");
    for (i, p) in out.patterns.iter().enumerate() {
        let err = relative_error(p.value().unwrap(), &g[&format!("plain.attn_pattern.{i}")]);
        assert!(err <= TOLERANCE, "pattern {i}: {err:e}");
    }
}

#[test]
fn set_replaces_downstream_and_checks_shapes() {
    let model = model();
    let zeros = Tensor::zeros((1, 10, 32), DType::F32, &Device::Cpu).unwrap();
    let out = trace!(model, PROMPT => {
        set!(h[5].mlp.output = zeros);
        let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
        let logits = save!(lm_head.output);
    })
    .unwrap();
    check_against("zero_mlp5", out.logits.value().unwrap(), &out.blocks);

    let wrong = Tensor::zeros((1, 9, 32), DType::F32, &Device::Cpu).unwrap();
    let e = trace!(model, PROMPT => { set!(h[2].output = wrong); })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("h[2].output") && e.contains("[1, 9, 32]") && e.contains("[1, 10, 32]"),
        "{e}"
    );
    let e = trace!(model, PROMPT => { edit!(h[2].attn.output, |t| t.i((.., 0..3, ..))); })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("h[2].attn.output") && e.contains("[1, 3, 32]"),
        "{e}"
    );
    let e = trace!(model, PROMPT => { skip!(h[2].mlp, wrong); })
        .unwrap_err()
        .to_string();
    assert!(e.contains("h[2].mlp") && e.contains("[1, 9, 32]"), "{e}");
}

#[test]
fn replacements_of_another_dtype_are_errors_naming_the_module() {
    let model = model();
    let half = Tensor::zeros((1, 10, 96), DType::F16, &Device::Cpu).unwrap();
    let e = trace!(model, PROMPT => { set!(h[3].attn.c_attn.output = half); })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("h[3].attn.c_attn.output") && e.contains("F16"),
        "{e}"
    );
    let e = trace!(model, PROMPT => { edit!(h[4].ln_2.output, |t| t.to_dtype(DType::F64)); })
        .unwrap_err()
        .to_string();
    assert!(e.contains("h[4].ln_2.output") && e.contains("F64"), "{e}");
}

#[test]
fn closure_errors_name_the_path() {
    let model = model();
    let e = trace!(model, PROMPT => {
        let x = save!(h[1].mlp.c_fc.output, |t| t.i((.., 99, ..)));
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("save!(h[1].mlp.c_fc.output)"), "{e}");
}

#[test]
fn computed_indices_are_checked_before_the_pass() {
    let model = model();
    let out = trace!(model, PROMPT => {
        let evens: Vec<_> = (0..12).step_by(2).map(|i| save!(h[i].mlp.act.output)).collect();
    })
    .unwrap();
    assert_eq!(out.evens.len(), 6);
    assert_eq!(out.evens[5].value().unwrap().dims(), &[1, 10, 128]);
    let n = 12;
    let e = trace!(model, PROMPT => {
        let last = save!(h[n].output);
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("h[12].output") && e.contains("12 blocks, h[0] to h[11]"),
        "{e}"
    );
    let k: i64 = -1;
    let e = trace!(model, PROMPT => { let x = save!(h[k].output); })
        .unwrap_err()
        .to_string();
    assert!(e.contains("0 or more"), "{e}");
}

#[test]
fn schema_mismatch_and_bad_inputs_are_refused_before_running() {
    let model = model();
    let e = trace!(model as gpt2_xl, PROMPT => { let x = save!(h[40].output); })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gpt2_xl") && e.contains("48 blocks") && e.contains("12 blocks"),
        "{e}"
    );
    let e = trace!(model, "" => { let x = save!(h[0].output); })
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty"), "{e}");
    let out =
        trace!(model as gpt2, vec![464u32, 412, 733] => { let x = save!(h[0].output); }).unwrap();
    assert_eq!(out.x.value().unwrap().dims(), &[1, 3, 32]);
}

#[test]
fn eight_threads_share_one_model() {
    let model = Arc::new(model());
    let run = |k: usize| {
        let scale = k as f64;
        let out = trace!(model, PROMPT => {
            edit!(h[k].mlp.output, |t| t * scale);
            let logits = save!(lm_head.output);
        })
        .unwrap();
        out.logits.into_value().unwrap()
    };
    let alone: Vec<Vec<u32>> = (0..8).map(|k| bits(&run(k))).collect();
    let together: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|k| s.spawn(move || bits(&run(k)))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(alone, together);
    assert_ne!(
        alone[0], alone[1],
        "different interventions give different logits"
    );
}
