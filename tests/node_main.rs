//! `fengxin-node`, built inside the end-to-end test package.

fn main() -> std::process::ExitCode {
    fengxin_node::cli::main()
}
