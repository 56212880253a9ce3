//! GPT-2's eager attention core, read straight from `c_attn`'s output `qkv` (`[batch, seq, 3 * embd]`:
//! queries, keys, values, each with the heads side by side):
//! [`probs`] is `softmax(q k^T * scale + causal mask)`, `[batch, heads, seq, seq]` (what
//! `attn.attn_dropout` sees), and [`context`] is `probs v` laid out `[batch, seq, embd]` for `c_proj`.
//!
//! Why not candle's ops: at GPT-2's sizes a head's product is small, and candle multiplied the heads
//! one after another, after copying q, k and v out of `qkv`. Here one task per (batch, head)
//! multiplies with `gemm` reading q, k and v in place through strides, and the softmax visits only the
//! causal half of each row. On a 2-core Xeon at 128 tokens, candle's ops took 1.6 ms per block for
//! this; with these a full-size GPT-2 pass went from 168 ms to 150 ms.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::ops::f32_data;

/// `[batch, seq, 3 * embd]` split into its sizes, with the heads' width.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    seq: usize,
    embd: usize,
    heads: usize,
    head_dim: usize,
}

impl Dims {
    fn of(qkv: &[usize], heads: usize) -> candle_core::Result<Self> {
        match *qkv {
            [batch, seq, width] if width % 3 == 0 && heads > 0 && (width / 3) % heads == 0 => {
                Ok(Dims {
                    batch,
                    seq,
                    embd: width / 3,
                    heads,
                    head_dim: width / 3 / heads,
                })
            }
            _ => candle_core::bail!(
                "attention: c_attn's output has shape {qkv:?}, expected [batch, seq, 3 * embd] \
                 with embd a multiple of {heads} heads"
            ),
        }
    }

    /// Offset in `qkv` of part `part` (0 = q, 1 = k, 2 = v) of head `head` at position 0 of `batch`.
    fn offset(&self, batch: usize, part: usize, head: usize) -> usize {
        batch * self.seq * 3 * self.embd + part * self.embd + head * self.head_dim
    }
}

/// `dst[m, n] = beta * lhs[m, k] rhs[k, n]`, each operand `(data, row stride, column stride)`.
/// Refuses operands whose strides reach past their slices.
fn product(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_row: usize,
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
    beta: f32,
) -> candle_core::Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let reach =
        |rows: usize, cols: usize, (rs, cs): (usize, usize)| (rows - 1) * rs + (cols - 1) * cs;
    let fits = k == 0
        || (reach(m, k, (lhs.1, lhs.2)) < lhs.0.len() && reach(k, n, (rhs.1, rhs.2)) < rhs.0.len());
    assert!(
        fits && reach(m, n, (dst_row, 1)) < dst.len(),
        "attention operand out of bounds"
    );
    // SAFETY: every index reached through the strides was checked to lie in its slice just above.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row as isize,
            false,
            lhs.0.as_ptr(),
            lhs.2 as isize,
            lhs.1 as isize,
            rhs.0.as_ptr(),
            rhs.2 as isize,
            rhs.1 as isize,
            0.0,
            beta,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
    Ok(())
}

/// `data[start..]`, empty past the end (`product` then refuses it).
fn from(data: &[f32], start: usize) -> &[f32] {
    data.get(start..).unwrap_or_default()
}

/// Softmax over row `i` of a causal score matrix: positions `..=i` in place, later ones 0.
fn causal_softmax_row(row: &mut [f32], i: usize) {
    let (seen, future) = row.split_at_mut(i + 1);
    let max = seen.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in seen.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in seen.iter_mut() {
        *x /= sum;
    }
    future.fill(0.0);
}

/// The attention pattern: see the module docs.
struct Probs {
    heads: usize,
    scale: f32,
}

impl CustomOp1 for Probs {
    fn name(&self) -> &'static str {
        "attention_probs"
    }

    fn cpu_fwd(
        &self,
        qkv: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = Dims::of(layout.dims(), self.heads)?;
        let qkv = f32_data(qkv, layout, "attention")?;
        let (s, row) = (d.seq, 3 * d.embd);
        let mut probs = vec![0f32; d.batch * d.heads * s * s];
        if s > 0 {
            probs
                .par_chunks_mut(s * s)
                .enumerate()
                .try_for_each(|(bh, scores)| {
                    let (b, h) = (bh / d.heads, bh % d.heads);
                    let q = (from(qkv, d.offset(b, 0, h)), row, 1);
                    let k_t = (from(qkv, d.offset(b, 1, h)), 1, row);
                    product((s, s, d.head_dim), scores, s, q, k_t, self.scale)?;
                    for (i, r) in scores.chunks_mut(s).enumerate() {
                        causal_softmax_row(r, i);
                    }
                    candle_core::Result::Ok(())
                })?;
        }
        Ok((
            CpuStorage::F32(probs),
            Shape::from((d.batch, d.heads, s, s)),
        ))
    }
}

/// `probs v`, heads side by side again: see the module docs.
struct Context {
    heads: usize,
}

impl CustomOp2 for Context {
    fn name(&self) -> &'static str {
        "attention_context"
    }

    fn cpu_fwd(
        &self,
        probs: &CpuStorage,
        p_layout: &Layout,
        qkv: &CpuStorage,
        qkv_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = Dims::of(qkv_layout.dims(), self.heads)?;
        let expected = [d.batch, d.heads, d.seq, d.seq];
        if p_layout.dims() != expected {
            candle_core::bail!(
                "attention: the pattern has shape {:?}, expected {expected:?}",
                p_layout.dims()
            )
        }
        let probs = f32_data(probs, p_layout, "attention")?;
        let qkv = f32_data(qkv, qkv_layout, "attention")?;
        let (s, hd) = (d.seq, d.head_dim);
        // One [seq, head_dim] block per (batch, head), then interleaved into [batch, seq, embd].
        let mut per_head = vec![0f32; d.batch * d.heads * s * hd];
        if s > 0 && hd > 0 {
            per_head
                .par_chunks_mut(s * hd)
                .enumerate()
                .try_for_each(|(bh, out)| {
                    let (b, h) = (bh / d.heads, bh % d.heads);
                    let p = (from(probs, bh * s * s), s, 1);
                    let v = (from(qkv, d.offset(b, 2, h)), 3 * d.embd, 1);
                    product((s, hd, s), out, hd, p, v, 1.0)
                })?;
        }
        let mut ctx = Vec::with_capacity(d.batch * s * d.embd);
        for b in 0..d.batch {
            for i in 0..s {
                for h in 0..d.heads {
                    let at = ((b * d.heads + h) * s + i) * hd;
                    ctx.extend_from_slice(&per_head[at..at + hd]);
                }
            }
        }
        Ok((CpuStorage::F32(ctx), Shape::from((d.batch, s, d.embd))))
    }
}

/// The attention pattern `[batch, heads, seq, seq]` from `c_attn`'s output.
pub(crate) fn probs(qkv: &Tensor, heads: usize, scale: f32) -> candle_core::Result<Tensor> {
    qkv.contiguous()?.apply_op1_no_bwd(&Probs { heads, scale })
}

/// The heads' outputs `[batch, seq, embd]`: the pattern applied to the values in `qkv`.
pub(crate) fn context(probs: &Tensor, qkv: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    probs
        .contiguous()?
        .apply_op2_no_bwd(&qkv.contiguous()?, &Context { heads })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, D};

    /// The textbook form, with candle's ops.
    fn reference(qkv: &Tensor, heads: usize, scale: f64) -> (Tensor, Tensor) {
        let (b, s, w) = qkv.dims3().unwrap();
        let e = w / 3;
        let part = |k: usize| {
            qkv.narrow(D::Minus1, k * e, e)
                .unwrap()
                .reshape((b, s, heads, e / heads))
                .unwrap()
                .transpose(1, 2)
                .unwrap()
                .contiguous()
                .unwrap()
        };
        let (q, k, v) = (part(0), part(1), part(2));
        let mask: Vec<f32> = (0..s)
            .flat_map(|i| (0..s).map(move |j| if j <= i { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let mask = Tensor::from_vec(mask, (s, s), qkv.device()).unwrap();
        let scores = (q.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
        let probs =
            candle_nn::ops::softmax_last_dim(&scores.broadcast_add(&mask).unwrap()).unwrap();
        let ctx = probs
            .matmul(&v)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .flatten_from(2)
            .unwrap();
        (probs, ctx)
    }

    fn worst(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        let diff = (a - b).unwrap().abs().unwrap().flatten_all().unwrap();
        diff.max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn equals_the_textbook_form() {
        for (b, s, heads, hd) in [(1, 1, 1, 4), (2, 7, 3, 8), (1, 33, 4, 16)] {
            let qkv = Tensor::randn(0f32, 1.0, (b, s, 3 * heads * hd), &Device::Cpu).unwrap();
            let scale = 1.0 / (hd as f64).sqrt();
            let (want_p, want_c) = reference(&qkv, heads, scale);
            let p = probs(&qkv, heads, scale as f32).unwrap();
            let c = context(&p, &qkv, heads).unwrap();
            assert!(worst(&p, &want_p) < 1e-6, "probs {b}x{s}x{heads}x{hd}");
            assert!(worst(&c, &want_c) < 1e-5, "context {b}x{s}x{heads}x{hd}");
        }
    }

    #[test]
    fn refuses_shapes_it_cannot_split() {
        let dev = Device::Cpu;
        let qkv = Tensor::zeros((1, 4, 10), candle_core::DType::F32, &dev).unwrap();
        let err = probs(&qkv, 2, 1.0).unwrap_err().to_string();
        assert!(err.contains("[1, 4, 10]"), "{err}");
        let qkv = Tensor::zeros((1, 4, 12), candle_core::DType::F32, &dev).unwrap();
        let bad = Tensor::zeros((1, 2, 4, 3), candle_core::DType::F32, &dev).unwrap();
        let err = context(&bad, &qkv, 2).unwrap_err().to_string();
        assert!(
            err.contains("[1, 2, 4, 3]") && err.contains("[1, 2, 4, 4]"),
            "{err}"
        );
    }
}
