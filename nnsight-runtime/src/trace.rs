//! Traces: the statements of a `trace!` block, registered on module events while the trace is set up,
//! then run by one forward pass. `trace!` expands to calls on [`Tracer`]; they can be used directly too.
//!
//! Statements are tied to events, not to their order in the block. At an event, its statements run in
//! the order they were registered; then, if a stop is registered there, the pass ends.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;

use candle_core::Tensor;
use nnsight_schema::{module_path, Event, EventKind, Module, Schema};

use crate::error::{Error, Result};
use crate::gpt2::Gpt2;
use crate::hooks::{Hooks, Interrupt};
use crate::input::IntoIds;

/// A function of a value at an event (`save!(p, |t| ..)`, `edit!(p, |t| ..)`).
type TensorFn<'a> = Box<dyn FnMut(&Tensor) -> candle_core::Result<Tensor> + 'a>;

enum Action<'a> {
    Save(SaveId, Option<TensorFn<'a>>),
    Set(Tensor),
    Edit(TensorFn<'a>),
}

/// A resolved event of this trace's model: its position in the pass and the event itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    pos: usize,
    event: Event,
}

/// A handle to a value a trace saves: after the run, [`Resolve`] turns it into a [`Saved`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveId(usize);

#[derive(Default)]
struct Plan<'a> {
    actions: Vec<Vec<Action<'a>>>,
    /// Replacement outputs of skipped modules, at the position of the module's input event.
    skips: Vec<Option<(Event, Tensor)>>,
    stop_at: Option<Site>,
    saves: Vec<Event>,
    /// The first mistake found while setting up (a computed index out of range, say): reported by `run`.
    error: Option<Error>,
}

/// A trace being set up on one model: statements are registered on events, then [`Tracer::run`] runs
/// one forward pass. The model is only borrowed; nothing is ever attached to it.
pub struct Tracer<'a> {
    model: &'a Gpt2,
    plan: RefCell<Plan<'a>>,
}

impl<'a> Tracer<'a> {
    /// A trace checked (by `trace!`) against `schema`; a model that does not match it is refused by `run`.
    pub fn new(model: &'a Gpt2, schema: &Schema) -> Self {
        let n = model.event_index().len();
        let mut plan = Plan {
            actions: (0..n).map(|_| Vec::new()).collect(),
            skips: vec![None; n],
            ..Plan::default()
        };
        let n_layer = model.config().n_layer;
        if n_layer != schema.n_layer {
            plan.error = Some(Error::SchemaMismatch {
                schema: schema.name,
                expected: format!("{} blocks", schema.n_layer),
                found: format!("{n_layer} blocks (n_layer in {})", model.source()),
            });
        }
        Tracer {
            model,
            plan: RefCell::new(plan),
        }
    }

    /// The event for a module, a layer (given by the macro for modules inside `h[i]`) and a kind.
    /// An index that is negative or past the model's blocks is recorded as the trace's error.
    pub fn event<I: TryInto<usize>>(
        &self,
        module: Module,
        layer: Option<I>,
        kind: EventKind,
    ) -> Option<Site> {
        let layer =
            match layer.map(TryInto::try_into) {
                None => None,
                Some(Ok(i)) => Some(i),
                Some(Err(_)) => {
                    let path = format!("{}.{}", module_path(module, Some(0)), kind.name())
                        .replacen("h[0]", "h[negative]", 1);
                    self.fail(Error::Path {
                        path,
                        reason: "a block index must be 0 or more".into(),
                    });
                    return None;
                }
            };
        let ev = Event::new(module, layer, kind);
        let index = self.model.event_index();
        let pos = index.position(ev);
        if pos.is_none() {
            let n = index.n_layer();
            self.fail(Error::Path {
                path: ev.path(),
                reason: format!(
                    "the model has {n} blocks, h[0] to h[{}]",
                    n.saturating_sub(1)
                ),
            });
        }
        pos.map(|pos| Site { pos, event: ev })
    }

    fn fail(&self, e: Error) {
        let mut plan = self.plan.borrow_mut();
        if plan.error.is_none() {
            plan.error = Some(e);
        }
    }

    fn push(&self, site: Option<Site>, action: Action<'a>) {
        if let Some(site) = site {
            self.plan.borrow_mut().actions[site.pos].push(action);
        }
    }

    /// Keeps the value at an event (`save!(p)`), or `f` of it (`save!(p, f)`).
    pub fn save(&self, site: Option<Site>, f: Option<TensorFn<'a>>) -> SaveId {
        let mut plan = self.plan.borrow_mut();
        let id = SaveId(plan.saves.len());
        // A save on an invalid site is never run: `run` reports the site's error first.
        plan.saves.push(site.map_or(
            Event::new(Module::Transformer, None, EventKind::Output),
            |s| s.event,
        ));
        drop(plan);
        self.push(site, Action::Save(id, f));
        id
    }

    /// `save!(p, |t| expr)`: keeps a value computed from the one at the event.
    pub fn save_with(
        &self,
        site: Option<Site>,
        f: impl FnMut(&Tensor) -> candle_core::Result<Tensor> + 'a,
    ) -> SaveId {
        self.save(site, Some(Box::new(f)))
    }

    /// Ends the pass once the event's own statements have run. The earliest stop wins.
    pub fn stop(&self, site: Option<Site>) {
        if let Some(site) = site {
            let mut plan = self.plan.borrow_mut();
            if plan.stop_at.is_none_or(|s| site.pos < s.pos) {
                plan.stop_at = Some(site);
            }
        }
    }

    /// Replaces the value at the event (same shape and type).
    pub fn set<B: Borrow<Tensor> + ?Sized>(&self, site: Option<Site>, value: &B) {
        self.push(site, Action::Set(value.borrow().clone()));
    }

    /// Replaces the value at the event with a function of it.
    pub fn edit(
        &self,
        site: Option<Site>,
        f: impl FnMut(&Tensor) -> candle_core::Result<Tensor> + 'a,
    ) {
        self.push(site, Action::Edit(Box::new(f)));
    }

    /// Does not run the module whose input event is `site`; `output` is its output.
    pub fn skip<B: Borrow<Tensor> + ?Sized>(&self, site: Option<Site>, output: &B) {
        if let Some(site) = site {
            self.plan.borrow_mut().skips[site.pos] = Some((site.event, output.borrow().clone()));
        }
    }

    /// Runs the forward pass on `input` (a prompt or token ids). Mistakes found while setting up are
    /// reported here, before anything runs.
    pub fn run(self, input: impl IntoIds) -> Result<Run> {
        let plan = self.plan.into_inner();
        if let Some(e) = plan.error {
            return Err(e);
        }
        let ids = input.into_ids(self.model)?;
        let (batch, seq) = ids.dims2().map_err(|e| Error::tensor("input ids", e))?;
        let mut exec = Executor {
            model: self.model,
            plan,
            saved: Vec::new(),
            batch,
            seq,
            fired: 0,
        };
        exec.saved = vec![None; exec.plan.saves.len()];
        let logits = self.model.forward_with(&ids, &mut exec)?;
        let Executor {
            plan, saved, fired, ..
        } = exec;
        let stopped_at = plan.stop_at.filter(|_| logits.is_none()).map(|s| s.event);
        let skipped = plan
            .skips
            .iter()
            .flatten()
            .map(|(event, _)| *event)
            .collect();
        Ok(Run {
            saves: plan.saves,
            saved,
            stopped_at,
            skipped,
            logits,
            fired,
        })
    }
}

/// The running side of a trace: the hooks of the one forward pass.
struct Executor<'m, 'a> {
    model: &'m Gpt2,
    plan: Plan<'a>,
    saved: Vec<Option<Tensor>>,
    batch: usize,
    seq: usize,
    /// Events that fired: how far the pass got.
    fired: usize,
}

fn same_kind(path: &str, what: &str, old: &Tensor, new: &Tensor) -> Result<(), Interrupt> {
    if old.dims() != new.dims() || old.dtype() != new.dtype() {
        let reason = format!(
            "{what} has shape {:?} ({:?}), but the value there has shape {:?} ({:?})",
            new.dims(),
            new.dtype(),
            old.dims(),
            old.dtype()
        );
        return Err(Interrupt::Error(Error::Intervention {
            path: path.into(),
            reason,
        }));
    }
    Ok(())
}

impl Hooks for Executor<'_, '_> {
    fn on_event(&mut self, event: Event, mut value: Tensor) -> Result<Tensor, Interrupt> {
        self.fired += 1;
        let Some(pos) = self.model.event_index().position(event) else {
            return Ok(value);
        };
        for action in &mut self.plan.actions[pos] {
            match action {
                Action::Save(id, None) => self.saved[id.0] = Some(value.clone()),
                Action::Save(id, Some(f)) => {
                    self.saved[id.0] =
                        Some(f(&value).map_err(|e| Error::tensor(format!("save!({event})"), e))?);
                }
                Action::Set(new) => {
                    same_kind(&event.path(), "set! value", &value, new)?;
                    value = new.clone();
                }
                Action::Edit(f) => {
                    let new = f(&value).map_err(|e| Error::tensor(format!("edit!({event})"), e))?;
                    same_kind(&event.path(), "the edit!'s result", &value, &new)?;
                    value = new;
                }
            }
        }
        if self.plan.stop_at.is_some_and(|s| s.pos == pos) {
            return Err(Interrupt::Stop);
        }
        Ok(value)
    }

    fn skip(
        &mut self,
        module: Module,
        layer: Option<usize>,
        _input: &Tensor,
    ) -> Result<Option<Tensor>, Interrupt> {
        let Some(pos) =
            self.model
                .event_index()
                .position(Event::new(module, layer, EventKind::Input))
        else {
            return Ok(None);
        };
        let Some((_, out)) = &self.plan.skips[pos] else {
            return Ok(None);
        };
        let expected = self
            .model
            .config()
            .shape_of(module.node().output, self.batch, self.seq);
        if out.dims() != expected || out.dtype() != candle_core::DType::F32 {
            let reason = format!(
                "skip! output has shape {:?} ({:?}), the module's output is {expected:?} (F32)",
                out.dims(),
                out.dtype()
            );
            return Err(Interrupt::Error(Error::Intervention {
                path: module_path(module, layer),
                reason,
            }));
        }
        Ok(Some(out.clone()))
    }
}

/// What one traced pass produced: the saved values, where it stopped, which modules it skipped.
#[derive(Debug)]
pub struct Run {
    saves: Vec<Event>,
    saved: Vec<Option<Tensor>>,
    stopped_at: Option<Event>,
    skipped: Vec<Event>,
    logits: Option<Tensor>,
    fired: usize,
}

impl Run {
    /// The logits, unless the pass stopped early.
    pub fn logits(&self) -> Option<&Tensor> {
        self.logits.as_ref()
    }

    /// How many module events fired: how far the pass got (a full GPT-2 pass fires `2 * (6 + 13 n_layer)`).
    pub fn events_fired(&self) -> usize {
        self.fired
    }

    /// The event the pass stopped at, if it stopped early.
    pub fn stopped_at(&self) -> Option<Event> {
        self.stopped_at
    }

    /// The saved value `id`, or why it was never set.
    pub fn take(&mut self, id: SaveId) -> Saved {
        let Some(&event) = self.saves.get(id.0) else {
            let value = Err("it is not a save of this trace".to_string());
            return Saved {
                path: format!("save #{}", id.0),
                value,
            };
        };
        let value = self.saved[id.0]
            .take()
            .ok_or_else(|| self.why_not_set(event));
        Saved {
            path: event.path(),
            value,
        }
    }

    fn why_not_set(&self, event: Event) -> String {
        if let Some(stop) = self.stopped_at {
            return format!("the forward pass stopped at `{stop}` (stop!) before it");
        }
        let inside = |skipped: &Event| {
            skipped.layer == event.layer
                && skipped.module != event.module
                && nnsight_schema::node_path(event.module)
                    .iter()
                    .any(|n| n.module == skipped.module)
        };
        match self.skipped.iter().find(|s| inside(s)) {
            Some(s) => format!(
                "`{}` was skipped (skip!), so the modules inside it never ran",
                module_path(s.module, s.layer)
            ),
            None => "its event never fired".into(),
        }
    }
}

/// A value saved by a trace: the tensor, or why it was never set (the pass stopped before it, or a
/// module around it was skipped).
#[derive(Clone)]
pub struct Saved {
    path: String,
    value: std::result::Result<Tensor, String>,
}

impl Saved {
    /// The saved tensor, or an `Err` naming the path and why it was never set.
    pub fn value(&self) -> Result<&Tensor> {
        self.value.as_ref().map_err(|reason| Error::NotSet {
            path: self.path.clone(),
            reason: reason.clone(),
        })
    }

    /// The saved tensor, owned.
    pub fn into_value(self) -> Result<Tensor> {
        let Saved { path, value } = self;
        value.map_err(|reason| Error::NotSet { path, reason })
    }

    /// The path it was saved from (`h[0].output`).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Ok(t) => write!(f, "{t}"),
            Err(e) => write!(f, "<{e}>"),
        }
    }
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Ok(t) => write!(f, "Saved({}: {t:?})", self.path),
            Err(reason) => write!(f, "Saved({}: never set: {reason})", self.path),
        }
    }
}

/// What a `let` binding of a trace becomes in the trace's result: a [`SaveId`] becomes a [`Saved`], and
/// collections of them collections of `Saved`.
pub trait Resolve {
    /// The type of the result's field.
    type Output;
    /// Looks the saved values up in the finished run.
    fn resolve(self, run: &mut Run) -> Self::Output;
}

impl Resolve for SaveId {
    type Output = Saved;
    fn resolve(self, run: &mut Run) -> Saved {
        run.take(self)
    }
}

impl<T: Resolve> Resolve for Vec<T> {
    type Output = Vec<T::Output>;
    fn resolve(self, run: &mut Run) -> Self::Output {
        self.into_iter().map(|t| t.resolve(run)).collect()
    }
}

impl<T: Resolve, const N: usize> Resolve for [T; N] {
    type Output = [T::Output; N];
    fn resolve(self, run: &mut Run) -> Self::Output {
        self.map(|t| t.resolve(run))
    }
}

impl<T: Resolve> Resolve for Option<T> {
    type Output = Option<T::Output>;
    fn resolve(self, run: &mut Run) -> Self::Output {
        self.map(|t| t.resolve(run))
    }
}

impl<A: Resolve, B: Resolve> Resolve for (A, B) {
    type Output = (A::Output, B::Output);
    fn resolve(self, run: &mut Run) -> Self::Output {
        (self.0.resolve(run), self.1.resolve(run))
    }
}
