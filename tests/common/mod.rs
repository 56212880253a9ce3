//! Helpers shared by the integration tests.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

/// The parity tolerance: `max|ours - hf| / max(1, max|hf|)`.
pub const TOLERANCE: f32 = 1e-4;

/// `max|ours - hf| / max(1, max|hf|)`.
pub fn relative_error(ours: &Tensor, hf: &Tensor) -> f32 {
    assert_eq!(ours.dims(), hf.dims(), "shapes differ");
    let max = |t: Tensor| {
        t.abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    max((ours - hf).unwrap()) / max(hf.clone()).max(1.0)
}

/// A golden file of `tests/golden`.
pub fn golden(name: &str) -> HashMap<String, Tensor> {
    let path = format!(
        "{}/tests/golden/{name}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    );
    candle_core::safetensors::load(&path, &Device::Cpu).unwrap_or_else(|e| panic!("{path}: {e}"))
}
