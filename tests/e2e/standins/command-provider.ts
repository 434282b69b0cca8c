// Stand-in for the pulumi-command 1.2.1 resource plugin (`command:local:Command` only), for the
// end-to-end tests only: the real plugin cannot be built on this machine. Scope and gaps: ./README.md.
// "pc:" comments name the pulumi-command v1.2.1 file (provider/pkg/...) a behaviour mirrors; "gp:" ones
// name the pulumi-go-provider v1.3.0 file (its `infer` framework decides diff, secret and error handling).
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import { StringDecoder } from "string_decoder";
import * as grpc from "@grpc/grpc-js";
import { CheckFailure, CheckResult, CreateResult, main, Provider, UpdateResult } from "@pulumi/pulumi/provider";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import * as enggrpc from "@pulumi/pulumi/proto/engine_grpc_pb";

// ---------------------------------------------------------------------------------------------
// Property values as the Node provider server hands them over (Struct.toJavaScript).

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Props = Record<string, Json>;

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const COMMAND_TYPE = "command:local:Command";

const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
const isSecret = (v: Json | undefined): boolean => isObject(v) && v[SIG_KEY] === SECRET_SIG;
const hasValue = (v: Json | undefined): boolean => v !== undefined && v !== null;

/** The value with every secret wrapper removed. */
function reveal(v: Json): Json {
    if (isSecret(v)) return reveal((v as { [k: string]: Json }).value ?? null);
    if (Array.isArray(v)) return v.map(reveal);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    return v;
}

// pc: provider/pkg/provider/common/inputs.go (ResourceInputs) and local/base.go (BaseInputs): the input fields.
const INPUT_KEYS = ["triggers", "create", "update", "delete", "stdin", "logging", "interpreter", "dir", "environment",
    "assetPaths", "archivePaths", "addPreviousOutputInEnv"] as const;
const LOGGING = ["stdout", "stderr", "stdoutAndStderr", "none"]; // pc: local/logging.go

/** The inputs as the real provider decodes them (its input struct), secrets removed. */
interface Inputs {
    create?: string; update?: string; delete?: string; stdin?: string; logging?: string; dir?: string;
    interpreter?: string[]; environment?: Record<string, string>; addPreviousOutputInEnv?: boolean;
}

function decode(p: Props): Inputs {
    const r = reveal(p) as Props;
    const str = (k: string) => (typeof r[k] === "string" ? (r[k] as string) : undefined);
    const env = isObject(r.environment) ? Object.fromEntries(Object.entries(r.environment).map(([k, v]) => [k, String(v)])) : undefined;
    return {
        create: str("create"), update: str("update"), delete: str("delete"), stdin: str("stdin"), logging: str("logging"), dir: str("dir"),
        interpreter: Array.isArray(r.interpreter) ? r.interpreter.map(String) : undefined,
        environment: env,
        addPreviousOutputInEnv: typeof r.addPreviousOutputInEnv === "boolean" ? r.addPreviousOutputInEnv : undefined,
    };
}

/**
 * The state the real provider writes: the input fields as given (secret wrappers kept where they were;
 * gp: infer/resource.go markSecret returns an output that mirrors its input unchanged) plus stdout/stderr,
 * which are NOT made secret by a secret input (gp: infer/resource.go ensureDefaultSecrets only links
 * same-named fields, and pc: local/commandController.go declares no WireDependencies).
 */
function stateOf(inputs: Props, out: { stdout: string; stderr: string }): Props {
    const state: Props = {};
    for (const k of INPUT_KEYS) if (hasValue(inputs[k])) state[k] = inputs[k];
    state.stdout = out.stdout;
    state.stderr = out.stderr;
    return state;
}

// ---------------------------------------------------------------------------------------------
// Go formatting of errors (pc: local/commandOutputs.go run: fmt.Errorf("%w: running %q:\n%s", ...)).

/** Go's %q (strconv.Quote) for the strings a command line holds. */
function goQuote(s: string): string {
    let out = "\"";
    for (const ch of s) {
        const c = ch.codePointAt(0) ?? 0;
        if (ch === "\"" || ch === "\\") out += `\\${ch}`;
        else if (ch === "\n") out += "\\n";
        else if (ch === "\t") out += "\\t";
        else if (ch === "\r") out += "\\r";
        else if (c === 7) out += "\\a";
        else if (c === 8) out += "\\b";
        else if (c === 12) out += "\\f";
        else if (c === 11) out += "\\v";
        else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
        else if ((c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029 || c === 0xfeff) out += `\\u${c.toString(16).padStart(4, "0")}`;
        else out += ch;
    }
    return `${out}"`;
}

// Go's syscall signal names on Linux (os.ProcessState.String: "signal: <name>").
const GO_SIGNAL_NAMES: Record<string, string> = {
    SIGHUP: "hangup", SIGINT: "interrupt", SIGQUIT: "quit", SIGILL: "illegal instruction", SIGTRAP: "trace/breakpoint trap",
    SIGABRT: "aborted", SIGBUS: "bus error", SIGFPE: "floating point exception", SIGKILL: "killed",
    SIGUSR1: "user defined signal 1", SIGSEGV: "segmentation fault", SIGUSR2: "user defined signal 2",
    SIGPIPE: "broken pipe", SIGALRM: "alarm clock", SIGTERM: "terminated",
};

/** os/exec's error text for a finished process (exec.ExitError: "exit status N" / "signal: killed"). */
const exitText = (code: number | null, signal: NodeJS.Signals | null): string =>
    signal ? `signal: ${GO_SIGNAL_NAMES[signal] ?? signal}` : `exit status ${code ?? -1}`;

// ---------------------------------------------------------------------------------------------
// Logging to the engine (pc: util/util.go LogOutput: each line of the command's output is sent with
// the provider context's logger as InfoStatus, i.e. an *ephemeral* info message for the resource's URN;
// sdk go/pulumi/provider/host.go LogStatus = engine Log with ephemeral true).

let engineClient: enggrpc.EngineClient | undefined;
function engine(): enggrpc.EngineClient | undefined {
    if (engineClient) return engineClient;
    // The engine address is the plugin's first non-flag argument (as @pulumi/pulumi/provider/internals parseArgs).
    const args = process.argv.slice(2);
    let addr: string | undefined;
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--logtostderr" || args[i].startsWith("-v=")) continue;
        if (args[i] === "--tracing") { i++; continue; }
        addr = args[i];
        break;
    }
    if (!addr) return undefined;
    engineClient = new enggrpc.EngineClient(addr, grpc.credentials.createInsecure());
    return engineClient;
}

class LineLogger {
    private buf = "";
    private chain: Promise<void> = Promise.resolve();
    private readonly decoders = new Map<string, StringDecoder>();
    constructor(private readonly urn: string) {}

    write(stream: string, chunk: Buffer): void {
        let d = this.decoders.get(stream);
        if (!d) { d = new StringDecoder("utf8"); this.decoders.set(stream, d); }
        this.buf += d.write(chunk);
        for (let i = this.buf.indexOf("\n"); i >= 0; i = this.buf.indexOf("\n")) {
            this.emit(this.buf.slice(0, i));
            this.buf = this.buf.slice(i + 1);
        }
    }

    /** bufio.ScanLines: a last line without "\n" is still emitted; a trailing "\r" is dropped. */
    end(): Promise<void> {
        for (const d of this.decoders.values()) this.buf += d.end();
        if (this.buf !== "") this.emit(this.buf);
        this.buf = "";
        return this.chain;
    }

    private emit(line: string): void {
        const msg = line.endsWith("\r") ? line.slice(0, -1) : line;
        const client = engine();
        if (!client) return;
        const req = new engproto.LogRequest();
        req.setSeverity(engproto.LogSeverity.INFO);
        req.setMessage(msg);
        req.setUrn(this.urn);
        req.setEphemeral(true);
        // One at a time, in order, as LogOutput does; a failed log is dropped (the real one falls back to slog).
        this.chain = this.chain.then(() => new Promise<void>((resolve) => { client.log(req, () => resolve()); }));
    }
}

// ---------------------------------------------------------------------------------------------
// Running a command (pc: local/commandOutputs.go run).

interface Running { readonly child: ChildProcess; readonly closed: Promise<void> }
const running = new Set<Running>();
/** Set by the engine's Cancel: from then on every operation's context is already cancelled. */
let cancelled = false;

async function run(urn: string, command: string, inp: Inputs, prev: { stdout: string; stderr: string }, timeoutSec: number): Promise<{ stdout: string; stderr: string }> {
    const fail = (what: string, combined = ""): Error => new Error(`${what}: running ${goQuote(command)}:\n${combined}`);
    // gp: middleware/cancel/cancel.go: after Cancel every new context is cancelled at once, and
    // exec.Cmd.Start with a done context returns ctx.Err() without starting anything.
    if (cancelled) throw fail("context canceled");
    if (timeoutSec > 0 && Math.trunc(timeoutSec) === 0) throw fail("context deadline exceeded");

    // pc: local/commandOutputs.go: `interpreter` when non-empty, else /bin/sh -c; the command is the last argument.
    const args = inp.interpreter && inp.interpreter.length > 0 ? [...inp.interpreter, command] : ["/bin/sh", "-c", command];
    // pc: local/commandOutputs.go: `dir`, else the provider's working directory (os.Getwd).
    const cwd = inp.dir ?? process.cwd();
    // pc: local/commandOutputs.go: os.Environ() + `environment` (later entries win, exec dedups the env), then
    // PULUMI_COMMAND_STDOUT/STDERR from the previous create/update, only when addPreviousOutputInEnv is
    // unset or true AND the previous value is non-empty (so never on create: its previous outputs are empty).
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, inp.environment ?? {});
    if (inp.addPreviousOutputInEnv === undefined || inp.addPreviousOutputInEnv) {
        if (prev.stdout !== "") env.PULUMI_COMMAND_STDOUT = prev.stdout;
        if (prev.stderr !== "") env.PULUMI_COMMAND_STDERR = prev.stderr;
    }
    // Go reports a failed chdir in the forked child as a PathError on the program (os/exec Start).
    if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) throw fail(`fork/exec ${args[0]}: no such file or directory`);
    if (!args[0].includes("/") && !lookPath(args[0], env.PATH ?? "")) throw fail(`exec: ${goQuote(args[0])}: executable file not found in $PATH`);

    // pc: local/logging.go: logging unset = stdout and stderr; "stdout", "stderr", "stdoutAndStderr", "none".
    const logOut = inp.logging === undefined || inp.logging === "stdout" || inp.logging === "stdoutAndStderr";
    const logErr = inp.logging === undefined || inp.logging === "stderr" || inp.logging === "stdoutAndStderr";
    // pc: local/commandOutputs.go: stdin only when `stdin` is non-empty (otherwise /dev/null).
    const stdin = inp.stdin !== undefined && inp.stdin.length > 0 ? inp.stdin : undefined;

    // The command gets its own process group so the signal forwarding below reaches all of it exactly once
    // (the real provider leaves it in the plugin's group, which the engine signals as a whole; README).
    const child = spawn(args[0], args.slice(1), { cwd, env, stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const combined: Buffer[] = [];
    const logger = new LineLogger(urn);
    child.stdout?.on("data", (c: Buffer) => { out.push(c); combined.push(c); if (logOut) logger.write("stdout", c); });
    child.stderr?.on("data", (c: Buffer) => { err.push(c); combined.push(c); if (logErr) logger.write("stderr", c); });
    if (stdin !== undefined && child.stdin) {
        child.stdin.on("error", () => { /* EPIPE: the command did not read its stdin */ });
        child.stdin.end(stdin);
    }

    let spawnError: Error | undefined;
    // 'close' comes after the process exited AND its stdout/stderr were closed: like exec.Cmd.Wait, a
    // grandchild still holding them keeps the command "running".
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.on("error", (e) => { spawnError = e; });
        child.on("close", (code, signal) => resolve({ code, signal }));
    });
    const entry: Running = { child, closed: closed.then(() => undefined) };
    running.add(entry);
    // gp: middleware/cancel/cancel.go: a Create/Update/Delete timeout (customTimeouts) is the context deadline;
    // exec.CommandContext then kills the process (os.Process.Kill: SIGKILL to the direct child only).
    const timer = timeoutSec > 0 ? setTimeout(() => { child.kill("SIGKILL"); }, Math.trunc(timeoutSec) * 1000) : undefined;
    let result: { code: number | null; signal: NodeJS.Signals | null };
    try {
        result = await closed;
    } finally {
        if (timer) clearTimeout(timer);
        running.delete(entry);
    }
    await logger.end();
    const text = (bs: Buffer[]) => Buffer.concat(bs).toString("utf8");
    if (spawnError) throw fail(`fork/exec ${args[0]}: ${(spawnError as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : spawnError.message}`);
    if (result.code !== 0 || result.signal) throw fail(exitText(result.code, result.signal), text(combined));
    // pc: local/commandOutputs.go: strings.TrimSuffix(..., "\n"): exactly one trailing newline is removed.
    const trim = (s: string) => (s.endsWith("\n") ? s.slice(0, -1) : s);
    return { stdout: trim(text(out)), stderr: trim(text(err)) };
}

function lookPath(file: string, pathVar: string): boolean {
    for (const dir of pathVar.split(":")) {
        const p = path.join(dir === "" ? "." : dir, file);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            if (fs.statSync(p).isFile()) return true;
        } catch { /* next */ }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Diff (gp: infer/resource.go diff, with pulumi sdk resource/properties_diff.go ObjectDiff and
// resource/plugin/provider.go NewDetailedDiffFromObjectDiff): old inputs vs new inputs, one detailed-diff
// entry per changed leaf path ("create", "environment.FOO", "triggers[1]").

type Kind = provproto.PropertyDiff.Kind;
const K = provproto.PropertyDiff.Kind;
type Seg = string | number;

/** resource.PropertyPath.String(). */
function pathString(p: Seg[]): string {
    let s = "";
    p.forEach((seg, i) => {
        if (typeof seg === "number") { s += `[${seg}]`; return; }
        if (/^[A-Za-z0-9_]+$/.test(seg)) s += i === 0 ? seg : `.${seg}`;
        else s += `["${seg.replace(/"/g, "\\\"")}"]`;
    });
    return s;
}

/** PropertyValue.DeepEquals: secrets equal only to secrets with equal contents; nulls equal absent keys. */
function deepEquals(a: Json | undefined, b: Json | undefined): boolean {
    if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEquals(x, b[i]));
    if (isSecret(a) || isSecret(b)) return isSecret(a) && isSecret(b) && deepEquals((a as Props).value, (b as Props).value);
    if (isObject(a)) {
        if (!isObject(b)) return false;
        for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
            if (!(k in b) ? hasValue(a[k]) : !(k in a) ? hasValue(b[k]) : !deepEquals(a[k], b[k])) return false;
        }
        return true;
    }
    if (!hasValue(a) && !hasValue(b)) return true;
    return a === b;
}

const isPlainObject = (v: Json | undefined): v is { [k: string]: Json } => isObject(v) && !isSecret(v);

function diffValue(p: Seg[], o: Json, n: Json, acc: Map<string, Kind>): void {
    if (Array.isArray(o) && Array.isArray(n)) {
        for (let i = 0; i < Math.min(o.length, n.length); i++) if (!same(o[i], n[i])) diffValue([...p, i], o[i], n[i], acc);
        for (let i = o.length; i < n.length; i++) acc.set(pathString([...p, i]), K.ADD);
        for (let i = n.length; i < o.length; i++) acc.set(pathString([...p, i]), K.DELETE);
        return;
    }
    if (isPlainObject(o) && isPlainObject(n)) { diffMap(p, o, n, acc); return; }
    acc.set(pathString(p), !hasValue(o) && hasValue(n) ? K.ADD : hasValue(o) && !hasValue(n) ? K.DELETE : K.UPDATE);
}

/** Whether PropertyValue.diff finds no difference. */
function same(o: Json, n: Json): boolean {
    if (Array.isArray(o) && Array.isArray(n)) return o.length === n.length && o.every((x, i) => same(x, n[i]));
    if (isPlainObject(o) && isPlainObject(n)) { const m = new Map<string, Kind>(); diffMap([], o, n, m); return m.size === 0; }
    return deepEquals(o, n);
}

function diffMap(p: Seg[], olds: Props, news: Props, acc: Map<string, Kind>): void {
    for (const [k, o] of Object.entries(olds)) {
        if (k in news) {
            const n = news[k];
            if (same(o, n)) continue;
            if (!hasValue(o)) acc.set(pathString([...p, k]), K.ADD);
            else if (!hasValue(n)) acc.set(pathString([...p, k]), K.DELETE);
            else diffValue([...p, k], o, n, acc);
        } else if (hasValue(o)) acc.set(pathString([...p, k]), K.DELETE);
    }
    for (const [k, n] of Object.entries(news)) if (!(k in olds) && hasValue(n)) acc.set(pathString([...p, k]), K.ADD);
}

const AS_REPLACE: Partial<Record<Kind, Kind>> = { [K.ADD]: K.ADD_REPLACE, [K.DELETE]: K.DELETE_REPLACE, [K.UPDATE]: K.UPDATE_REPLACE };
const REPLACE_KINDS = new Set<Kind>([K.ADD_REPLACE, K.DELETE_REPLACE, K.UPDATE_REPLACE]);

function diffRequest(req: provproto.DiffRequest): provproto.DiffResponse {
    const state = (req.getOlds()?.toJavaScript() ?? {}) as Props;
    let news = (req.getNews()?.toJavaScript() ?? {}) as Props;
    // gp: infer/resource.go diff: ignoreChanges entries are copied from the state (top-level keys), and
    // "version" and "__"-prefixed inputs are dropped.
    for (const ig of req.getIgnorechangesList()) if (ig in state) news = { ...news, [ig]: state[ig] };
    news = Object.fromEntries(Object.entries(news).filter(([k]) => k !== "version" && !k.startsWith("__")));
    // gp: infer/resource.go diff: the engine's old inputs when it sends them, else the input fields of the state.
    const sentOld = req.getOldInputs()?.toJavaScript() as Props | undefined;
    const olds: Props = sentOld && Object.keys(sentOld).length > 0
        ? sentOld
        : Object.fromEntries(INPUT_KEYS.filter((k) => k in state).map((k) => [k, state[k]]));
    const detailed = new Map<string, Kind>();
    diffMap([], olds, news, detailed);
    // gp: infer/resource.go Diff: with a custom Update, only a property whose schema has replaceOnChanges is
    // forced to replace, looked up by the detailed-diff key itself: pc: common/inputs.go tags `triggers`, so
    // only a whole-`triggers` add/delete/type change is a replace here. Element changes ("triggers[0]") are
    // made replacements by the engine, from the SDK's resource option replaceOnChanges: ["triggers[*]"]
    // (@pulumi/command local/command.js) applied in step_generator.go applyReplaceOnChanges.
    for (const [k, kind] of detailed) if (k === "triggers" && AS_REPLACE[kind] !== undefined) detailed.set(k, AS_REPLACE[kind] as Kind);
    const resp = new provproto.DiffResponse();
    // gp: provider.go DiffResponse.rpc: changes, detailed diff, and the top-level keys as diffs/replaces.
    resp.setChanges(detailed.size > 0 ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
    const heads = (ks: string[]) => [...new Set(ks.map((k) => /^[A-Za-z0-9_]+/.exec(k)?.[0] ?? /^\["((?:[^"\\]|\\.)*)"\]/.exec(k)?.[1]?.replace(/\\"/g, "\"") ?? k))];
    resp.setDiffsList(heads([...detailed.keys()]));
    resp.setReplacesList(heads([...detailed].filter(([, kind]) => REPLACE_KINDS.has(kind)).map(([k]) => k)));
    const map = resp.getDetaileddiffMap();
    for (const [k, kind] of detailed) {
        const pd = new provproto.PropertyDiff();
        pd.setKind(kind);
        pd.setInputdiff(false);
        map.set(k, pd);
    }
    resp.setHasdetaileddiff(true);
    // gp: infer/resource.go diff leaves DeleteBeforeReplace unset: replacements are create-before-delete.
    resp.setDeletebeforereplace(false);
    return resp;
}

// ---------------------------------------------------------------------------------------------
// Check: the real one decodes the inputs into its struct (type errors are failures) and applies no defaults.

function checkInputs(news: Props): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const r = reveal(news) as Props;
    const known = (v: Json | undefined) => hasValue(v) && v !== UNKNOWN;
    for (const k of ["create", "update", "delete", "stdin", "dir", "logging"]) {
        if (known(r[k]) && typeof r[k] !== "string") failures.push({ property: k, reason: `${k}: expected a string` });
    }
    if (known(r.logging) && typeof r.logging === "string" && !LOGGING.includes(r.logging)) {
        failures.push({ property: "logging", reason: `logging: must be one of ${LOGGING.join(", ")}` });
    }
    if (known(r.interpreter) && !(Array.isArray(r.interpreter) && r.interpreter.every((x) => typeof x === "string"))) {
        failures.push({ property: "interpreter", reason: "interpreter: expected a list of strings" });
    }
    if (known(r.environment) && !(isObject(r.environment) && Object.values(r.environment).every((x) => typeof x === "string"))) {
        failures.push({ property: "environment", reason: "environment: expected a map of strings" });
    }
    if (known(r.addPreviousOutputInEnv) && typeof r.addPreviousOutputInEnv !== "boolean") {
        failures.push({ property: "addPreviousOutputInEnv", reason: "addPreviousOutputInEnv: expected a boolean" });
    }
    for (const k of ["assetPaths", "archivePaths"]) {
        if (hasValue(r[k])) failures.push({ property: k, reason: `${k}: not implemented by the command stand-in (tests/e2e/standins/README.md)` });
    }
    return failures;
}

// ---------------------------------------------------------------------------------------------
// The provider.

/** Per-URN request details the Node server does not pass on (timeout, preview), stashed by the gRPC wrapper. */
const requestInfo = new Map<string, { timeout: number; preview: boolean }>();
const infoFor = (op: string, urn: string) => requestInfo.get(`${op} ${urn}`) ?? { timeout: 0, preview: false };

const checkType = (urn: string): void => {
    const qualified = urn.split("::")[2] ?? "";
    const type = qualified.split("$").pop() ?? "";
    if (type !== COMMAND_TYPE) throw new Error(`command stand-in: resource type ${type} is not implemented`);
};

const provider: Provider = {
    version: "1.2.1",

    async check(urn: string, _olds: Props, news: Props): Promise<CheckResult> {
        checkType(urn);
        return { inputs: news, failures: checkInputs(news) };
    },

    async create(urn: string, inputs: Props): Promise<CreateResult> {
        checkType(urn);
        // pc: local/commandController.go Create: id = resource.NewUniqueHex(name, 8, 0) (name + 8 hex digits).
        const name = urn.split("::").pop() ?? "command";
        const id = name + randomBytes(4).toString("hex");
        const { timeout, preview } = infoFor("create", urn);
        const inp = decode(inputs);
        // pc: local/commandController.go Create: nothing runs in preview or without `create`.
        if (preview || inp.create === undefined) return { id, outs: stateOf(inputs, { stdout: "", stderr: "" }) };
        // A failure is a plain error (gp: infer/resource.go Create: only ResourceInitFailedError keeps partial
        // state), so the engine records nothing and the next `up` creates again.
        const out = await run(urn, inp.create, inp, { stdout: "", stderr: "" }, timeout);
        return { id, outs: stateOf(inputs, out) };
    },

    async update(_id: string, urn: string, olds: Props, news: Props): Promise<UpdateResult> {
        checkType(urn);
        const { timeout, preview } = infoFor("update", urn);
        const inp = decode(news);
        // pc: local/commandController.go Update: state = new inputs + the OLD stdout/stderr ...
        const prev = { stdout: typeof olds.stdout === "string" ? olds.stdout : "", stderr: typeof olds.stderr === "string" ? olds.stderr : "" };
        const cmd = inp.update ?? inp.create; // ... `update`, else `create` ...
        if (preview || cmd === undefined) return { outs: stateOf(news, prev) }; // ... nothing runs in preview or without either ...
        // ... and after a successful run stdout/stderr are the ones of the command just run (`update: "true"`
        // leaves stdout ""). A failed update is a plain error: the engine keeps the old state.
        const out = await run(urn, cmd, inp, prev, timeout);
        return { outs: stateOf(news, out) };
    },

    async delete(_id: string, urn: string, props: Props): Promise<void> {
        checkType(urn);
        // pc: local/commandController.go Delete: `delete` from the state (if any), with the state's environment,
        // dir, interpreter, stdin and logging, and its stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR.
        const inp = decode(props);
        if (inp.delete === undefined) return;
        const prev = { stdout: typeof props.stdout === "string" ? props.stdout : "", stderr: typeof props.stderr === "string" ? props.stderr : "" };
        await run(urn, inp.delete, inp, prev, infoFor("delete", urn).timeout);
    },

    // gp: middleware/cancel/cancel.go: Cancel cancels the context of every outstanding operation (and of every
    // later one); exec.CommandContext then calls os.Process.Kill: SIGKILL to the direct child (the shell) only.
    async cancel(): Promise<void> {
        cancelled = true;
        for (const r of running) r.child.kill("SIGKILL");
    },
};

/**
 * The Node provider server answers Diff with changes/replaces/deleteBeforeReplace only, passes neither old
 * inputs nor timeouts nor the preview flag to the provider, and answers Read without inputs. Wrap its gRPC
 * handlers: Diff is answered here in full (detailed diff, as the real plugin sends it), Read returns state
 * and inputs unchanged (pc: local/commandController.go has no Read; gp: infer/resource.go Read default), and
 * Create/Update/Delete record their timeout and preview flag for the provider methods.
 */
function wrapServer(): void {
    type Callback<T> = (err: unknown, resp?: T | null) => void;
    type Impl = Record<string, ((call: { request: never }, cb: Callback<unknown>) => unknown) | undefined>;
    const proto = grpc.Server.prototype as unknown as { addService: (service: unknown, impl: Impl) => void };
    const addService = proto.addService;
    proto.addService = function (this: unknown, service: unknown, impl: Impl) {
        impl.diff = (call: { request: provproto.DiffRequest }, cb: Callback<provproto.DiffResponse>) => {
            try {
                cb(null, diffRequest(call.request));
            } catch (e) {
                cb(e);
            }
        };
        impl.read = (call: { request: provproto.ReadRequest }, cb: Callback<provproto.ReadResponse>) => {
            const resp = new provproto.ReadResponse();
            resp.setId(call.request.getId());
            resp.setProperties(call.request.getProperties());
            const inputs = call.request.getInputs();
            if (inputs) resp.setInputs(inputs);
            cb(null, resp);
        };
        for (const op of ["create", "update", "delete"] as const) {
            const inner = impl[op]?.bind(impl);
            if (!inner) continue;
            impl[op] = (call: { request: provproto.CreateRequest | provproto.UpdateRequest | provproto.DeleteRequest }, cb: Callback<unknown>) => {
                const r = call.request;
                const preview = "getPreview" in r ? r.getPreview() : false;
                const key = `${op} ${r.getUrn()}`;
                requestInfo.set(key, { timeout: r.getTimeout(), preview });
                return inner(call as { request: never }, (err, resp) => { requestInfo.delete(key); cb(err, resp); });
            };
        }
        return addService.call(this, service, impl);
    };
}

/**
 * SIGINT/SIGTERM to the provider: the real (Go) plugin has no handler and dies at once, and its commands,
 * which share its process group, get the signal too when the engine signals the group (sdk
 * go/common/resource/plugin/plugin.go kill: SIGINT to the group, SIGKILL 5 s later). Here each command has
 * its own group, so: forward the signal to every running command's group, SIGKILL them after 4.5 s if still
 * running (the engine's SIGKILL would have reached them), wait for them, then die of the same signal.
 */
function forwardSignals(): void {
    let handling = false;
    const handler = (sig: NodeJS.Signals) => {
        if (handling) return;
        handling = true;
        cancelled = true;
        const kill = (s: NodeJS.Signals) => {
            for (const r of running) if (r.child.pid) { try { process.kill(-r.child.pid, s); } catch { /* gone */ } }
        };
        kill(sig);
        const escalate = setTimeout(() => kill("SIGKILL"), 4500);
        void Promise.all([...running].map((r) => r.closed)).then(() => {
            clearTimeout(escalate);
            process.removeAllListeners(sig);
            process.kill(process.pid, sig);
        });
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
}

// Exported for unit use only; the plugin entry point is the block below.
export const internals = { goQuote, pathString, diffRequest, exitText };

if (require.main === module) {
    wrapServer();
    forwardSignals();
    void main(provider, process.argv.slice(2));
}
