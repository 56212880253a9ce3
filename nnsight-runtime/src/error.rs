//! The one error type of nnsight: every failure names what went wrong and where.

use std::path::PathBuf;

/// Everything that can go wrong loading a model, setting up a trace or running it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `config.json` is malformed or describes a model that is not a supported GPT-2.
    #[error("{path}: {reason}")]
    Config {
        /// The config file (or `<embedded>`).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The weights file is not a readable safetensors file.
    #[error("{path}: not a readable safetensors file: {reason}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// The reader's complaint.
        reason: String,
    },
    /// A tensor the model needs is missing from the weights file.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name (in the file's key layout).
        name: String,
    },
    /// A tensor in the weights file has the wrong shape for the config.
    #[error("{path}: tensor `{name}` has shape {found:?}, expected {expected:?} from config.json")]
    TensorShape {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// The model could not be found locally or on the Hugging Face hub.
    #[error("cannot load `{id}`: {reason}")]
    Hub {
        /// The hub id or path asked for.
        id: String,
        /// What is missing and why it could not be fetched.
        reason: String,
    },
    /// The tokenizer could not be loaded or failed to encode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The input cannot be run: empty, too long, bad ids.
    #[error("bad input: {0}")]
    Input(String),
    /// A trace was checked against a schema that the model does not match.
    #[error(
        "this trace was checked against schema `{schema}` ({expected}), but the model has {found}"
    )]
    SchemaMismatch {
        /// The schema's name.
        schema: &'static str,
        /// What the schema needs.
        expected: String,
        /// What the model has.
        found: String,
    },
    /// A module path that does not exist in the model (a computed index out of range).
    #[error("`{path}`: {reason}")]
    Path {
        /// The path as written, with the index it evaluated to.
        path: String,
        /// Why it does not exist.
        reason: String,
    },
    /// A value put into the pass (`set!`, `edit!`, `skip!`) has the wrong shape or type.
    #[error("`{path}`: {reason}")]
    Intervention {
        /// The event's path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A saved value was never set during the pass.
    #[error("`{path}` was never set: {reason}")]
    NotSet {
        /// The saved path.
        path: String,
        /// Why: where the pass stopped, or which module was skipped.
        reason: String,
    },
    /// A tensor operation failed (inside the model, or in a closure of a trace at `path`).
    #[error("{context}: {source}")]
    Tensor {
        /// Where: a module path, or what was being done.
        context: String,
        /// candle's error.
        source: candle_core::Error,
    },
}

impl Error {
    /// Wraps a candle error with the place it happened.
    pub fn tensor(context: impl Into<String>, source: candle_core::Error) -> Self {
        Error::Tensor {
            context: context.into(),
            source,
        }
    }
}

/// `Result` with nnsight's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A candle error in a trace's set-up code (the plain Rust around the statements).
impl From<candle_core::Error> for Error {
    fn from(source: candle_core::Error) -> Self {
        Error::tensor("trace set-up", source)
    }
}
