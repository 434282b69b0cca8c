// Shared by the hooks integration tests: run the CLI as a real subprocess, make test data in
// volumes, fingerprint volumes file by file, and clean up everything a run created (one unique
// name prefix per run).
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TEST_IMAGES } from "./setup";

export const ROOT = path.join(__dirname, "..", "..");
export const CLI = path.join(ROOT, "bin", "upshift");

/** A prefix unique to this run, for every volume, container and directory a test makes. */
export function runPrefix(what: string): string {
    return `upt-${what}-${crypto.randomBytes(3).toString("hex")}`;
}

export interface CliResult {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

/** Runs `bin/upshift ARGS...` to completion. */
export function upshift(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return collect(startUpshift(args, env));
}

/** Starts `bin/upshift ARGS...` (for tests that kill it). */
export function startUpshift(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn(CLI, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

export function collect(child: ChildProcess): Promise<CliResult> {
    const started = Date.now();
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (b) => (stdout += b));
    child.stderr!.on("data", (b) => (stderr += b));
    return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
    });
}

/** The final JSON line of a successful run (and nothing else on stdout). */
export function okJson(r: CliResult): Record<string, unknown> {
    if (r.code !== 0) throw new Error(`upshift exited ${r.code}: ${r.stderr}`);
    const lines = r.stdout.trim().split("\n");
    if (lines.length !== 1)
        throw new Error(`stdout must be one JSON line, got ${lines.length}: ${r.stdout.slice(0, 500)}`);
    const j = JSON.parse(lines[0]);
    if (j.ok !== true) throw new Error(`not ok: ${lines[0]}`);
    return j;
}

export function dockerSync(args: string[], input?: string): string {
    return execFileSync("docker", args, {
        encoding: "utf8",
        input,
        maxBuffer: 64 * 1024 * 1024,
        stdio: ["pipe", "pipe", "pipe"],
    });
}

/** Runs a shell script in the tools image with the given volumes mounted (`-v` strings). */
export function inTools(mounts: string[], script: string, ...args: string[]): string {
    return dockerSync([
        "run",
        "--rm",
        "--log-driver",
        "none",
        ...mounts.flatMap((m) => ["-v", m]),
        TEST_IMAGES.tools,
        "sh",
        "-c",
        script,
        "sh",
        ...args,
    ]);
}

/**
 * Fills a volume with `small` small files (in 10 directories, some owned by 999:999 with mode
 * 0600, like a database's), the given large random files (MB), a symlink and an empty directory.
 */
export function makeData(volume: string, small: number, largeMb: number[]): void {
    inTools(
        [`${volume}:/d`],
        `set -e
cd /d
for k in 0 1 2 3 4 5 6 7 8 9; do mkdir -p small/d$k; done
i=0
while [ $i -lt "$1" ]; do echo "file $i of the test data $i$i$i" > small/d$((i % 10))/f$i.txt; i=$((i + 1)); done
shift
n=0
for mb in "$@"; do head -c $((mb * 1024 * 1024)) /dev/urandom > large$n.bin; n=$((n + 1)); done
mkdir -p db empty; echo secret-ish > db/PG_VERSION; chown -R 999:999 db; chmod 700 db; chmod 600 db/PG_VERSION
ln -s db/PG_VERSION link`,
        String(small),
        ...largeMb.map(String),
    );
}

/**
 * One line per entry of a volume: path, type, mode, owner, size and (for files) sha256, sorted;
 * computed in a helper container. Equal fingerprints = byte-for-byte equal trees.
 */
export function fingerprint(volume: string): string {
    return inTools(
        [`${volume}:/d:ro`],
        `cd /d && find . -mindepth 1 -printf '%p %y %m %U:%G %s %l\\n' | sort > /tmp/meta
find . -type f -exec sha256sum {} + | sort -k2 > /tmp/sums
cat /tmp/meta /tmp/sums`,
    );
}

/** sha256 of every file of a host directory tree (to prove a backup was not touched). */
export function hashTree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out[path.relative(dir, p)] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
        }
    };
    walk(dir);
    return out;
}

export function tmpDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function volumeExists(name: string): boolean {
    try {
        dockerSync(["volume", "inspect", name]);
        return true;
    } catch {
        return false;
    }
}

/** Removes every container and volume whose name starts with prefix. */
export function cleanupDocker(prefix: string): void {
    const ids = dockerSync(["ps", "-aq", "--filter", `name=${prefix}`])
        .split("\n")
        .filter(Boolean);
    if (ids.length) dockerSync(["rm", "-f", ...ids]);
    const vols = dockerSync(["volume", "ls", "-q", "--filter", `name=${prefix}`])
        .split("\n")
        .filter(Boolean);
    if (vols.length) dockerSync(["volume", "rm", "-f", ...vols]);
}
