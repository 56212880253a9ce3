//! Loading GPT-2: a local directory, the Hugging Face hub (cache first), or the embedded tiny model.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use candle_core::{DType, Device, Tensor};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::gpt2::Gpt2;

/// The embedded default: a GPT-2 with the real architecture and tokenizer, 12 blocks of width 32, random
/// weights (made by `../shared/reference/make_gpt2.py --layers 12 --embd 32 --heads 4 --no-mask-buffers`).
const TINY_CONFIG: &str = include_str!("../assets/tiny-gpt2/config.json");
const TINY_WEIGHTS: &[u8] = include_bytes!("../assets/tiny-gpt2/model.safetensors");
/// GPT-2's tokenizer (copied from `../shared/gpt2/tokenizer.json`), used when a checkpoint has none.
const GPT2_TOKENIZER: &[u8] = include_bytes!("../assets/gpt2-tokenizer.json");
const TINY_SOURCE: &str = "<embedded tiny-gpt2>";

/// The hub id examples try when no `--model` is given.
pub const DEFAULT_HUB_ID: &str = "openai-community/gpt2";

/// The bytes of one safetensors file: a read-only memory map, or the embedded model.
enum Bytes {
    Mapped(memmap2::Mmap),
    Embedded(&'static [u8]),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Embedded(b) => b,
        }
    }

    /// Drops the pages of a tensor already copied out, so peak memory stays near one copy of the weights.
    fn release(&self, start: usize, len: usize) {
        if let Bytes::Mapped(m) = self {
            // SAFETY: the map is read-only and file-backed; dropped pages are read back from the file if
            // touched again, so no data is lost. A failure only costs memory, so it is ignored.
            let _ =
                unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len) };
        }
    }
}

/// One safetensors file: its bytes and parsed header.
struct Shard {
    path: PathBuf,
    bytes: Bytes,
    data_start: usize,
    header: safetensors::tensor::Metadata,
}

impl Shard {
    fn new(path: PathBuf, bytes: Bytes) -> Result<Self> {
        let (header_len, header) = safetensors::SafeTensors::read_metadata(bytes.as_slice())
            .map_err(|e| Error::Weights {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let data_len = bytes.as_slice().len().saturating_sub(8 + header_len);
        if let Some((name, info)) = header
            .tensors()
            .into_iter()
            .find(|(_, info)| info.data_offsets.1 > data_len)
        {
            let reason = format!(
                "tensor `{name}` ends at byte {} of a {data_len}-byte data section (truncated?)",
                info.data_offsets.1
            );
            return Err(Error::Weights { path, reason });
        }
        Ok(Shard {
            path,
            bytes,
            data_start: 8 + header_len,
            header,
        })
    }
}

/// A checkpoint's weights (one or more safetensors files), read tensor by tensor, with the key prefix
/// of its layout.
pub(crate) struct WeightFile {
    shards: Vec<Shard>,
    prefix: &'static str,
}

fn candle_dtype(dtype: safetensors::Dtype) -> Option<DType> {
    Some(match dtype {
        safetensors::Dtype::F32 => DType::F32,
        safetensors::Dtype::F16 => DType::F16,
        safetensors::Dtype::BF16 => DType::BF16,
        safetensors::Dtype::F64 => DType::F64,
        _ => return None,
    })
}

impl WeightFile {
    fn mmap(paths: &[PathBuf]) -> Result<Self> {
        let shards = paths
            .iter()
            .map(|path| {
                let file = std::fs::File::open(path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                // SAFETY: mapped read-only; like every mmap-based loader (candle, HF) we rely on the file not
                // being truncated while the model loads. Tensors are copied out before the map is dropped.
                let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                Shard::new(path.clone(), Bytes::Mapped(map))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::with_layout(shards)
    }

    fn embedded() -> Result<Self> {
        let path = PathBuf::from(format!("{TINY_SOURCE}/model.safetensors"));
        Self::with_layout(vec![Shard::new(path, Bytes::Embedded(TINY_WEIGHTS))?])
    }

    /// Detects the key layout: the hub's (`wte.weight`) or `save_pretrained`'s (`transformer.wte.weight`).
    fn with_layout(shards: Vec<Shard>) -> Result<Self> {
        let mut file = WeightFile { shards, prefix: "" };
        for prefix in ["", "transformer."] {
            file.prefix = prefix;
            if file.find("wte.weight").is_some() {
                return Ok(file);
            }
        }
        Err(Error::MissingTensor {
            path: file.path().into(),
            name: "wte.weight (or transformer.wte.weight)".into(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        self.shards
            .first()
            .map_or(Path::new(""), |s| s.path.as_path())
    }

    fn find(&self, name: &str) -> Option<(&Shard, &safetensors::tensor::TensorInfo)> {
        let full = format!("{}{name}", self.prefix);
        self.shards
            .iter()
            .find_map(|s| s.header.info(&full).map(|info| (s, info)))
    }

    /// The tensor `name` (hub layout name), checked against the shape the config implies, as float32.
    pub(crate) fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let full = format!("{}{name}", self.prefix);
        let Some((shard, info)) = self.find(name) else {
            return Err(Error::MissingTensor {
                path: self.path().into(),
                name: full,
            });
        };
        let path = shard.path.clone();
        if info.shape != shape {
            return Err(Error::TensorShape {
                path,
                name: full,
                expected: shape.to_vec(),
                found: info.shape.clone(),
            });
        }
        let dtype = candle_dtype(info.dtype).ok_or_else(|| Error::Weights {
            path: path.clone(),
            reason: format!("tensor `{full}` has unsupported dtype {:?}", info.dtype),
        })?;
        let (start, end) = (
            shard.data_start + info.data_offsets.0,
            shard.data_start + info.data_offsets.1,
        );
        let tensor = Tensor::from_raw_buffer(
            &shard.bytes.as_slice()[start..end],
            dtype,
            shape,
            &Device::Cpu,
        )
        .and_then(|t| t.to_dtype(DType::F32))
        .map_err(|e| Error::Weights {
            path,
            reason: format!("tensor `{full}`: {}", root_cause(&e)),
        })?;
        shard.bytes.release(start, end - start);
        Ok(tensor)
    }
}

/// candle wraps errors in context and backtraces; users want the reason.
fn root_cause(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => root_cause(inner),
        candle_core::Error::Context { inner, .. } => root_cause(inner),
        other => other.to_string(),
    }
}

fn tokenizer_from(bytes: &[u8], path: &Path) -> Result<tokenizers::Tokenizer> {
    tokenizers::Tokenizer::from_bytes(bytes)
        .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
}

/// The tokenizer in `path` if there is one, else the bundled GPT-2 tokenizer.
fn load_tokenizer(path: Option<&Path>) -> Result<tokenizers::Tokenizer> {
    if let Some(path) = path.filter(|p| p.is_file()) {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        return tokenizer_from(&bytes, path);
    }
    static BUNDLED: OnceLock<std::result::Result<tokenizers::Tokenizer, String>> = OnceLock::new();
    BUNDLED
        .get_or_init(|| {
            tokenizer_from(GPT2_TOKENIZER, Path::new("<bundled gpt2 tokenizer.json>"))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Tokenizer)
}

/// The weight files of a checkpoint directory: `model.safetensors`, or the shards an index names.
fn weight_paths(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    if single.is_file() || !index.is_file() {
        return Ok(vec![single]);
    }
    let text = std::fs::read_to_string(&index).map_err(|source| Error::Io {
        path: index.clone(),
        source,
    })?;
    let bad = |reason: String| Error::Weights {
        path: index.clone(),
        reason,
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no weight_map".into()))?;
    let mut files: Vec<PathBuf> = map
        .values()
        .filter_map(|v| v.as_str())
        .map(|f| dir.join(f))
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

impl Gpt2 {
    /// Loads a checkpoint directory: `config.json`, `model.safetensors` (memory-mapped; hub or
    /// `save_pretrained` key layout) and `tokenizer.json` if present (else GPT-2's, bundled).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            let source = std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory");
            return Err(Error::Io {
                path: dir.into(),
                source,
            });
        }
        let source = dir.display().to_string();
        Self::from_files(
            &dir.join("config.json"),
            &weight_paths(dir)?,
            Some(&dir.join("tokenizer.json")),
            source,
        )
    }

    fn from_files(
        config: &Path,
        weights: &[PathBuf],
        tokenizer: Option<&Path>,
        source: String,
    ) -> Result<Self> {
        let cfg = Config::from_file(config)?;
        let weights = WeightFile::mmap(weights)?;
        Gpt2::load(&weights, cfg, load_tokenizer(tokenizer)?, source)
    }

    /// The embedded tiny GPT-2: real architecture (12 blocks, so every `gpt2` path exists) and real
    /// tokenizer, but width 32 and **random weights**. For examples, tests and offline use.
    pub fn tiny() -> Result<Self> {
        let cfg = Config::from_json(TINY_CONFIG, Path::new(TINY_SOURCE))?;
        Gpt2::load(
            &WeightFile::embedded()?,
            cfg,
            load_tokenizer(None)?,
            TINY_SOURCE.into(),
        )
    }

    /// A local directory if `id_or_dir` is one, else a Hugging Face hub id: the local cache (`HF_HOME`)
    /// first, then a download with a progress bar. With `HF_HUB_OFFLINE=1`, or when the hub cannot be
    /// reached within `NNSIGHT_HUB_TIMEOUT` seconds (default 15), it says what is missing instead.
    pub fn from_pretrained(id_or_dir: &str) -> Result<Self> {
        let path = Path::new(id_or_dir);
        if path.is_dir() {
            return Self::from_dir(path);
        }
        let hub_err = |reason: String| Error::Hub {
            id: id_or_dir.into(),
            reason,
        };
        if id_or_dir.is_empty()
            || id_or_dir.starts_with(['.', '/'])
            || id_or_dir.split('/').count() > 2
        {
            return Err(hub_err(
                "no such directory, and not a hub id (`owner/name`)".into(),
            ));
        }
        let cache = hf_hub::Cache::from_env();
        let cached = cache.model(id_or_dir.into());
        if let (Some(config), Some(weights)) =
            (cached.get("config.json"), cached.get("model.safetensors"))
        {
            return Self::from_files(
                &config,
                &[weights],
                cached.get("tokenizer.json").as_deref(),
                id_or_dir.into(),
            );
        }
        let missing = format!(
            "config.json and model.safetensors are not in the local cache ({})",
            cache.path().display()
        );
        if offline() {
            return Err(hub_err(format!("{missing}, and HF_HUB_OFFLINE is set")));
        }
        let (config, weights, tokenizer) =
            download(id_or_dir).map_err(|e| hub_err(format!("{missing}, and {e}")))?;
        Self::from_files(&config, &[weights], tokenizer.as_deref(), id_or_dir.into())
    }

    /// What examples load: `model` if given; else `openai-community/gpt2` if it is cached or can be
    /// downloaded; else the embedded tiny model, saying on stderr that its weights are random.
    pub fn for_examples(model: Option<&str>) -> Result<Self> {
        if let Some(model) = model {
            return Self::from_pretrained(model);
        }
        match Self::from_pretrained(DEFAULT_HUB_ID) {
            Ok(m) => Ok(m),
            Err(e) => {
                eprintln!("note: {e}");
                eprintln!("note: using the embedded tiny GPT-2 (real architecture and tokenizer, RANDOM weights: its outputs mean nothing)");
                Self::tiny()
            }
        }
    }
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "on" | "yes" | "true"))
}

type Downloaded = (PathBuf, PathBuf, Option<PathBuf>);

/// Downloads a checkpoint after a bounded probe, so that a dead network fails fast instead of hanging.
fn download(id: &str) -> std::result::Result<Downloaded, String> {
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(true)
        .build()
        .map_err(|e| e.to_string())?;
    let repo = api.model(id.into());
    let secs = std::env::var("NNSIGHT_HUB_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let (tx, rx) = std::sync::mpsc::channel();
    let (probe_api, probe_id) = (api.clone(), id.to_string());
    std::thread::spawn(move || {
        let _ = tx.send(
            probe_api
                .model(probe_id)
                .info()
                .map(|_| ())
                .map_err(|e| e.to_string()),
        );
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("the hub could not be reached: {e}")),
        Err(_) => {
            return Err(format!(
                "the hub did not answer within {secs} s (NNSIGHT_HUB_TIMEOUT)"
            ))
        }
    }
    let get = |f: &str| {
        repo.get(f)
            .map_err(|e| format!("downloading {f} failed: {e}"))
    };
    Ok((
        get("config.json")?,
        get("model.safetensors")?,
        repo.get("tokenizer.json").ok(),
    ))
}
