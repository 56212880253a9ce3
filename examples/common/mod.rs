//! Command-line handling shared by the examples: `--name value` flags, nothing more.

use std::collections::HashMap;

/// Parsed `--flag value` pairs.
pub struct Args(HashMap<String, String>);

impl Args {
    /// Reads `std::env::args()`; `known` lists the flags the example takes.
    pub fn parse(known: &[&str], usage: &str) -> Args {
        let mut map = HashMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let name = flag.trim_start_matches("--");
            if flag == "--help" || flag == "-h" || !flag.starts_with("--") || !known.contains(&name)
            {
                eprintln!("usage: {usage}");
                std::process::exit(if flag == "--help" || flag == "-h" {
                    0
                } else {
                    2
                });
            }
            let Some(value) = it.next() else {
                eprintln!("{flag} needs a value\nusage: {usage}");
                std::process::exit(2);
            };
            map.insert(name.to_string(), value);
        }
        Args(map)
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}
