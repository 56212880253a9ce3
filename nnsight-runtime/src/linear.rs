//! GPT-2's linear layers, computed one column panel of the weight at a time: Hugging Face's `Conv1D`
//! (`x @ W + b`, `W` stored `[in, out]`) and the tied embedding, whose table `wte` (`[vocab, embd]`) is
//! also the head (`x @ wte^T`).
//!
//! Why panels: a pass over a short prompt is bound by reading the weights. Read in place, a 64-column
//! strip of a weight is a 256-byte piece per row, each one row (kilobytes) past the last, and the CPU's
//! prefetchers do not follow that; the transposed head is worse, as `gemm` must repack it at each call.
//! So each weight is repacked once, at load, into contiguous panels (`[in][PANEL]` each), replacing the
//! stored layout (no extra memory). Each panel is one sequential stream, multiplied by `gemm` (the kernel
//! candle uses), and rayon shares the panels among cores. On a 2-core Xeon, a full-size GPT-2 pass took
//! 43 ms instead of 71 ms with candle's `matmul` at 10 tokens, and 174 ms instead of 196 ms at 128
//! tokens; packing the head as well saved about 3.5 ms and 4 ms more.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Storage, Tensor};
use rayon::prelude::*;

use crate::ops::f32_data;

/// Columns per panel: four AVX-512 vectors of f32, the widest kernel of `gemm` (faster than 32 or 128
/// at 128 tokens, the same at 10).
const PANEL: usize = 64;

/// Where `gemm` writes: disjoint columns of one output buffer, one panel per task.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: tasks write disjoint column ranges of the buffer, which outlives them (rayon joins before
// `Panels::product` returns).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The element `offset` of the buffer. (A method, so closures capture the `Send` wrapper.)
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// A weight `W` (`[n_in, n_out]`) in contiguous column panels: panel `p` holds columns
/// `p*PANEL .. p*PANEL + width` (`width = min(PANEL, n_out - p*PANEL)`) as `[n_in][width]`, starting at
/// `p * PANEL * n_in`.
struct Panels {
    n_in: usize,
    n_out: usize,
    data: Vec<f32>,
}

impl Panels {
    /// Packs `W` given as stored, row-major `[n_in, n_out]`.
    fn pack(n_in: usize, n_out: usize, w: &[f32]) -> Self {
        let mut data = Vec::with_capacity(n_in * n_out);
        for start in (0..n_out).step_by(PANEL) {
            let end = (start + PANEL).min(n_out);
            for row in w.chunks_exact(n_out) {
                data.extend_from_slice(&row[start..end]);
            }
        }
        Panels { n_in, n_out, data }
    }

    /// Packs `W` given as its transpose, row-major `[n_out, n_in]` (reading it in order: each of its
    /// rows becomes one column of a panel).
    fn pack_transposed(n_in: usize, n_out: usize, w_t: &[f32]) -> Self {
        let mut data = vec![0f32; n_in * n_out];
        for (j, row) in w_t.chunks_exact(n_in).enumerate() {
            let (start, offset) = (j - j % PANEL, j % PANEL);
            let width = PANEL.min(n_out - start);
            let panel = &mut data[start * n_in..(start + width) * n_in];
            for (k, &x) in row.iter().enumerate() {
                panel[k * width + offset] = x;
            }
        }
        Panels { n_in, n_out, data }
    }

    /// Column `j` of `W` (for the embedding: row `j` of `wte`), appended to `out`.
    fn push_column(&self, j: usize, out: &mut Vec<f32>) {
        let (p, offset) = (j / PANEL, j % PANEL);
        let width = PANEL.min(self.n_out - p * PANEL);
        let panel = &self.data[p * PANEL * self.n_in..];
        out.extend((0..self.n_in).map(|k| panel[k * width + offset]));
    }

    /// `out[rows, n_out] = x[rows, n_in] @ W (+ bias)`, for the `rows` that `x`'s length implies.
    fn product(&self, x: &[f32], bias: Option<&[f32]>) -> candle_core::Result<Vec<f32>> {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let rows = x.len() / n_in.max(1);
        let mut out = match bias {
            Some(bias) if bias.len() == n_out => bias.repeat(rows),
            Some(bias) => candle_core::bail!("a bias of {} for {n_out} outputs", bias.len()),
            None => vec![0f32; rows * n_out],
        };
        if rows == 0 || n_in == 0 {
            return Ok(out);
        }
        if self.data.len() != n_in * n_out {
            candle_core::bail!("packed weight of {} for {n_in}x{n_out}", self.data.len());
        }
        let dst = OutPtr(out.as_mut_ptr());
        (0..n_out.div_ceil(PANEL)).into_par_iter().for_each(|p| {
            let start = p * PANEL;
            let width = PANEL.min(n_out - start);
            let panel = &self.data[start * n_in..(start + width) * n_in];
            // SAFETY: `x` is `rows x n_in` (row stride n_in, `rows` taken from its length); `panel`
            // is `n_in x width` (row stride width, its length checked by the slice above); the
            // destination is columns `start..start+width` of the `rows x n_out` buffer `out` (row
            // stride n_out), which no other task touches. gemm adds to it (`read_dst`), keeping the
            // bias written above.
            unsafe {
                gemm::gemm(
                    rows,
                    width,
                    n_in,
                    dst.at(start),
                    1,
                    n_out as isize,
                    true,
                    x.as_ptr(),
                    1,
                    n_in as isize,
                    panel.as_ptr(),
                    1,
                    width as isize,
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
}

/// Runs `f` on the f32 elements of a 2-D CPU tensor, in row-major order, without copying them.
fn with_matrix<R>(
    t: &Tensor,
    what: &str,
    f: impl FnOnce(usize, usize, &[f32]) -> R,
) -> candle_core::Result<R> {
    let (rows, cols) = t.dims2()?;
    let t = t.to_dtype(DType::F32)?.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("{what}: the weights must be on the CPU")
    };
    Ok(f(rows, cols, f32_data(cpu, layout, what)?))
}

/// The output shape of a linear layer: `dims` with its last axis, which must be `n_in`, made `n_out`.
fn out_shape(dims: &[usize], n_in: usize, n_out: usize, what: &str) -> candle_core::Result<Shape> {
    match dims.split_last() {
        Some((&last, lead)) if last == n_in => Ok(Shape::from([lead, &[n_out]].concat())),
        _ => candle_core::bail!("{what}: input of shape {dims:?} does not end in {n_in} features"),
    }
}

/// A `Conv1D` layer: its weight in panels, and its bias.
pub(crate) struct Conv1D {
    weight: Panels,
    bias: Vec<f32>,
}

/// Its shape, not its millions of weights (`Gpt2`'s `Debug` prints its layers).
impl std::fmt::Debug for Conv1D {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conv1D({} -> {})", self.weight.n_in, self.weight.n_out)
    }
}

impl Conv1D {
    /// Packs `weight` (`[n_in, n_out]`, as Hugging Face stores it) and keeps `bias` (`[n_out]`).
    pub(crate) fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Self> {
        let weight = with_matrix(weight, "Conv1D", |n_in, n_out, w| {
            Panels::pack(n_in, n_out, w)
        })?;
        if bias.dims() != [weight.n_out] {
            candle_core::bail!(
                "bias of shape {:?} for {} outputs",
                bias.dims(),
                weight.n_out
            )
        }
        let bias = bias.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        Ok(Conv1D { weight, bias })
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
        let (n_in, n_out) = (self.weight.n_in, self.weight.n_out);
        let shape = out_shape(layout.dims(), n_in, n_out, "Conv1D")?;
        let x = f32_data(x, layout, "Conv1D")?;
        let out = self.weight.product(x, Some(&self.bias))?;
        Ok((CpuStorage::F32(out), shape))
    }
}

/// GPT-2's token embedding `wte` (`[vocab, embd]`), tied to the head: stored as the head's weight
/// `wte^T` in panels, so that a token's embedding is a column of it.
pub(crate) struct TiedEmbedding(Panels);

/// Its shape, not its millions of weights.
impl std::fmt::Debug for TiedEmbedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TiedEmbedding({} x {})", self.0.n_out, self.0.n_in)
    }
}

impl TiedEmbedding {
    /// Packs the table `wte` (`[vocab, embd]`, as stored).
    pub(crate) fn new(wte: &Tensor) -> candle_core::Result<Self> {
        with_matrix(wte, "wte", |vocab, embd, w| {
            TiedEmbedding(Panels::pack_transposed(embd, vocab, w))
        })
    }

    /// The number of rows of the table (the vocabulary).
    pub(crate) fn rows(&self) -> usize {
        self.0.n_out
    }

    /// The embeddings `[..., embd]` of token ids (`u32`, each below [`Self::rows`]).
    pub(crate) fn lookup(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let flat = ids.flatten_all()?.to_vec1::<u32>()?;
        let mut out = Vec::with_capacity(flat.len() * self.0.n_in);
        for &id in &flat {
            if id as usize >= self.rows() {
                candle_core::bail!(
                    "token id {id} is outside the embedding's {} rows",
                    self.rows()
                )
            }
            self.0.push_column(id as usize, &mut out);
        }
        let mut dims = ids.dims().to_vec();
        dims.push(self.0.n_in);
        Tensor::from_vec(out, dims, ids.device())
    }

    /// The head: logits `[..., vocab]` for `x` of shape `[..., embd]`.
    pub(crate) fn head(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for TiedEmbedding {
    fn name(&self) -> &'static str {
        "tied_head"
    }

    fn cpu_fwd(&self, x: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = out_shape(layout.dims(), self.0.n_in, self.0.n_out, "lm_head")?;
        let x = f32_data(x, layout, "lm_head")?;
        Ok((CpuStorage::F32(self.0.product(x, None)?), shape))
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
            let tied = TiedEmbedding::new(&wte).unwrap();
            let want = x.matmul(&w).unwrap();
            let got = tied.head(&x).unwrap();
            assert!(worst_diff(got, want) < 1e-4, "head {rows}x{n_in}x{n_out}");
            let ids = Tensor::new(&[[n_out as u32 - 1, 0, 3 % n_out as u32]], &dev).unwrap();
            let want = wte.index_select(&ids.flatten_all().unwrap(), 0).unwrap();
            let got = tied.lookup(&ids).unwrap();
            assert_eq!(got.dims(), &[1, 3, n_in]);
            assert_eq!(
                worst_diff(got.squeeze(0).unwrap(), want),
                0.0,
                "lookup {n_in}x{n_out}"
            );
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
        let tied = TiedEmbedding::new(&w).unwrap();
        let err = tied.head(&bad).unwrap_err().to_string();
        assert!(
            err.contains("[2, 5]") && err.contains("6 features"),
            "{err}"
        );
        let far = Tensor::new(&[4u32], &dev).unwrap();
        let err = tied.lookup(&far).unwrap_err().to_string();
        assert!(
            err.contains("token id 4") && err.contains("4 rows"),
            "{err}"
        );
        let half = x.to_dtype(DType::F16).unwrap();
        let err = layer.forward(&half).unwrap_err().to_string();
        assert!(err.contains("f32"), "{err}");
    }
}
