//! The lint: work whose event comes after an unconditional `stop!` can never happen. Such statements
//! get a compiler warning naming their path and the stop's.

use nnsight_schema::{Event, EventIndex, EventKind, Schema};
use proc_macro2::Span;

use crate::parse::Kind;
use crate::resolve::{Layer, Resolved};

/// A statement of the trace, as the lint sees it.
pub struct Statement {
    /// Which statement macro.
    pub kind: Kind,
    /// Its resolved path.
    pub resolved: Resolved,
    /// The statement's span, where the warning goes.
    pub span: Span,
    /// A direct statement of the trace's block, not inside `if`, a loop or a closure.
    pub top_level: bool,
}

/// The statement's position in the pass, when known at compile time. A `skip!` acts at its module's input.
fn position(s: &Statement, index: &EventIndex) -> Option<usize> {
    let layer = match s.resolved.layer {
        Layer::None => None,
        Layer::Literal(i) => Some(i),
        Layer::Computed(_) => return None,
    };
    let kind = s.resolved.kind.unwrap_or(EventKind::Input);
    index.position(Event::new(s.resolved.module, layer, kind))
}

/// The warnings: `(where, message)`.
pub fn after_stop(statements: &[Statement], schema: &Schema) -> Vec<(Span, String)> {
    let index = EventIndex::new(schema.n_layer);
    let stop = statements
        .iter()
        .filter(|s| s.kind == Kind::Stop && s.top_level)
        .filter_map(|s| Some((position(s, &index)?, s)))
        .min_by_key(|(pos, _)| *pos);
    let Some((stop_pos, stop)) = stop else {
        return Vec::new();
    };
    statements
        .iter()
        .filter(|s| s.kind != Kind::Stop)
        .filter_map(|s| {
            let pos = position(s, &index)?;
            (pos > stop_pos).then(|| {
                let what = match s.kind {
                    Kind::Save => "this save! can never be set",
                    Kind::Skip => "this skip! never happens",
                    Kind::Set => "this set! never runs",
                    _ => "this edit! never runs",
                };
                let msg = format!(
                    "`{}` comes after the stop at `{}`: {what} (the forward pass ends at the stop)",
                    s.resolved.display(),
                    stop.resolved.display()
                );
                (s.span, msg)
            })
        })
        .collect()
}
