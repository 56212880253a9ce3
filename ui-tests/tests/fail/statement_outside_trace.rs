// a statement macro outside trace!
use nnsight::prelude::*;

fn main() {
    let x = save!(h[0].output);
    let _ = x;
}
