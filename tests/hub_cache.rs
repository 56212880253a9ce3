//! `from_pretrained` with a hub id: the local Hugging Face cache first, and a clear error offline.
//! (Its own test binary: it sets `HF_HOME` and `HF_HUB_OFFLINE` for the process.)

use std::path::Path;

use nnsight::prelude::*;

#[test]
fn hub_ids_come_from_the_cache_and_fail_clearly_offline() {
    let home = std::env::temp_dir().join(format!("nnsight-hf-home-{}", std::process::id()));
    // The cache layout of huggingface_hub: models--OWNER--NAME/{refs/main, snapshots/REV/FILE}.
    let repo = home.join("hub/models--someone--tiny-gpt2");
    let snapshot = repo.join("snapshots/0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("nnsight-runtime/assets/tiny-gpt2");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(assets.join(f), snapshot.join(f)).unwrap();
    }
    std::env::set_var("HF_HOME", &home);
    std::env::set_var("HF_HUB_OFFLINE", "1");

    let model = Gpt2::from_pretrained("someone/tiny-gpt2").unwrap();
    assert_eq!(model.config().n_layer, 12);
    assert_eq!(model.source(), "someone/tiny-gpt2");

    let start = std::time::Instant::now();
    let e = Gpt2::from_pretrained("openai-community/gpt2")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("openai-community/gpt2")
            && e.contains("HF_HUB_OFFLINE")
            && e.contains("not in the local cache"),
        "{e}"
    );
    assert!(
        start.elapsed().as_secs() < 5,
        "offline failure took {:?}",
        start.elapsed()
    );
    let e = Gpt2::from_pretrained("./no/such/dir")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no such directory"), "{e}");
}
