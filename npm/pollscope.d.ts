// Types of `pollscope.js`, the page-side loader: everything it exports. The package's test
// (xtask/tests/npm_package.rs) holds them to the loader's real exports, the options it reads
// and the members of the handle it returns, so a change there needs its type here.

/** A WASI 0.2 command component: its bytes, a URL to fetch them from, or a Response (or the
 * promise `fetch` gives). A body still arriving is read as it streams, each core module
 * compiling while its bytes come. */
export type ComponentSource = string | URL | Uint8Array | ArrayBuffer | Response | Promise<Response>;

/** Contents of a file in the guest's in-memory filesystem: text (as UTF-8) or bytes. */
export type FileContents = string | ArrayBuffer | ArrayLike<number>;

/** A preopened directory: a guest path (an in-memory scratch directory placed there), or in full. */
export type Preopen = string | PreopenDir;

/** A preopened directory described in full (what `pollscope run --dir` hands the loader). */
export interface PreopenDir {
  /** The name `get-directories` gives the guest (`/data`, `.`). */
  name: string;
  /** Where its tree lives among the configured paths (`dirs`, `files`). */
  path: string;
  /** `false`: every change through it fails with `not-permitted` (default `true`). */
  writable?: boolean;
  /** Where the wasm thread POSTs the encoded tree of this preopen when the guest ends. */
  writeBackUrl?: string;
}

/** What `startComponent` takes besides the component. Every field is optional. */
export interface StartOptions {
  /** `wasi:cli/environment.get-arguments`, program name first (default `["app.wasm"]`). */
  args?: string[];
  /** The guest's environment variables. */
  env?: Record<string, string>;
  /** Files created in the guest's filesystem before it starts, by absolute guest path. */
  files?: Record<string, FileContents>;
  /** Directories created before the guest starts (absolute guest paths). */
  dirs?: string[];
  /** The preopened directories (default `["/"]`: one in-memory scratch root). */
  preopens?: Preopen[];
  /** `initial-cwd` (default `"/"`; null: none, as wasmtime gives with `--dir`). */
  cwd?: string | null;
  /** Bytes the guest wrote to stdout (default: `console.log` of the text). */
  onStdout?: (bytes: Uint8Array) => void;
  /** Bytes the guest wrote to stderr (default: `console.error` of the text). */
  onStderr?: (bytes: Uint8Array) => void;
  /**
   * `onStdout` and `onStderr` get views of one reused buffer, valid only until the handler
   * returns (decode or copy what you keep), instead of a fresh buffer per chunk: for programs
   * that write a lot, a fresh buffer's page faults cost about as much as the copy.
   */
  borrowOutput?: boolean;
  /**
   * Each `FromWasm` message, parsed: while subscribed (`GuestHandle.subscribe`) `hello`,
   * `snapshot`, `events`, the guest's `output`, and for TinyGo programs `scheduler` and
   * `asyncify`; always how the guest ended (`exit`, `trap`) and a broken ring (`ring-error`).
   */
  onTelemetry?: (message: TelemetryMessage) => void;
  /** Each message of `onTelemetry` with its JSON text beside it (what a panel decodes). */
  onFromWasm?: (json: string, message: TelemetryMessage) => void;
  /** A run is about to start again (`restart()`, or a panel's Restart). */
  onRestart?: () => void;
  /** Start-up milestones (component fetched, wasm worker started, shim compiled, shim loaded, core modules compiled and received, translated, instantiated). */
  onTrace?: (what: string) => void;
  /** The event ring broke (said once): the guest's stdin was closed, commands no longer reach it. */
  onRingError?: (reason: string) => void;
  /** Every raw message of the wasm worker (low level: for tools built on the loader). */
  onMessage?: (data: unknown) => void;
  /** `false` runs the guest with no telemetry recording at all (default `true`). */
  telemetry?: boolean;
  /** Record a TinyGo program's task switches for the asyncify view (the module is rewritten at load). */
  asyncifyRecorder?: boolean;
  /** Bytes of packet data in the event ring, a power of two (default `DEFAULT_RING_CAPACITY`). */
  ringCapacity?: number;
  /** Where the workers and the shim's wasm are (default: beside `pollscope.js` itself). */
  baseUrl?: string | URL;
}

/** A parsed `FromWasm` message of the telemetry protocol (`pollscope-protocol`). */
export interface TelemetryMessage {
  /** The protocol version (1). */
  v: number;
  type:
    | "hello"
    | "snapshot"
    | "events"
    | "output"
    | "exit"
    | "trap"
    | "scheduler"
    | "asyncify"
    | "ring-error"
    | (string & {});
  [field: string]: unknown;
}

/** The event ring's counters (`ringSnapshot()`), read without stopping the guest. */
export interface RingSnapshot {
  capacity: number;
  /** Largest packet, bytes. */
  mtu: number;
  used: number;
  highWater: number;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Times the producer found the ring full (backpressure; nothing is dropped). */
  stalls: number;
  /** Bytes waiting in the event thread for room in the ring. */
  backlog: number;
}

/** One stack frame of a trap, symbolized from the name section (and DWARF for TinyGo). */
export interface TrapFrame {
  name?: string | null;
  /** Function index within its module. */
  func?: number | null;
  /** Byte offset within its module. */
  offset?: number | null;
  /** Source file (a TinyGo program's Go file). */
  file?: string | null;
  /** 1-based source line, with `file`. */
  line?: number | null;
}

/** Why a guest trapped. */
export interface Trap {
  message: string;
  frames: TrapFrame[] | null;
}

/** How a run ended (`GuestHandle.done`). */
export interface Outcome {
  /** The guest's exit code; 134 after a trap, 137 after `terminate()`, null for a run ended by `restart()`. */
  exitCode: number | null;
  /** Set when the guest trapped. */
  trap?: Trap;
  /** The ring's final counters (null when they could not be read). */
  ring?: RingSnapshot | null;
  /** Set when the event ring broke during the run (see `StartOptions.onRingError`). */
  ringError?: string;
  /** This run was ended by `restart()`; the handle's `done` is the new run's. */
  restarted?: boolean;
  /** This run was ended by `terminate()`. */
  terminated?: boolean;
}

/** A running guest. Commands sent after it ended do nothing. */
export interface GuestHandle {
  /**
   * Resolves when the run ends; rejects (an `Error`) when the component cannot be loaded or
   * the page is not cross-origin isolated. After `restart()` it is the new run's.
   */
  readonly done: Promise<Outcome>;
  /** Resolves once the bytes are in the ring (backpressure); any size, in order. */
  writeStdin(data: string | ArrayBuffer | ArrayLike<number>): Promise<void>;
  /** The guest's stdin reaches end-of-file after what was written. */
  closeStdin(): void;
  /** Stops the guest at its next host call or wait. */
  pause(): void;
  /** Lets a paused guest go on. */
  resume(): void;
  /** Lets a paused guest run to its next wait, perform it, and pause before the one after. */
  step(): void;
  /** The guest's clocks run at `scale` × real time (0.1–10). */
  setTimeScale(scale: number): void;
  /**
   * Telemetry to `onTelemetry`; with `detail`, every wait, host call, pollable change and ring
   * sample; with `replay`, the newest 64 KiB of output written before first.
   */
  subscribe(options?: { detail?: boolean; replay?: boolean }): void;
  unsubscribe(): void;
  /** A panel's command, protocol JSON text (a `ToWasm`), checked by the event thread. */
  panelCommand(json: string): void;
  /** Asks for one more `snapshot` message (sent after the guest's current host call). */
  snapshot(): void;
  /** Chrome trace-event JSON (Perfetto, chrome://tracing) of the waits and host calls received so far. */
  exportTrace(): Promise<string>;
  /** The ring's counters now; null once the guest has ended. */
  ringSnapshot(): Promise<RingSnapshot | null>;
  /**
   * Ends the guest at its next host call or wait as an `interrupted` trap, so `done` still says
   * how it ended (after what it wrote to write-back preopens went out); a guest computing without
   * host calls goes on (`terminate()` ends it regardless).
   */
  stop(): void;
  /** Stops the guest; `done` resolves with `{ exitCode: 137, terminated: true }`. */
  terminate(): void;
  /** Starts the same bytes again with fresh workers and the options updated by `changes`. */
  restart(changes?: Partial<StartOptions>): GuestHandle;
}

/** Default ring capacity (bytes of packet data, a power of two). */
export declare const DEFAULT_RING_CAPACITY: number;
/** `writeStdin` hands the event thread at most this many bytes per message. */
export declare const STDIN_CHUNK: number;
/** …and keeps at most this many bytes handed over but not yet in the ring. */
export declare const STDIN_IN_FLIGHT: number;
/**
 * The CacheStorage cache where the loader keeps, per component and shim build (both by
 * SHA-256), the component's translation, so a reload of the same bytes starts without parsing
 * them; `caches.delete(START_CACHE)` empties it.
 */
export declare const START_CACHE: string;

/** What the page needs for SharedArrayBuffer, or null when it has it (cross-origin isolated). */
export declare function isolationProblem(): string | null;

/** Starts `source` in two Web Workers; the page must be cross-origin isolated. */
export declare function startComponent(source: ComponentSource, options?: StartOptions): GuestHandle;

/** Runs `source` to its end: `startComponent(source, options).done`. */
export declare function runComponent(source: ComponentSource, options?: StartOptions): Promise<Outcome>;
