// Runs the docker CLI (and other tools such as zstd) by argv, never through a shell string, so no
// name or path is ever re-parsed. DOCKER_HOST comes from the environment: a remote ssh:// host
// works the same as the local socket (docs/hooks-cli.md, "Conventions").
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import { Readable, Writable } from "stream";
import { onInterrupt } from "./interrupt";
import { helperImageSetting } from "./settings";

export interface RunOptions {
    /** Small input written to stdin, then stdin is closed. Default: stdin is /dev/null. */
    readonly input?: string | Buffer;
    /** A file streamed to stdin (data never passes through memory as a whole). */
    readonly stdinFile?: string;
    /** A file that receives stdout (then stdout is not captured). */
    readonly stdoutFile?: string;
    /** Reject with a ProcessError on a non-zero exit. Default true. */
    readonly check?: boolean;
    /** Extra environment over process.env. */
    readonly env?: NodeJS.ProcessEnv;
    /** Kill the process (SIGKILL) after this many milliseconds. Default: no limit. */
    readonly timeoutMs?: number;
    /** Also copy the command's stderr to ours, live (for long tools whose messages help). */
    readonly echoStderr?: boolean;
}

export interface RunResult {
    readonly stdout: string;
    readonly stderr: string;
    readonly code: number;
}

/** A command failed: the message names it and ends with its stderr tail, scrubbed of secrets. */
export class ProcessError extends Error {
    constructor(
        readonly command: string,
        readonly args: readonly string[],
        readonly code: number | null,
        readonly stderr: string,
        readonly signal: NodeJS.Signals | null = null,
    ) {
        const how = signal ? `killed by ${signal}` : `exit ${code}`;
        const tail = lastLines(stderr, 6);
        super(scrubSecrets(`${describe(command, args)} failed (${how})${tail ? `: ${tail}` : ""}`));
        this.name = "ProcessError";
    }
}

// Captured stdout is for small answers (inspect, du); a bigger one is a bug, not data to hold.
const MAX_CAPTURE = 16 * 1024 * 1024;
const STDERR_TAIL = 64 * 1024;

/** Runs `docker ARGS...` and resolves to its output; rejects on failure unless check is false. */
export function docker(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run("docker", args, opts);
}

/** Runs any program the same way as docker(). */
export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const s = startProcess(command, args, {
        ...opts,
        stdin: opts.input !== undefined || opts.stdinFile ? "pipe" : "ignore",
    });
    if (opts.input !== undefined) s.stdin!.end(opts.input);
    else if (opts.stdinFile) {
        fs.createReadStream(opts.stdinFile)
            .on("error", (e) => {
                s.fail(e);
                s.child.kill("SIGKILL");
            })
            .pipe(s.stdin!);
    }
    let out: Buffer[] = [];
    let outLen = 0;
    let sink: fs.WriteStream | undefined;
    if (opts.stdoutFile) {
        sink = fs.createWriteStream(opts.stdoutFile);
        s.stdout!.pipe(sink);
    } else {
        s.stdout!.on("data", (b: Buffer) => {
            outLen += b.length;
            if (outLen <= MAX_CAPTURE) out.push(b);
        });
    }
    const done = s.done.then(async (r) => {
        if (sink && !sink.closed) await new Promise<void>((res, rej) => sink!.on("close", res).on("error", rej));
        const stdout = Buffer.concat(out).toString("utf8");
        out = [];
        return { ...r, stdout };
    });
    return done;
}

export interface Streaming {
    readonly child: ChildProcess;
    /** The command's stdin when `stdin: "pipe"` was asked for. */
    readonly stdin: Writable | null;
    /** The command's stdout, to be consumed by the caller (not captured). */
    readonly stdout: Readable | null;
    /** Settles when the process exits: resolves with its stderr, rejects (check) on failure. */
    readonly done: Promise<RunResult>;
    /** Marks the run failed with a reason of ours (e.g. a pipe error); done rejects with it. */
    fail(err: Error): void;
}

export interface StreamOptions extends Omit<RunOptions, "input" | "stdinFile" | "stdoutFile"> {
    /** "pipe" to write to the command's stdin; default "ignore". */
    readonly stdin?: "pipe" | "ignore";
    /** "pipe" (default) to read stdout; "ignore" to discard it. */
    readonly stdout?: "pipe" | "ignore";
}

/** Starts `docker ARGS...` with streaming stdin/stdout (large data); stderr is kept as a tail. */
export function dockerStream(args: readonly string[], opts: StreamOptions = {}): Streaming {
    return startProcess("docker", args, opts);
}

/** Starts any program with streaming stdin/stdout, as dockerStream(). */
export function startProcess(command: string, args: readonly string[], opts: StreamOptions = {}): Streaming {
    const child = spawn(command, [...args], {
        env: { ...process.env, ...opts.env },
        stdio: [opts.stdin ?? "ignore", opts.stdout ?? "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (s: string) => {
        stderr = (stderr + s).slice(-STDERR_TAIL);
        if (opts.echoStderr) process.stderr.write(scrubSecrets(s));
    });
    // A consumer that stops reading (e.g. the process died) must not crash us with EPIPE.
    child.stdin?.on("error", () => undefined);
    let failure: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs)
        timer = setTimeout(() => {
            failure ??= new Error(`${describe(command, args)} timed out after ${opts.timeoutMs} ms`);
            child.kill("SIGKILL");
        }, opts.timeoutMs);
    const done = new Promise<RunResult>((resolve, reject) => {
        child.on("error", (e) => {
            failure ??= new Error(scrubSecrets(`${command}: ${e.message}`));
        });
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            if (failure) return reject(failure);
            const r = { stdout: "", stderr, code: code ?? 128 };
            if ((code !== 0 || signal) && opts.check !== false)
                return reject(new ProcessError(command, args, code, stderr, signal));
            resolve(r);
        });
    });
    // Callers await done, often after other steps failed first: a late rejection is not a crash.
    done.catch(() => undefined);
    return {
        child,
        stdin: child.stdin,
        stdout: child.stdout,
        done,
        fail(err: Error) {
            failure ??= err;
        },
    };
}

/** `docker volume inspect`: true when the volume exists. */
export async function volumeExists(name: string): Promise<boolean> {
    const r = await docker(["volume", "inspect", "--format", "{{.Name}}", name], { check: false });
    return r.code === 0;
}

export interface ContainerState {
    /** created, running, paused, restarting, removing, exited, dead */
    readonly status: string;
    /** healthy, unhealthy, starting; "" when the container has no healthcheck. */
    readonly health: string;
}

/** The container's state, or undefined when there is no such container. */
export async function containerState(name: string): Promise<ContainerState | undefined> {
    const r = await docker(
        [
            "container",
            "inspect",
            "--format",
            "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
            name,
        ],
        { check: false },
    );
    if (r.code !== 0) {
        if (/no such (object|container)/i.test(r.stderr)) return undefined;
        throw new ProcessError("docker", ["container", "inspect", name], r.code, r.stderr);
    }
    const [status, health = ""] = r.stdout.trim().split(/\s+/);
    return { status, health };
}

/** A container runs and is healthy, or runs and has no healthcheck. */
export const isServing = (st: ContainerState): boolean =>
    st.status === "running" && (st.health === "" || st.health === "healthy");

/**
 * Polls (every second) until the container serves or `deadline` (ms since epoch) passes. Gives up
 * at once when it is missing, exited or dead. Returns the last state seen when it does not serve
 * (undefined: no such container); `onWaiting` sees each state that is not serving yet.
 */
export async function waitServing(
    name: string,
    deadline: number,
    onWaiting?: (st: ContainerState) => void,
): Promise<{ serving: true } | { serving: false; state?: ContainerState }> {
    for (;;) {
        const st = await containerState(name);
        if (!st) return { serving: false };
        if (isServing(st)) return { serving: true };
        if (st.status === "exited" || st.status === "dead" || Date.now() >= deadline)
            return { serving: false, state: st };
        onWaiting?.(st);
        await new Promise((r) => setTimeout(r, 1000));
    }
}

// Docker's default 10 s grace would SIGKILL a busy database; a crash recovery is the last thing
// wanted right before its data is copied.
export const STOP_GRACE_SECONDS = 120;

/** `docker stop` with a grace period long enough for a database to shut down cleanly. */
export async function stopContainer(name: string): Promise<void> {
    await docker(["stop", "--time", String(STOP_GRACE_SECONDS), name]);
}

/**
 * `docker start`, the one start of a container the hooks make: resolves to why it failed (docker's
 * last error line), or undefined once started. It never throws, and every caller reports a failure
 * (a writer that does not come back is never silent).
 */
export async function startContainer(name: string): Promise<string | undefined> {
    const r = await docker(["start", name], { check: false });
    return r.code === 0 ? undefined : r.stderr.trim().split("\n").pop() || `docker start exited ${r.code}`;
}

/** The helper image for short-lived tar/zstd containers: flag, then UPSHIFT_HELPER_IMAGE, then alpine. */
export function helperImage(flag?: string): string {
    return flag || helperImageSetting() || "alpine:3.20";
}

/** A unique, recognisable name for a short-lived helper container. */
export function helperName(purpose: string): string {
    return `upshift-${purpose}-${crypto.randomBytes(4).toString("hex")}`;
}

/** This process as the owner of helper containers and throwaway volumes: `<host>:<pid>`. */
export const OWNER = `${os.hostname()}:${process.pid}`;

/**
 * Labels of every short-lived container and throwaway volume: ours, and whose. An interrupted
 * operation removes what it owns; a later one removes what a dead process left (issue 12, finding 9).
 */
export function ownerLabels(kind: "helper" | "throwaway" = "helper"): string[] {
    return ["--label", `upshift.${kind}=true`, "--label", `upshift.owner=${OWNER}`];
}

/**
 * Arguments of `docker run` for a short-lived helper: removed on exit, labelled as ours, and with
 * no log driver, since a tar stream on stdout would otherwise be copied into the container's log.
 */
export function helperRunArgs(name: string, opts: { interactive?: boolean } = {}): string[] {
    return [
        "run",
        "--rm",
        ...(opts.interactive ? ["-i"] : []),
        "--name",
        name,
        ...ownerLabels(),
        "--log-driver",
        "none",
        "--network",
        "none",
    ];
}

/** Removes the containers (then the volumes) that `owner` labelled as its own; returns what it removed. */
export async function removeOwned(owner: string): Promise<string[]> {
    const filter = ["--filter", `label=upshift.owner=${owner}`];
    const ids = (await docker(["ps", "-aq", ...filter], { check: false })).stdout.split("\n").filter(Boolean);
    if (ids.length) await docker(["rm", "-f", "-v", ...ids], { check: false });
    const vols = (await docker(["volume", "ls", "-q", ...filter], { check: false })).stdout.split("\n").filter(Boolean);
    if (vols.length) await docker(["volume", "rm", "-f", ...vols], { check: false });
    return [...ids, ...vols];
}

/**
 * What an interrupted or killed earlier run on this host left: helper containers and throwaway
 * volumes whose owner process is gone (an owner on another host is left alone). Removed here.
 */
export async function removeLeftovers(): Promise<string[]> {
    const host = os.hostname();
    const owners = new Set<string>();
    for (const what of [
        ["ps", "-a"],
        ["volume", "ls"],
    ]) {
        const r = await docker([...what, "--filter", "label=upshift.owner", "--format", '{{.Label "upshift.owner"}}'], {
            check: false,
        });
        for (const o of r.stdout
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean))
            owners.add(o);
    }
    const removed: string[] = [];
    for (const owner of owners) {
        const [h, pid] = [owner.slice(0, owner.lastIndexOf(":")), Number(owner.slice(owner.lastIndexOf(":") + 1))];
        if (h !== host || !Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
        removed.push(...(await removeOwned(owner)));
    }
    return removed;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

// An interrupted operation removes its own helpers: a tar reading a volume would run on otherwise.
onInterrupt(async () => {
    await removeOwned(OWNER);
});

/** Key names whose values are secrets (docs/hooks-cli.md: secrets only through the environment). */
const SECRET_KEY = /PASSWORD|SECRET|KEY|TOKEN/i;

/** Replaces the value of every secret-looking environment variable in text with `***`. */
export function scrubSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
    let out = text;
    for (const [k, v] of Object.entries(env)) {
        // Very short values would blank out ordinary words; they are not real secrets anyway.
        if (!v || v.length < 4 || !SECRET_KEY.test(k)) continue;
        out = out.split(v).join("***");
    }
    return out;
}

function describe(command: string, args: readonly string[]): string {
    return [command, ...args.slice(0, 3)].join(" ") + (args.length > 3 ? " ..." : "");
}

function lastLines(text: string, n: number): string {
    return text.trim().split("\n").slice(-n).join(" | ");
}
