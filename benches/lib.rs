//! Criterion benchmarks; see the `[[bench]]` targets.
