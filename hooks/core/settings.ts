// Every UPSHIFT_* environment variable the hooks read, in one place (issue 14; offen's config.go):
// its meaning, its default and what it accepts. A value it does not accept is an error naming the
// variable and what it takes, before anything is done; unset or empty means the default. The
// readers take the environment as an argument (tests/unit/settings.test.ts) and read it when
// called, not at import: a test or a caller may set a variable first. docs/hooks-cli.md lists them.
import * as os from "os";
import * as path from "path";

type Env = NodeJS.ProcessEnv;

/** The variables, one line each, for docs and errors. */
export const SETTINGS: Readonly<Record<string, string>> = {
    UPSHIFT_HELPER_IMAGE:
        "image of the short-lived tar/zstd helper containers (default alpine:3.20; --helper-image wins)",
    UPSHIFT_ZSTD_LEVEL: "zstd level of backups: 1-19 or fast=N (1-99); default 1",
    UPSHIFT_COMPRESSION: "zstd (default) or none (a plain .tar, for data that does not compress)",
    UPSHIFT_COMPRESS: "where zstd runs for a backup: helper (default) or host",
    UPSHIFT_BACKUP_STREAM: "1: the archive comes through the Docker connection even on a local host (default 0)",
    UPSHIFT_PG_START_TIMEOUT: "seconds a test-restored Postgres may take to start (default 600)",
    UPSHIFT_PROGRESS_MS: "milliseconds between progress lines (default 2000; 5000 for Postgres steps)",
    UPSHIFT_POLL_MS:
        "milliseconds between health polls of temporary servers (default 1000 for mongo-fcv, 5000 for intermediate-server)",
    UPSHIFT_STATE_DIR:
        "where hooks keep their state (the ledger of stopped containers); default $XDG_STATE_HOME/upshift, else ~/.local/state/upshift",
    UPSHIFT_S3_ENDPOINT: "an S3-compatible server's http(s) URL, path-style (--s3-endpoint wins)",
    UPSHIFT_PARENT_PID: "set by the step's shell: the pid whose exit stops the operation (never inherited further)",
};

function raw(env: Env, name: keyof typeof SETTINGS & string): string | undefined {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
}

function bad(name: string, v: string, want: string): never {
    throw new Error(`${name}=${v}: expected ${want}; unset it for the default (${SETTINGS[name]})`);
}

function positive(env: Env, name: string, unit: string): number | undefined {
    const v = raw(env, name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) bad(name, v, `a positive number of ${unit}`);
    return n;
}

export function helperImageSetting(env: Env = process.env): string | undefined {
    return raw(env, "UPSHIFT_HELPER_IMAGE");
}

/** zstd's level argument: "-1" by default (docs/benchmarks.md: level 1 is the fastest that still shrinks text). */
export function zstdLevel(env: Env = process.env): string {
    const v = raw(env, "UPSHIFT_ZSTD_LEVEL");
    if (v === undefined) return "-1";
    if (/^([1-9]|1[0-9])$/.test(v)) return `-${v}`;
    const f = /^fast=([1-9][0-9]?)$/.exec(v);
    if (f) return `--fast=${f[1]}`;
    return bad("UPSHIFT_ZSTD_LEVEL", v, "a level 1-19 or fast=N (1-99)");
}

/** What an archive's bytes are: a zstd-compressed tar (`.tar.zst`) or a plain tar (`.tar`). */
export type Compression = "zstd" | "none";

export function compression(env: Env = process.env): Compression {
    const v = raw(env, "UPSHIFT_COMPRESSION");
    if (v === undefined || v === "zstd") return "zstd";
    if (v === "none") return "none";
    return bad("UPSHIFT_COMPRESSION", v, "zstd or none");
}

export function compressWhere(env: Env = process.env): "helper" | "host" {
    const v = raw(env, "UPSHIFT_COMPRESS");
    if (v === undefined || v === "helper") return "helper";
    if (v === "host") return "host";
    return bad("UPSHIFT_COMPRESS", v, "helper or host");
}

export function backupStream(env: Env = process.env): boolean {
    const v = raw(env, "UPSHIFT_BACKUP_STREAM");
    if (v === undefined || v === "0") return false;
    if (v === "1") return true;
    return bad("UPSHIFT_BACKUP_STREAM", v, "1 or 0");
}

export function pgStartTimeoutMs(env: Env = process.env): number {
    return (positive(env, "UPSHIFT_PG_START_TIMEOUT", "seconds") ?? 600) * 1000;
}

/** Milliseconds between progress lines; `def` is the caller's default. */
export function progressMs(def: number, env: Env = process.env): number {
    return positive(env, "UPSHIFT_PROGRESS_MS", "milliseconds") ?? def;
}

/** Milliseconds between polls of a temporary server's health; `def` is the caller's default. */
export function pollMs(def: number, env: Env = process.env): number {
    return positive(env, "UPSHIFT_POLL_MS", "milliseconds") ?? def;
}

/** The step shell's pid, taken out of the environment so that nothing this process starts inherits it. */
export function takeParentPid(env: Env = process.env): number | undefined {
    const v = raw(env, "UPSHIFT_PARENT_PID");
    delete env.UPSHIFT_PARENT_PID;
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) bad("UPSHIFT_PARENT_PID", v, "a process id");
    return n;
}

/** Where hooks keep their state: UPSHIFT_STATE_DIR, else $XDG_STATE_HOME/upshift, else ~/.local/state/upshift. */
export function stateDir(env: Env = process.env): string {
    return (
        raw(env, "UPSHIFT_STATE_DIR") ??
        path.join(env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state"), "upshift")
    );
}

/** UPSHIFT_S3_ENDPOINT (offsite/s3.ts checks that it is an http(s) URL, naming it). */
export function s3EndpointSetting(env: Env = process.env): string | undefined {
    return raw(env, "UPSHIFT_S3_ENDPOINT");
}
