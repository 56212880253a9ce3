//! Compile-time behaviour of `trace!`: what compiles, and the exact errors and warnings users see.
//! Snapshots (`fail/*.stderr`) were made with this repository's toolchain; regenerate with
//! `TRYBUILD=overwrite cargo test -p ui-tests` only for an intended change, and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/fail/*.rs");
}
