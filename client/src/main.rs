//! `fengxin`: the CLI for risk teams and regulators.
fn main() {}
