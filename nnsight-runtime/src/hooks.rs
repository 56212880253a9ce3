//! The hook points of the forward pass: what a caller can see and change at every module event.

use candle_core::Tensor;
use nnsight_schema::{Event, Module};

use crate::error::Error;

/// Why a forward pass ended before producing logits.
#[derive(Debug)]
pub enum Interrupt {
    /// A hook asked to end the pass (`stop!`): not an error.
    Stop,
    /// Something failed.
    Error(Error),
}

impl From<Error> for Interrupt {
    fn from(e: Error) -> Self {
        Interrupt::Error(e)
    }
}

/// What happens at each module event of a forward pass. The hooks belong to the caller, never to the
/// model, so one model can serve many passes with different hooks at once.
///
/// Both methods have do-nothing defaults, so a pass with [`NoHooks`] compiles to the plain forward.
pub trait Hooks {
    /// Called at every event, in the schema's order, with the value there (the module's first input, or
    /// its output). Return the value the pass should go on with, or [`Interrupt::Stop`] to end the pass.
    fn on_event(&mut self, event: Event, value: Tensor) -> Result<Tensor, Interrupt> {
        let _ = event;
        Ok(value)
    }

    /// Called after a module's input event: `Some(output)` means the module does not run (nor do its
    /// children's events fire) and `output` is used as its output.
    fn skip(
        &mut self,
        module: Module,
        layer: Option<usize>,
        input: &Tensor,
    ) -> Result<Option<Tensor>, Interrupt> {
        let _ = (module, layer, input);
        Ok(None)
    }
}

/// No hooks at all: the plain forward pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// Records every event that fires, with the value's shape: what tests use to prove that the forward
/// pass fires exactly the schema's events, in order.
#[derive(Debug, Default)]
pub struct EventLog {
    /// The events, in the order they fired, with the shape of the value at each.
    pub events: Vec<(Event, Vec<usize>)>,
}

impl Hooks for EventLog {
    fn on_event(&mut self, event: Event, value: Tensor) -> Result<Tensor, Interrupt> {
        self.events.push((event, value.dims().to_vec()));
        Ok(value)
    }
}

/// Keeps every module's output, keyed by its Hugging Face module name (`transformer.h.0.attn.c_attn`):
/// what `dump_activations` writes and what the parity tests compare against HF transformers.
#[derive(Debug, Default)]
pub struct OutputRecorder {
    /// `(HF module name, output)` in the order the modules finished.
    pub outputs: Vec<(String, Tensor)>,
}

impl Hooks for OutputRecorder {
    fn on_event(&mut self, event: Event, value: Tensor) -> Result<Tensor, Interrupt> {
        if event.kind == nnsight_schema::EventKind::Output {
            self.outputs.push((
                nnsight_schema::hf_module_name(event.module, event.layer),
                value.clone(),
            ));
        }
        Ok(value)
    }
}
