//! `wasi:cli/environment`: arguments, environment variables and the initial working
//! directory, from [`HostConfig`](crate::HostConfig).

use crate::abi::{self, Lowered};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

fn get_environment(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let retptr = abi::arg_u32(args, 0)?;
    abi::check_align(retptr, 4, "retptr")?;
    let list = abi::lower_string_pairs(memory, &host.config.env, "environment list")?;
    Lowered::new(8, 4)
        .ptr_len(0, list)
        .store(memory, retptr, "retptr")?;
    Ok(0)
}

fn get_arguments(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let retptr = abi::arg_u32(args, 0)?;
    abi::check_align(retptr, 4, "retptr")?;
    let list = abi::lower_strings(memory, &host.config.args, "arguments list")?;
    Lowered::new(8, 4)
        .ptr_len(0, list)
        .store(memory, retptr, "retptr")?;
    Ok(0)
}

fn initial_cwd(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let retptr = abi::arg_u32(args, 0)?;
    abi::check_align(retptr, 4, "retptr")?;
    // option<string>: tag u8 @0, ptr @4, len @8.
    let mut ret = Lowered::new(12, 4);
    if let Some(cwd) = &host.config.cwd {
        let string = abi::lower_string(memory, cwd, "initial-cwd string")?;
        ret.u8(0, 1).ptr_len(4, string);
    }
    ret.store(memory, retptr, "retptr")?;
    Ok(0)
}

/// `wasi:cli/environment`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:cli/environment",
    funcs: &[
        FuncDef::new("get-environment", &[I32], &[], get_environment),
        FuncDef::new("get-arguments", &[I32], &[], get_arguments),
        FuncDef::new("initial-cwd", &[I32], &[], initial_cwd),
    ],
};

#[cfg(test)]
mod tests {
    use crate::abi::{self, chunks};
    use crate::testing::{call, FakePlatform};
    use crate::{Host, HostConfig, VecMemory};

    const ENV: &str = "wasi:cli/environment@0.2.0";

    fn host(config: HostConfig) -> (Host, VecMemory) {
        let host = Host::new(config, Box::new(FakePlatform::new())).unwrap();
        (host, VecMemory::new(1 << 16))
    }

    fn strings_at(memory: &VecMemory, retptr: u32, elem: u32) -> Vec<String> {
        let ret = abi::load_record(memory, retptr, 8, 4, "ret").unwrap();
        let raw = abi::lift_list(
            memory,
            ret.u32(0).unwrap(),
            ret.u32(4).unwrap(),
            elem,
            4,
            "l",
        )
        .unwrap();
        let mut out = Vec::new();
        for e in chunks(raw, elem) {
            for o in (0..elem).step_by(8) {
                out.push(
                    abi::lift_string(memory, e.u32(o).unwrap(), e.u32(o + 4).unwrap(), "s")
                        .unwrap(),
                );
            }
        }
        out
    }

    #[test]
    fn arguments_environment_and_cwd_lower_as_configured() {
        let mut config = HostConfig::new("app.wasm");
        config.args.push("--flag=ü".into());
        config.env = vec![("PWD".into(), "/".into()), ("EMPTY".into(), String::new())];
        config.cwd = Some("/home/go".into());
        let (mut host, mut memory) = host(config);
        call(&mut host, &mut memory, ENV, "get-arguments", &[0x10]).unwrap();
        assert_eq!(strings_at(&memory, 0x10, 8), ["app.wasm", "--flag=ü"]);
        call(&mut host, &mut memory, ENV, "get-environment", &[0x20]).unwrap();
        assert_eq!(strings_at(&memory, 0x20, 16), ["PWD", "/", "EMPTY", ""]);
        call(&mut host, &mut memory, ENV, "initial-cwd", &[0x30]).unwrap();
        let ret = abi::load_record(&memory, 0x30, 12, 4, "ret").unwrap();
        assert_eq!(ret.u8(0).unwrap(), 1);
        let cwd = abi::lift_string(&memory, ret.u32(4).unwrap(), ret.u32(8).unwrap(), "s").unwrap();
        assert_eq!(cwd, "/home/go");
    }

    #[test]
    fn no_cwd_is_none_and_empty_lists_are_empty() {
        let (mut host, mut memory) = host(HostConfig::default());
        memory.bytes[0x30] = 0xaa; // proves the tag is written
        call(&mut host, &mut memory, ENV, "initial-cwd", &[0x30]).unwrap();
        assert_eq!(memory.bytes[0x30], 0);
        call(&mut host, &mut memory, ENV, "get-arguments", &[0x10]).unwrap();
        assert!(strings_at(&memory, 0x10, 8).is_empty());
        let err = call(&mut host, &mut memory, ENV, "get-environment", &[0x11]).unwrap_err();
        assert!(err.to_string().starts_with("misaligned retptr"), "{err}");
    }
}
