//! `wasi:clocks/monotonic-clock`: `now`, `resolution` and timer pollables whose absolute
//! deadline is fixed when they are made.

use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::io::pollable::{push_pollable, PollableKind};
use crate::{GuestMemory, Host, Trap};

fn now(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
    Ok(host.platform.monotonic_now() as i64)
}

fn resolution(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
    Ok(host.platform.monotonic_resolution() as i64)
}

fn subscribe_instant(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let deadline = abi::arg_u64(args, 0)?;
    let created_by = "wasi:clocks/monotonic-clock#subscribe-instant";
    Ok(i64::from(push_pollable(
        host,
        PollableKind::Timer { deadline },
        None,
        created_by,
    )?))
}

fn subscribe_duration(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    // Saturating: a huge duration means "never", not a deadline wrapped into the past.
    let deadline = host
        .platform
        .monotonic_now()
        .saturating_add(abi::arg_u64(args, 0)?);
    let created_by = "wasi:clocks/monotonic-clock#subscribe-duration";
    Ok(i64::from(push_pollable(
        host,
        PollableKind::Timer { deadline },
        None,
        created_by,
    )?))
}

/// `wasi:clocks/monotonic-clock`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:clocks/monotonic-clock",
    funcs: &[
        FuncDef::new("now", &[], &[I64], now),
        FuncDef::new("resolution", &[], &[I64], resolution),
        FuncDef::new("subscribe-instant", &[I64], &[I32], subscribe_instant),
        FuncDef::new("subscribe-duration", &[I64], &[I32], subscribe_duration),
    ],
};

#[cfg(test)]
mod tests {
    use crate::io::pollable::{Pollable, PollableKind};
    use crate::testing::{call, host_with, FakePlatform};

    const CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.3";

    #[test]
    fn now_follows_the_platform_and_deadlines_are_absolute() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        fake.advance(123_456);
        assert_eq!(
            call(&mut host, &mut memory, CLOCK, "now", &[]).unwrap(),
            123_456
        );
        assert_eq!(
            call(&mut host, &mut memory, CLOCK, "resolution", &[]).unwrap(),
            5_000
        );
        let d = call(
            &mut host,
            &mut memory,
            CLOCK,
            "subscribe-duration",
            &[1_000],
        )
        .unwrap();
        let i = call(&mut host, &mut memory, CLOCK, "subscribe-instant", &[-1]).unwrap();
        fake.advance(500); // later clock reads do not move a deadline fixed at subscribe
        let kind = |h: i64| host.table.get::<Pollable>(h as u32).unwrap().kind;
        assert_eq!(kind(d), PollableKind::Timer { deadline: 124_456 });
        assert_eq!(kind(i), PollableKind::Timer { deadline: u64::MAX });
    }
}
