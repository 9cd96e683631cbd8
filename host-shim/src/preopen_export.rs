//! Write-back preopens (issue #12): what the init message says about each preopen, and, when
//! the guest has ended, its trees handed to the embedder's server before the end is posted.
//!
//! The upload is a synchronous `XMLHttpRequest` from this worker: the guest is over, so
//! blocking the wasm thread costs nothing, and the page learns of the end only once the
//! server has the trees (`pollscope run` applies them when the exit report arrives).

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect, Uint8Array};
use pollscope_protocol::worker::PreopenSpec;
use pollscope_wasi::Preopen;
use wasm_bindgen::{JsCast, JsValue};

use crate::messages::{self, Js};
use crate::{dispatch, js_error_message};

thread_local! {
    /// The write-back URL of this run's init message, if any preopen asked for one.
    static WRITE_BACK_URL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The host's preopens for the init message's, remembering where write-back goes.
pub(crate) fn preopens(specs: &[PreopenSpec]) -> Vec<Preopen> {
    WRITE_BACK_URL.with(|url| *url.borrow_mut() = write_back_url(specs));
    specs.iter().map(preopen).collect()
}

/// When the guest has ended (exit or trap): uploads the write-back trees if the init asked,
/// saying on the page's trace when that failed (the embedder then reports that nothing came).
pub(crate) fn write_back() {
    let Some(url) = WRITE_BACK_URL.with(|url| url.borrow_mut().take()) else {
        return;
    };
    if let Err(why) = upload(&url) {
        let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let what = format!("preopen write-back failed: {why}");
        messages::post(
            &scope,
            &pollscope_protocol::worker::FromWasmThread::<Js>::Trace { what },
            &[],
        );
    }
}

/// The host's preopen for one init entry.
fn preopen(spec: &PreopenSpec) -> Preopen {
    match spec {
        PreopenSpec::Path(path) => Preopen::scratch(path),
        PreopenSpec::Dir {
            name,
            path,
            writable,
            write_back_url,
            symlinks,
        } => Preopen {
            name: name.clone(),
            path: path.clone(),
            writable: *writable,
            write_back: write_back_url.is_some(),
            symlinks: symlinks.clone(),
        },
    }
}

/// Where the trees go, when any preopen asks for write-back (they share one URL: the export
/// holds every such tree).
fn write_back_url(specs: &[PreopenSpec]) -> Option<String> {
    specs.iter().find_map(|spec| match spec {
        PreopenSpec::Dir { write_back_url, .. } => write_back_url.clone(),
        PreopenSpec::Path(_) => None,
    })
}

/// POSTs the write-back trees to `url` and waits for the answer. Fails with why (the embedder
/// says what was not written back: it got nothing).
fn upload(url: &str) -> Result<(), String> {
    let bytes = dispatch::with_state(|state| state.host.export_preopens())
        .ok_or("the guest's host is gone")?;
    let js = |err: JsValue| js_error_message(&err);
    let ctor: Function = Reflect::get(&js_sys::global(), &"XMLHttpRequest".into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "no XMLHttpRequest in this worker".to_string())?;
    let request = Reflect::construct(&ctor, &Array::new()).map_err(js)?;
    let call = |method: &str, args: &[JsValue]| -> Result<JsValue, String> {
        let func: Function = Reflect::get(&request, &method.into())
            .map_err(js)?
            .dyn_into()
            .map_err(|_| format!("XMLHttpRequest.{method} is not a function"))?;
        func.apply(&request, &args.iter().collect::<Array>())
            .map_err(js)
    };
    // `false`: synchronous, allowed in workers.
    call("open", &["POST".into(), url.into(), false.into()])?;
    call("send", &[Uint8Array::from(bytes.as_slice()).into()])?;
    let status = Reflect::get(&request, &"status".into())
        .ok()
        .and_then(|status| status.as_f64())
        .unwrap_or(0.0);
    if (200.0..300.0).contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "the server answered {status} to the preopens' write-back"
        ))
    }
}
