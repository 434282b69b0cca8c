// Helpers of the Postgres integration tests. The tests check the hooks with means of their own:
// digests here come from `COPY ... TO STDOUT` streamed through sha256 in this process, not from
// the checks the code under test computes.
import { execFile, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as path from "path";

export const CLI = path.join(__dirname, "..", "..", "bin", "upshift");

export function dk(args: string[], input?: string): string {
    return execFileSync("docker", args, {
        encoding: "utf8",
        input,
        stdio: ["pipe", "pipe", "pipe"],
        maxBuffer: 64 * 1024 * 1024,
    });
}

export function dkQuiet(args: string[]): void {
    try {
        dk(args);
    } catch {
        /* cleanup of what may not exist */
    }
}

/** SQL through psql in the container (local socket, as the vendor's guide does). */
export function psql(container: string, db: string, sql: string): string {
    return dk(
        ["exec", "-i", container, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", db],
        sql,
    ).trim();
}

export async function waitPg(container: string, timeoutS = 60): Promise<void> {
    const until = Date.now() + timeoutS * 1000;
    for (;;) {
        try {
            dk(["exec", container, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"]);
            return;
        } catch {
            if (Date.now() > until)
                throw new Error(`${container} not ready: ${dk(["logs", "--tail", "20", container])}`);
            await new Promise((r) => setTimeout(r, 300));
        }
    }
}

export async function startPg(
    name: string,
    image: string,
    env: Record<string, string>,
    volume?: string,
): Promise<void> {
    dkQuiet(["rm", "-f", name]);
    const args = ["run", "-d", "--name", name];
    for (const k of Object.keys(env)) args.push("-e", k);
    if (volume) args.push("-v", `${volume}:/var/lib/postgresql/data`);
    args.push(image);
    execFileSync("docker", args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    await waitPg(name);
}

export interface Digest {
    rows: number;
    sha256: string;
}

/** Rows and sha256 of a table's COPY text in a fixed order and with fixed text settings. */
export function tableDigest(container: string, db: string, table: string, orderBy: string): Promise<Digest> {
    return new Promise((resolve, reject) => {
        const p = spawn(
            "docker",
            [
                "exec",
                container,
                "psql",
                "-X",
                "-q",
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                "SET TimeZone='UTC'; SET DateStyle='ISO, YMD'; SET extra_float_digits=3; SET bytea_output='hex'",
                "-c",
                `COPY (SELECT * FROM ${table} ORDER BY ${orderBy}) TO STDOUT`,
            ],
            { stdio: ["ignore", "pipe", "pipe"] },
        );
        const h = crypto.createHash("sha256");
        let rows = 0;
        let err = "";
        p.stdout.on("data", (b: Buffer) => {
            h.update(b);
            for (const c of b) if (c === 10) rows++;
        });
        p.stderr.on("data", (b: Buffer) => {
            err += b.toString();
        });
        p.on("close", (code) =>
            code === 0 ? resolve({ rows, sha256: h.digest("hex") }) : reject(new Error(`COPY ${table}: ${err}`)),
        );
    });
}

export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
    seconds: number;
}

/** Runs `upshift ARGS` with extra env (secrets go here, never in args). */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const t0 = Date.now();
    return new Promise((resolve) => {
        execFile(CLI, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err
                ? typeof (err as { code?: unknown }).code === "number"
                    ? (err as { code: number }).code
                    : 1
                : 0;
            resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
        });
    });
}

/** The last stdout line as JSON (the contract: one JSON line). */
export function lastJson(r: CliResult): Record<string, unknown> {
    const lines = r.stdout.trim().split("\n");
    if (lines.length !== 1)
        throw new Error(`stdout must be one JSON line, got ${lines.length}: ${r.stdout.slice(0, 500)}`);
    return JSON.parse(lines[0]) as Record<string, unknown>;
}

/** Runs `upshift ARGS` and SIGKILLs it (its whole process group) once stderr matches `when`. */
export function cliKilledWhen(args: string[], env: Record<string, string>, when: RegExp): Promise<CliResult> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
        const p = spawn(CLI, args, {
            env: { ...process.env, ...env },
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "",
            stderr = "",
            killed = false;
        p.stdout!.on("data", (b: Buffer) => {
            stdout += b.toString();
        });
        p.stderr!.on("data", (b: Buffer) => {
            stderr += b.toString();
            if (!killed && when.test(stderr)) {
                killed = true;
                process.kill(-p.pid!, "SIGKILL");
            }
        });
        p.on("close", (code) => {
            if (!killed) return reject(new Error(`ended (exit ${code}) before ${when}: ${stderr}`));
            resolve({ code: code ?? 137, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
        });
    });
}
