//! `fengxin-node`: the member's daemon and operator tool.

fn main() -> std::process::ExitCode {
    fengxin_node::cli::main()
}
