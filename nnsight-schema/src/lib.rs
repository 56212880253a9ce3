//! The GPT-2 module schema: the one source of truth for module names, nesting, event order and output
//! shapes, shared by the `trace!` macro (which resolves paths against it at compile time) and the runtime
//! (whose forward pass fires exactly these events, in this order).
//!
//! The tree is Hugging Face's `GPT2LMHeadModel`, with its names:
//!
//! ```
//! use nnsight_schema::{events, EventKind, Module};
//! let evs = events(2);
//! assert_eq!(evs[0].path(), "transformer.input");
//! assert_eq!(evs.last().unwrap().path(), "lm_head.output");
//! assert!(evs.iter().any(|e| e.module == Module::CAttn && e.layer == Some(1) && e.kind == EventKind::Output));
//! ```

use std::fmt;

/// Every distinct module of GPT-2. Modules under `h[i]` exist once per block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Module {
    /// `transformer` (`GPT2Model`).
    Transformer,
    /// `transformer.wte`, the token embedding.
    Wte,
    /// `transformer.wpe`, the position embedding.
    Wpe,
    /// `transformer.drop`, the embedding dropout (identity at inference).
    Drop,
    /// `transformer.h[i]`, a `GPT2Block`.
    Block,
    /// `h[i].ln_1`.
    Ln1,
    /// `h[i].attn`.
    Attn,
    /// `h[i].attn.c_attn`, the fused q/k/v projection.
    CAttn,
    /// `h[i].attn.attn_dropout`: its output is the attention pattern.
    AttnDropout,
    /// `h[i].attn.c_proj`.
    AttnCProj,
    /// `h[i].attn.resid_dropout`.
    ResidDropout,
    /// `h[i].ln_2`.
    Ln2,
    /// `h[i].mlp`.
    Mlp,
    /// `h[i].mlp.c_fc`.
    CFc,
    /// `h[i].mlp.act` (`gelu_new`).
    Act,
    /// `h[i].mlp.c_proj`.
    MlpCProj,
    /// `h[i].mlp.dropout`.
    MlpDropout,
    /// `transformer.ln_f`.
    LnF,
    /// `lm_head`, tied to `wte`.
    LmHead,
}

impl Module {
    /// Every module, in declaration order (`Module::X as usize` is its index here).
    pub const ALL: [Module; MODULE_COUNT] = [
        Module::Transformer,
        Module::Wte,
        Module::Wpe,
        Module::Drop,
        Module::Block,
        Module::Ln1,
        Module::Attn,
        Module::CAttn,
        Module::AttnDropout,
        Module::AttnCProj,
        Module::ResidDropout,
        Module::Ln2,
        Module::Mlp,
        Module::CFc,
        Module::Act,
        Module::MlpCProj,
        Module::MlpDropout,
        Module::LnF,
        Module::LmHead,
    ];

    /// Whether the module lives inside a block (`h[i]` or below) and so needs a layer index.
    pub fn in_block(self) -> bool {
        node_path(self).iter().any(|n| n.indexed)
    }

    /// The schema node of this module.
    pub fn node(self) -> &'static Node {
        node_path(self).last().copied().unwrap_or(&TRANSFORMER)
    }
}

/// Which of a module's two events: before it runs (`input`) or after (`output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// Before the module runs; the value is its first positional input.
    Input,
    /// After the module ran; the value is its main output tensor.
    Output,
}

impl EventKind {
    /// The name a path uses: `input` or `output`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Input => "input",
            EventKind::Output => "output",
        }
    }
}

/// One axis of a module's output, in terms of the model's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// The batch size.
    Batch,
    /// Always 1 (the position embedding is shared across the batch).
    One,
    /// The sequence length.
    Seq,
    /// The number of attention heads.
    Heads,
    /// A multiple of the hidden size `n_embd`.
    Embd(usize),
    /// The vocabulary size.
    Vocab,
}

/// A module of the tree: its name in paths, the Hugging Face class, children and output shape.
#[derive(Debug)]
pub struct Node {
    /// The name used in paths (`c_attn`), and in Hugging Face's module names.
    pub name: &'static str,
    /// Which module this is.
    pub module: Module,
    /// The Hugging Face class name, for messages.
    pub class: &'static str,
    /// Whether the node is a list indexed by layer (`h[i]`).
    pub indexed: bool,
    /// Child modules, in the order they run.
    pub children: &'static [Node],
    /// The shape of the module's `.output`.
    pub output: &'static [Dim],
}

impl Node {
    /// The child with this name, if any.
    pub fn child(&self, name: &str) -> Option<&'static Node> {
        self.children.iter().find(|c| c.name == name)
    }
}

const BSD: &[Dim] = &[Dim::Batch, Dim::Seq, Dim::Embd(1)];

const fn leaf(
    name: &'static str,
    module: Module,
    class: &'static str,
    output: &'static [Dim],
) -> Node {
    Node {
        name,
        module,
        class,
        indexed: false,
        children: &[],
        output,
    }
}

const ATTN: &[Node] = &[
    leaf(
        "c_attn",
        Module::CAttn,
        "Conv1D",
        &[Dim::Batch, Dim::Seq, Dim::Embd(3)],
    ),
    leaf(
        "attn_dropout",
        Module::AttnDropout,
        "Dropout",
        &[Dim::Batch, Dim::Heads, Dim::Seq, Dim::Seq],
    ),
    leaf("c_proj", Module::AttnCProj, "Conv1D", BSD),
    leaf("resid_dropout", Module::ResidDropout, "Dropout", BSD),
];

const MLP: &[Node] = &[
    leaf(
        "c_fc",
        Module::CFc,
        "Conv1D",
        &[Dim::Batch, Dim::Seq, Dim::Embd(4)],
    ),
    leaf(
        "act",
        Module::Act,
        "NewGELUActivation",
        &[Dim::Batch, Dim::Seq, Dim::Embd(4)],
    ),
    leaf("c_proj", Module::MlpCProj, "Conv1D", BSD),
    leaf("dropout", Module::MlpDropout, "Dropout", BSD),
];

const BLOCK: &[Node] = &[
    leaf("ln_1", Module::Ln1, "LayerNorm", BSD),
    Node {
        name: "attn",
        module: Module::Attn,
        class: "GPT2Attention",
        indexed: false,
        children: ATTN,
        output: BSD,
    },
    leaf("ln_2", Module::Ln2, "LayerNorm", BSD),
    Node {
        name: "mlp",
        module: Module::Mlp,
        class: "GPT2MLP",
        indexed: false,
        children: MLP,
        output: BSD,
    },
];

/// `transformer`, the `GPT2Model` under `GPT2LMHeadModel`.
pub static TRANSFORMER: Node = Node {
    name: "transformer",
    module: Module::Transformer,
    class: "GPT2Model",
    indexed: false,
    children: &[
        leaf("wte", Module::Wte, "Embedding", BSD),
        leaf(
            "wpe",
            Module::Wpe,
            "Embedding",
            &[Dim::One, Dim::Seq, Dim::Embd(1)],
        ),
        leaf("drop", Module::Drop, "Dropout", BSD),
        Node {
            name: "h",
            module: Module::Block,
            class: "GPT2Block",
            indexed: true,
            children: BLOCK,
            output: BSD,
        },
        leaf("ln_f", Module::LnF, "LayerNorm", BSD),
    ],
    output: BSD,
};

/// `lm_head`, the logits projection (tied to `wte`).
pub static LM_HEAD: Node = leaf(
    "lm_head",
    Module::LmHead,
    "Linear",
    &[Dim::Batch, Dim::Seq, Dim::Vocab],
);

/// The top-level modules of `GPT2LMHeadModel`, in the order they run.
pub static ROOTS: [&Node; 2] = [&TRANSFORMER, &LM_HEAD];

/// The chain of nodes from a root down to `module`.
pub fn node_path(module: Module) -> Vec<&'static Node> {
    fn find(node: &'static Node, module: Module, path: &mut Vec<&'static Node>) -> bool {
        path.push(node);
        if node.module == module || node.children.iter().any(|c| find(c, module, path)) {
            return true;
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    for root in ROOTS {
        if find(root, module, &mut path) {
            break;
        }
    }
    path
}

/// One event of a forward pass: a module (with its layer, for modules inside blocks) and input or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// The module.
    pub module: Module,
    /// The block index for modules inside `h[i]`, `None` otherwise.
    pub layer: Option<usize>,
    /// Input or output.
    pub kind: EventKind,
}

impl Event {
    /// An event; `layer` must be `Some` exactly for modules inside a block.
    pub fn new(module: Module, layer: Option<usize>, kind: EventKind) -> Self {
        Event {
            module,
            layer,
            kind,
        }
    }

    /// The path as users write it, without the optional `transformer.` prefix: `h[0].attn.output`.
    pub fn path(&self) -> String {
        format!(
            "{}.{}",
            module_path(self.module, self.layer),
            self.kind.name()
        )
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A module's path as users write it: `h[3].mlp.c_fc`, `ln_f`, `transformer`, `lm_head`.
pub fn module_path(module: Module, layer: Option<usize>) -> String {
    let nodes = node_path(module);
    let skip = usize::from(nodes.len() > 1 && nodes[0].module == Module::Transformer);
    join_path(&nodes[skip..], layer, "[", "]")
}

/// A module's Hugging Face name, as `named_modules()` gives it: `transformer.h.3.mlp.c_fc`.
pub fn hf_module_name(module: Module, layer: Option<usize>) -> String {
    join_path(&node_path(module), layer, ".", "")
}

fn join_path(nodes: &[&Node], layer: Option<usize>, open: &str, close: &str) -> String {
    let mut out = String::new();
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(node.name);
        if node.indexed {
            out.push_str(&format!("{open}{}{close}", layer.unwrap_or(0)));
        }
    }
    out
}

/// Every event of a forward pass of a model with `n_layer` blocks, in the order they fire: a parent's
/// input before its children's events, its output after them.
pub fn events(n_layer: usize) -> Vec<Event> {
    fn walk(node: &Node, layer: Option<usize>, n_layer: usize, out: &mut Vec<Event>) {
        if node.indexed {
            for i in 0..n_layer {
                visit(node, Some(i), n_layer, out);
            }
        } else {
            visit(node, layer, n_layer, out);
        }
    }
    fn visit(node: &Node, layer: Option<usize>, n_layer: usize, out: &mut Vec<Event>) {
        out.push(Event::new(node.module, layer, EventKind::Input));
        for child in node.children {
            walk(child, layer, n_layer, out);
        }
        out.push(Event::new(node.module, layer, EventKind::Output));
    }
    let mut out = Vec::new();
    for root in ROOTS {
        walk(root, None, n_layer, &mut out);
    }
    out
}

/// O(1) position of an event in the pass's order, for a model with a given number of blocks.
/// Positions are dense (`0..len()`), so hook tables can be plain vectors.
#[derive(Clone, Debug)]
pub struct EventIndex {
    n_layer: usize,
    base: [[usize; 2]; MODULE_COUNT],
    /// `Module::in_block` for each module, looked up once: `position` runs at every event of a traced pass.
    in_block: [bool; MODULE_COUNT],
    block_stride: usize,
    len: usize,
}

const MODULE_COUNT: usize = Module::LmHead as usize + 1;

impl EventIndex {
    /// The index for a model with `n_layer` blocks.
    pub fn new(n_layer: usize) -> Self {
        let evs = events(n_layer);
        let mut base = [[0; 2]; MODULE_COUNT];
        for (pos, ev) in evs.iter().enumerate() {
            if ev.layer.unwrap_or(0) == 0 {
                base[ev.module as usize][ev.kind as usize] = pos;
            }
        }
        let block_stride = evs.iter().filter(|ev| ev.layer == Some(0)).count();
        let mut in_block = [false; MODULE_COUNT];
        for (slot, module) in in_block.iter_mut().zip(Module::ALL) {
            *slot = module.in_block();
        }
        EventIndex {
            in_block,
            n_layer,
            base,
            block_stride,
            len: evs.len(),
        }
    }

    /// The number of events in a pass.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether a pass has no events (never: `transformer` always fires).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of blocks.
    pub fn n_layer(&self) -> usize {
        self.n_layer
    }

    /// The position of `ev` in the pass, or `None` when its layer is missing, superfluous or out of range.
    pub fn position(&self, ev: Event) -> Option<usize> {
        let base = self.base[ev.module as usize][ev.kind as usize];
        match (self.in_block[ev.module as usize], ev.layer) {
            (true, Some(layer)) if layer < self.n_layer => Some(base + layer * self.block_stride),
            (false, None) => Some(base),
            _ => None,
        }
    }
}

/// A named GPT-2 family schema: which paths exist (the number of blocks) and the family member's widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schema {
    /// The name used in `trace!(model as NAME, ...)`.
    pub name: &'static str,
    /// The Hugging Face hub id of the family member.
    pub hub_id: &'static str,
    /// Number of blocks: `h[0]` to `h[n_layer - 1]`.
    pub n_layer: usize,
    /// Hidden size of the released checkpoint (informative: paths do not depend on it).
    pub n_embd: usize,
    /// Attention heads of the released checkpoint (informative).
    pub n_head: usize,
}

/// The GPT-2 family. `gpt2` is the default schema of `trace!`.
pub static SCHEMAS: [Schema; 5] = [
    Schema {
        name: "gpt2",
        hub_id: "openai-community/gpt2",
        n_layer: 12,
        n_embd: 768,
        n_head: 12,
    },
    Schema {
        name: "gpt2_medium",
        hub_id: "openai-community/gpt2-medium",
        n_layer: 24,
        n_embd: 1024,
        n_head: 16,
    },
    Schema {
        name: "gpt2_large",
        hub_id: "openai-community/gpt2-large",
        n_layer: 36,
        n_embd: 1280,
        n_head: 20,
    },
    Schema {
        name: "gpt2_xl",
        hub_id: "openai-community/gpt2-xl",
        n_layer: 48,
        n_embd: 1600,
        n_head: 25,
    },
    Schema {
        name: "distilgpt2",
        hub_id: "distilbert/distilgpt2",
        n_layer: 6,
        n_embd: 768,
        n_head: 12,
    },
];

/// The schema with this name (`gpt2`, `gpt2_medium`, `gpt2_large`, `gpt2_xl`, `distilgpt2`).
pub fn schema(name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_order_matches_the_design() {
        let evs = events(1);
        let names: Vec<String> = evs.iter().map(|e| e.path()).collect();
        let block: Vec<&str> = names.iter().map(String::as_str).skip(7).take(26).collect();
        assert_eq!(block[0], "h[0].input");
        assert_eq!(block[1], "h[0].ln_1.input");
        assert_eq!(block[3], "h[0].attn.input");
        assert_eq!(block[6], "h[0].attn.attn_dropout.input");
        assert_eq!(block[12], "h[0].attn.output");
        assert_eq!(block[24], "h[0].mlp.output");
        assert_eq!(block[25], "h[0].output");
        assert_eq!(
            &names[33..],
            [
                "ln_f.input",
                "ln_f.output",
                "transformer.output",
                "lm_head.input",
                "lm_head.output"
            ]
        );
    }

    #[test]
    fn index_agrees_with_event_order_for_every_size() {
        for n_layer in [0, 1, 2, 6, 12, 48] {
            let evs = events(n_layer);
            let index = EventIndex::new(n_layer);
            assert_eq!(index.len(), evs.len(), "n_layer {n_layer}");
            for (pos, ev) in evs.iter().enumerate() {
                assert_eq!(
                    index.position(*ev),
                    Some(pos),
                    "{ev} with n_layer {n_layer}"
                );
            }
            for (i, m) in Module::ALL.iter().enumerate() {
                assert_eq!(*m as usize, i);
            }
            let past = Event::new(Module::Mlp, Some(n_layer), EventKind::Output);
            assert_eq!(index.position(past), None);
            assert_eq!(
                index.position(Event::new(Module::LnF, Some(0), EventKind::Output)),
                None
            );
        }
    }

    #[test]
    fn names() {
        assert_eq!(module_path(Module::MlpCProj, Some(3)), "h[3].mlp.c_proj");
        assert_eq!(
            hf_module_name(Module::MlpCProj, Some(3)),
            "transformer.h.3.mlp.c_proj"
        );
        assert_eq!(hf_module_name(Module::LmHead, None), "lm_head");
        assert_eq!(module_path(Module::Transformer, None), "transformer");
        assert!(Module::Act.in_block() && !Module::LnF.in_block());
        assert_eq!(schema("gpt2_xl").map(|s| s.n_layer), Some(48));
    }
}
