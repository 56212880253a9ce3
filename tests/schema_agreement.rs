//! The macro's schema and the runtime's hook points agree: a forward pass fires exactly the schema's
//! events, in the schema's order, with outputs of the schema's shapes.

use nnsight::hooks::EventLog;
use nnsight::prelude::*;
use nnsight::schema::{events, EventKind};

#[test]
fn forward_fires_exactly_the_schema_events_in_order_with_schema_shapes() {
    let model = Gpt2::tiny().unwrap();
    let ids = "The Eiffel Tower is in the city of"
        .into_ids(&model)
        .unwrap();
    let mut log = EventLog::default();
    model.forward_with(&ids, &mut log).unwrap().unwrap();
    let fired: Vec<_> = log.events.iter().map(|(e, _)| *e).collect();
    assert_eq!(fired, events(model.config().n_layer));
    assert_eq!(fired.len(), 2 * (5 + 1 + 12 * 13));
    for (event, shape) in &log.events {
        if event.kind == EventKind::Output {
            let expected = model.config().shape_of(event.module.node().output, 1, 10);
            assert_eq!(shape, &expected, "{event}");
        }
    }
}
