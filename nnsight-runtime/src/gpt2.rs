//! GPT-2 (Hugging Face's `GPT2LMHeadModel`) on candle, float32, with a hook point at every module event.
//!
//! The model is candle code, with the products in `linear.rs` and `attention.rs` (kernels candle's ops
//! lacked the speed of). Every module call goes through [`module`], which fires the module's
//! `input` event, lets the hooks skip it, runs it, and fires its `output` event. The events and their
//! order are those of [`nnsight_schema::events`].

use candle_core::{DType, Device, Tensor, D};
use nnsight_schema::{module_path, Event, EventIndex, EventKind, Module};

use crate::attention;
use crate::config::{Activation, Config};
use crate::error::Error;
use crate::hooks::{Hooks, Interrupt};
use crate::linear::{Conv1D, TiedEmbedding};
use crate::load::WeightFile;

type Step<T = Tensor> = Result<T, Interrupt>;

/// Attaches the failing module's path to a candle error.
trait At<T> {
    fn at(self, module: Module, layer: Option<usize>) -> Step<T>;
}

impl<T> At<T> for candle_core::Result<T> {
    fn at(self, module: Module, layer: Option<usize>) -> Step<T> {
        self.map_err(|e| Interrupt::Error(Error::tensor(module_path(module, layer), e)))
    }
}

/// Runs one module between its two events: `input` (which hooks may replace), an optional skip, the
/// module itself (`run`, which gets the hooks for its children), then `output`.
fn module<H: Hooks + ?Sized>(
    hooks: &mut H,
    module: Module,
    layer: Option<usize>,
    input: Tensor,
    run: impl FnOnce(&mut H, &Tensor) -> Step,
) -> Step {
    let input = hooks.on_event(Event::new(module, layer, EventKind::Input), input)?;
    let output = match hooks.skip(module, layer, &input)? {
        Some(replacement) => replacement,
        None => run(hooks, &input)?,
    };
    hooks.on_event(Event::new(module, layer, EventKind::Output), output)
}

/// `torch.nn.LayerNorm` over the last axis.
#[derive(Debug)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    fn load(w: &WeightFile, name: &str, cfg: &Config) -> Result<Self, Error> {
        Ok(LayerNorm {
            weight: w.get(&format!("{name}.weight"), &[cfg.n_embd])?,
            bias: w.get(&format!("{name}.bias"), &[cfg.n_embd])?,
            eps: cfg.layer_norm_epsilon as f32,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps)
    }
}

/// Loads a `Conv1D` layer `name` of shape `[n_in, n_out]`, packing its weight for fast products.
fn conv1d(w: &WeightFile, name: &str, n_in: usize, n_out: usize) -> Result<Conv1D, Error> {
    let weight = w.get(&format!("{name}.weight"), &[n_in, n_out])?;
    let bias = w.get(&format!("{name}.bias"), &[n_out])?;
    Conv1D::new(&weight, &bias).map_err(|e| packing_error(w, name, e))
}

/// Packing a tensor that loaded fine fails only on a broken invariant; still, an error, not a panic.
fn packing_error(w: &WeightFile, name: &str, e: candle_core::Error) -> Error {
    Error::Weights {
        path: w.path().into(),
        reason: format!("{name}: {e}"),
    }
}

/// One `GPT2Block`: its weights.
#[derive(Debug)]
struct Block {
    ln_1: LayerNorm,
    c_attn: Conv1D,
    attn_c_proj: Conv1D,
    ln_2: LayerNorm,
    c_fc: Conv1D,
    mlp_c_proj: Conv1D,
}

/// GPT-2 with its language-model head, ready to run. It is never changed by a pass: hooks belong to the
/// caller, so one `Arc<Gpt2>` serves many threads at once.
#[derive(Debug)]
pub struct Gpt2 {
    cfg: Config,
    activation: Activation,
    wte: TiedEmbedding,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    events: EventIndex,
    pub(crate) tokenizer: tokenizers::Tokenizer,
    pub(crate) source: String,
}

impl Gpt2 {
    /// Builds the model from a weights file whose keys follow the hub's layout (after any prefix).
    pub(crate) fn load(
        w: &WeightFile,
        cfg: Config,
        tokenizer: tokenizers::Tokenizer,
        source: String,
    ) -> Result<Self, Error> {
        let d = cfg.n_embd;
        let activation = cfg.activation().map_err(|reason| Error::Config {
            path: w.path().into(),
            reason,
        })?;
        // The table first: packing it holds two copies for a moment, best before the blocks load.
        let wte = w.get("wte.weight", &[cfg.vocab_size, d])?;
        let wte = TiedEmbedding::new(&wte).map_err(|e| packing_error(w, "wte", e))?;
        let blocks = (0..cfg.n_layer)
            .map(|i| {
                let p = format!("h.{i}");
                Ok(Block {
                    ln_1: LayerNorm::load(w, &format!("{p}.ln_1"), &cfg)?,
                    c_attn: conv1d(w, &format!("{p}.attn.c_attn"), d, 3 * d)?,
                    attn_c_proj: conv1d(w, &format!("{p}.attn.c_proj"), d, d)?,
                    ln_2: LayerNorm::load(w, &format!("{p}.ln_2"), &cfg)?,
                    c_fc: conv1d(w, &format!("{p}.mlp.c_fc"), d, 4 * d)?,
                    mlp_c_proj: conv1d(w, &format!("{p}.mlp.c_proj"), 4 * d, d)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Gpt2 {
            wte,
            wpe: w.get("wpe.weight", &[cfg.n_positions, d])?,
            ln_f: LayerNorm::load(w, "ln_f", &cfg)?,
            blocks,
            events: EventIndex::new(cfg.n_layer),
            activation,
            cfg,
            tokenizer,
            source,
        })
    }

    /// The model's configuration (from its `config.json`).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Where the model came from: a directory, a hub id, or the embedded tiny model.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Positions of this model's events in a pass (dense, for hook tables).
    pub fn event_index(&self) -> &EventIndex {
        &self.events
    }

    /// The device the weights live on (the CPU).
    pub fn device(&self) -> &Device {
        self.wpe.device()
    }

    /// The logits `[batch, seq, vocab]` for token ids `[batch, seq]` (`u32`), with no hooks.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor, Error> {
        match self.forward_with(ids, &mut crate::hooks::NoHooks)? {
            Some(logits) => Ok(logits),
            None => Err(Error::Input("the pass stopped without hooks".into())),
        }
    }

    /// A forward pass that fires `hooks` at every module event. `Ok(None)` when a hook stopped the pass.
    pub fn forward_with<H: Hooks + ?Sized>(
        &self,
        ids: &Tensor,
        hooks: &mut H,
    ) -> Result<Option<Tensor>, Error> {
        self.check_ids(ids)?;
        match self.lm(hooks, ids) {
            Ok(logits) => Ok(Some(logits)),
            Err(Interrupt::Stop) => Ok(None),
            Err(Interrupt::Error(e)) => Err(e),
        }
    }

    /// Refuses ids the model cannot run: wrong rank or type, empty, longer than the context.
    /// (Ids past the vocabulary are refused by the embedding, which also sees ids a hook put in.)
    pub fn check_ids(&self, ids: &Tensor) -> Result<(), Error> {
        let bad = |reason: String| Err(Error::Input(reason));
        let &[batch, seq] = ids.dims() else {
            return bad(format!(
                "token ids must be [batch, seq], got shape {:?}",
                ids.dims()
            ));
        };
        if ids.dtype() != DType::U32 {
            return bad(format!("token ids must be u32, got {:?}", ids.dtype()));
        }
        if batch == 0 || seq == 0 {
            return bad("the input is empty: no tokens to run".into());
        }
        if seq > self.cfg.n_positions {
            return bad(format!(
                "the input has {seq} tokens, more than the model's context of {} (n_positions)",
                self.cfg.n_positions
            ));
        }
        Ok(())
    }

    /// `GPT2LMHeadModel.forward`: the transformer, then the tied head.
    fn lm<H: Hooks + ?Sized>(&self, hooks: &mut H, ids: &Tensor) -> Step {
        let hidden = module(hooks, Module::Transformer, None, ids.clone(), |h, ids| {
            self.transformer(h, ids)
        })?;
        module(hooks, Module::LmHead, None, hidden, |_, x| {
            self.lm_head(x).at(Module::LmHead, None)
        })
    }

    /// The tied head: `x @ wte^T`.
    fn lm_head(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.wte.head(x)
    }

    /// `GPT2Model.forward`: embeddings, blocks, final norm.
    fn transformer<H: Hooks + ?Sized>(&self, hooks: &mut H, ids: &Tensor) -> Step {
        let seq = ids.dim(D::Minus1).at(Module::Transformer, None)?;
        let tokens = module(hooks, Module::Wte, None, ids.clone(), |_, ids| {
            self.check_vocab_for(ids, self.wte.rows(), Module::Wte)?;
            self.wte.lookup(ids).at(Module::Wte, None)
        })?;
        let position_ids = Tensor::arange(0u32, seq as u32, self.device())
            .and_then(|t| t.unsqueeze(0))
            .at(Module::Wpe, None)?;
        let positions = module(hooks, Module::Wpe, None, position_ids, |_, p| {
            self.check_vocab_for(p, self.cfg.n_positions, Module::Wpe)?;
            let mut dims = p.dims().to_vec();
            dims.push(self.cfg.n_embd);
            p.flatten_all()
                .and_then(|p| self.wpe.index_select(&p, 0))
                .and_then(|t| t.reshape(dims))
                .at(Module::Wpe, None)
        })?;
        let x = tokens.broadcast_add(&positions).at(Module::Drop, None)?;
        let mut x = module(hooks, Module::Drop, None, x, |_, x| Ok(x.clone()))?;
        for (i, block) in self.blocks.iter().enumerate() {
            x = module(hooks, Module::Block, Some(i), x, |h, x| {
                self.block(h, block, i, x)
            })?;
        }
        module(hooks, Module::LnF, None, x, |_, x| {
            self.ln_f.forward(x).at(Module::LnF, None)
        })
    }

    /// Ids handed to an embedding by a hook are checked like the model's input.
    fn check_vocab_for(&self, ids: &Tensor, rows: usize, m: Module) -> Step<()> {
        let max = ids
            .flatten_all()
            .and_then(|t| t.max(0))
            .and_then(|t| t.to_scalar::<u32>())
            .at(m, None)?;
        if max as usize >= rows {
            let reason = format!("index {max} is outside the embedding's {rows} rows");
            return Err(Interrupt::Error(Error::Input(format!(
                "{}: {reason}",
                module_path(m, None)
            ))));
        }
        Ok(())
    }

    /// `GPT2Block.forward`: pre-norm attention and MLP, each added to the residual stream.
    fn block<H: Hooks + ?Sized>(&self, hooks: &mut H, w: &Block, i: usize, x: &Tensor) -> Step {
        let l = Some(i);
        let a = module(hooks, Module::Ln1, l, x.clone(), |_, x| {
            w.ln_1.forward(x).at(Module::Ln1, l)
        })?;
        let a = module(hooks, Module::Attn, l, a, |h, x| self.attention(h, w, i, x))?;
        let x = (a + x).at(Module::Block, l)?;
        let m = module(hooks, Module::Ln2, l, x.clone(), |_, x| {
            w.ln_2.forward(x).at(Module::Ln2, l)
        })?;
        let m = module(hooks, Module::Mlp, l, m, |h, x| self.mlp(h, w, i, x))?;
        (m + x).at(Module::Block, l)
    }

    /// `GPT2Attention.forward` (eager): causal softmax attention over all heads.
    fn attention<H: Hooks + ?Sized>(&self, hooks: &mut H, w: &Block, i: usize, x: &Tensor) -> Step {
        let l = Some(i);
        let qkv = module(hooks, Module::CAttn, l, x.clone(), |_, x| {
            w.c_attn.forward(x).at(Module::CAttn, l)
        })?;
        let mut scale = 1.0;
        if self.cfg.scale_attn_weights {
            scale /= (self.cfg.head_dim() as f64).sqrt();
        }
        if self.cfg.scale_attn_by_inverse_layer_idx {
            scale /= (i + 1) as f64;
        }
        let heads = self.cfg.n_head;
        let probs = attention::probs(&qkv, heads, scale as f32).at(Module::Attn, l)?;
        let probs = module(hooks, Module::AttnDropout, l, probs, |_, p| Ok(p.clone()))?;
        let ctx = attention::context(&probs, &qkv, heads).at(Module::Attn, l)?;
        let out = module(hooks, Module::AttnCProj, l, ctx, |_, c| {
            w.attn_c_proj.forward(c).at(Module::AttnCProj, l)
        })?;
        module(hooks, Module::ResidDropout, l, out, |_, x| Ok(x.clone()))
    }

    /// `GPT2MLP.forward`: expand, activate, project back.
    fn mlp<H: Hooks + ?Sized>(&self, hooks: &mut H, w: &Block, i: usize, x: &Tensor) -> Step {
        let l = Some(i);
        let hidden = module(hooks, Module::CFc, l, x.clone(), |_, x| {
            w.c_fc.forward(x).at(Module::CFc, l)
        })?;
        let act = self.activation;
        let hidden = module(hooks, Module::Act, l, hidden, |_, x| {
            match act {
                Activation::GeluTanh => crate::ops::gelu_new_tensor(x),
                Activation::GeluErf => x.gelu_erf(),
                Activation::Relu => x.relu(),
            }
            .at(Module::Act, l)
        })?;
        let out = module(hooks, Module::MlpCProj, l, hidden, |_, x| {
            w.mlp_c_proj.forward(x).at(Module::MlpCProj, l)
        })?;
        module(hooks, Module::MlpDropout, l, out, |_, x| Ok(x.clone()))
    }
}

impl AsRef<Gpt2> for Gpt2 {
    fn as_ref(&self) -> &Gpt2 {
        self
    }
}
