//! GPT-2's two kinds of linear layer, computed one column panel of the weight at a time:
//! Hugging Face's `Conv1D` (`x @ W + b`, `W` stored `[in, out]`) and the tied head (`x @ wte^T`).
//!
//! Why panels: a pass over a short prompt is bound by reading the weights. Read in place, a 64-column
//! strip of a `Conv1D` weight is a 256-byte piece per row, each one row (kilobytes) past the last, and
//! the CPU's prefetchers do not follow that. So `Conv1D` repacks its weight once, at load, into
//! contiguous panels (`[in][PANEL]` each); the head needs no copy, as 64 rows of `wte` are already
//! contiguous. Each panel is one sequential stream, multiplied by `gemm` (the kernel candle uses), and
//! rayon shares the panels among cores. On a 2-core Xeon, a full-size GPT-2 pass took 43 ms instead of
//! 71 ms with candle's `matmul` at 10 tokens, and 174 ms instead of 196 ms at 128 tokens.

use candle_core::{
    backend::BackendStorage, CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor,
};
use rayon::prelude::*;

/// Columns per panel: four AVX-512 vectors of f32, the widest kernel of `gemm` (faster than 32 or 128
/// at 128 tokens, the same at 10).
const PANEL: usize = 64;

/// One panel of a weight, as `gemm` reads it: `n_in x width`, element `(k, j)` at
/// `data[k * row_stride + j * col_stride]`.
struct Panel<'a> {
    data: &'a [f32],
    width: usize,
    row_stride: usize,
    col_stride: usize,
}

/// Where `gemm` writes: disjoint columns of one output buffer, one panel per task.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: tasks write disjoint column ranges of the buffer, which outlives them (rayon joins before
// `panel_product` returns).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The element `offset` of the buffer. (A method, so closures capture the `Send` wrapper.)
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// `out[rows, n_out] = x[rows, n_in] @ W (+ bias)`, `W` given panel by panel (`panel(p)` holds
/// columns `p*PANEL ..`).
fn panel_product<'w>(
    x: &[f32],
    n_in: usize,
    n_out: usize,
    bias: Option<&[f32]>,
    panel: impl Fn(usize) -> Panel<'w>,
) -> candle_core::Result<Vec<f32>> {
    let rows = x.len() / n_in.max(1);
    let mut out = match bias {
        Some(bias) if bias.len() == n_out => bias.repeat(rows),
        Some(bias) => candle_core::bail!("a bias of {} for {n_out} outputs", bias.len()),
        None => vec![0f32; rows * n_out],
    };
    if rows == 0 || n_in == 0 {
        return Ok(out);
    }
    let panels: Vec<(usize, Panel)> = (0..n_out.div_ceil(PANEL))
        .map(|p| (p * PANEL, panel(p)))
        .collect();
    for (start, w) in &panels {
        let last = (n_in - 1) * w.row_stride + w.width.saturating_sub(1) * w.col_stride;
        if w.width == 0 || start + w.width > n_out || last >= w.data.len() {
            candle_core::bail!("weight panel at column {start} is out of bounds");
        }
    }
    let dst = OutPtr(out.as_mut_ptr());
    panels.par_iter().for_each(|&(start, ref w)| {
        // SAFETY: `x` is `rows x n_in` (row stride n_in, `rows` taken from its length); the panel is
        // `n_in x width` within `w.data` (checked above); the destination is columns
        // `start..start+width` of the `rows x n_out` buffer `out` (row stride n_out), which no other
        // task touches. gemm adds to it (`read_dst`), keeping the bias written above.
        unsafe {
            gemm::gemm(
                rows,
                w.width,
                n_in,
                dst.at(start),
                1,
                n_out as isize,
                true,
                x.as_ptr(),
                1,
                n_in as isize,
                w.data.as_ptr(),
                w.col_stride as isize,
                w.row_stride as isize,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    });
    Ok(out)
}

/// The contiguous f32 data of a candle CPU tensor, or why not.
pub(crate) fn f32_data<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((start, end))) => Ok(&data[start..end]),
        _ => candle_core::bail!(
            "{what}: needs a contiguous f32 tensor, got {:?} of shape {:?}",
            storage.dtype(),
            layout.dims()
        ),
    }
}

/// The output shape of a linear layer: `dims` with its last axis, which must be `n_in`, made `n_out`.
fn out_shape(dims: &[usize], n_in: usize, n_out: usize, what: &str) -> candle_core::Result<Shape> {
    match dims.split_last() {
        Some((&last, lead)) if last == n_in => Ok(Shape::from([lead, &[n_out]].concat())),
        _ => candle_core::bail!("{what}: input of shape {dims:?} does not end in {n_in} features"),
    }
}

/// A `Conv1D` layer with its weight in contiguous column panels, and its bias.
pub(crate) struct Conv1D {
    n_in: usize,
    n_out: usize,
    /// Panel `p` (width `min(PANEL, n_out - p*PANEL)`) starts at `p * PANEL * n_in`.
    panels: Vec<f32>,
    bias: Vec<f32>,
}

/// Its shape, not its millions of weights (`Gpt2`'s `Debug` prints its layers).
impl std::fmt::Debug for Conv1D {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conv1D({} -> {})", self.n_in, self.n_out)
    }
}

impl Conv1D {
    /// Packs `weight` (`[n_in, n_out]`, as Hugging Face stores it) and keeps `bias` (`[n_out]`).
    pub(crate) fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Self> {
        let (n_in, n_out) = weight.dims2()?;
        if bias.dims() != [n_out] {
            candle_core::bail!("bias of shape {:?} for {n_out} outputs", bias.dims())
        }
        let rows = weight.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        let mut panels = Vec::with_capacity(n_in * n_out);
        for start in (0..n_out).step_by(PANEL) {
            let end = (start + PANEL).min(n_out);
            for row in &rows {
                panels.extend_from_slice(&row[start..end]);
            }
        }
        Ok(Conv1D {
            n_in,
            n_out,
            panels,
            bias: bias.to_dtype(DType::F32)?.to_vec1::<f32>()?,
        })
    }

    /// `x @ W + b` for `x` of shape `[..., n_in]`.
    pub(crate) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for Conv1D {
    fn name(&self) -> &'static str {
        "conv1d"
    }

    fn cpu_fwd(&self, x: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = out_shape(layout.dims(), self.n_in, self.n_out, "Conv1D")?;
        let x = f32_data(x, layout, "Conv1D")?;
        let out = panel_product(x, self.n_in, self.n_out, Some(&self.bias), |p| {
            let width = PANEL.min(self.n_out - p * PANEL);
            let start = p * PANEL * self.n_in;
            Panel {
                data: self
                    .panels
                    .get(start..start + self.n_in * width)
                    .unwrap_or_default(),
                width,
                row_stride: width,
                col_stride: 1,
            }
        })?;
        Ok((CpuStorage::F32(out), shape))
    }
}

/// The tied language-model head: `x @ wte^T`, with `wte` (`[vocab, n_embd]`) as the second operand.
pub(crate) struct TiedHead;

impl TiedHead {
    /// Logits `[..., vocab]` for `x` of shape `[..., n_embd]`.
    pub(crate) fn forward(x: &Tensor, wte: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?
            .apply_op2_no_bwd(&wte.contiguous()?, &TiedHead)
    }
}

impl CustomOp2 for TiedHead {
    fn name(&self) -> &'static str {
        "tied_head"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        wte: &CpuStorage,
        wte_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (vocab, n_embd) = wte_layout.shape().dims2()?;
        let shape = out_shape(x_layout.dims(), n_embd, vocab, "lm_head")?;
        let x = f32_data(x, x_layout, "lm_head")?;
        let wte = f32_data(wte, wte_layout, "lm_head")?;
        // Rows `p*PANEL ..` of `wte` are the panel, transposed: element (k, j) at `j * n_embd + k`.
        let out = panel_product(x, n_embd, vocab, None, |p| {
            let width = PANEL.min(vocab - p * PANEL);
            let start = p * PANEL * n_embd;
            Panel {
                data: wte.get(start..start + width * n_embd).unwrap_or_default(),
                width,
                row_stride: 1,
                col_stride: n_embd,
            }
        })?;
        Ok((CpuStorage::F32(out), shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn worst_diff(a: Tensor, b: Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        let diff = (a - b).unwrap().abs().unwrap().flatten_all().unwrap();
        diff.max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    /// Both layers against candle's `matmul`, on shapes with a partial last panel and a one-row input.
    #[test]
    fn panel_products_equal_matmul() {
        let dev = Device::Cpu;
        for (rows, n_in, n_out) in [(1, 8, 5), (3, 40, 70), (10, 64, 96), (130, 33, 64)] {
            let x = Tensor::randn(0f32, 1.0, (rows, n_in), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (n_in, n_out), &dev).unwrap();
            let b = Tensor::randn(0f32, 1.0, n_out, &dev).unwrap();
            let want = x.matmul(&w).unwrap().broadcast_add(&b).unwrap();
            let got = Conv1D::new(&w, &b).unwrap().forward(&x).unwrap();
            assert!(worst_diff(got, want) < 1e-4, "Conv1D {rows}x{n_in}x{n_out}");

            let wte = w.t().unwrap().contiguous().unwrap();
            let want = x.matmul(&w).unwrap();
            let got = TiedHead::forward(&x, &wte).unwrap();
            assert!(worst_diff(got, want) < 1e-4, "head {rows}x{n_in}x{n_out}");
        }
    }

    #[test]
    fn keeps_leading_dims_and_refuses_a_wrong_width() {
        let dev = Device::Cpu;
        let w = Tensor::ones((4, 6), DType::F32, &dev).unwrap();
        let b = Tensor::zeros(6, DType::F32, &dev).unwrap();
        let layer = Conv1D::new(&w, &b).unwrap();
        let x = Tensor::ones((2, 3, 4), DType::F32, &dev).unwrap();
        let y = layer.forward(&x).unwrap();
        assert_eq!(y.dims(), &[2, 3, 6]);
        assert_eq!(format!("{layer:?}"), "Conv1D(4 -> 6)");
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![4.0; 36]
        );
        let bad = Tensor::ones((2, 5), DType::F32, &dev).unwrap();
        let err = layer.forward(&bad).unwrap_err().to_string();
        assert!(
            err.contains("[2, 5]") && err.contains("4 features"),
            "{err}"
        );
        let err = TiedHead::forward(&bad, &w).unwrap_err().to_string();
        assert!(
            err.contains("[2, 5]") && err.contains("6 features"),
            "{err}"
        );
        let half = x.to_dtype(DType::F16).unwrap();
        let err = layer.forward(&half).unwrap_err().to_string();
        assert!(err.contains("f32"), "{err}");
    }
}
