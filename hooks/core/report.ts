// What every operation prints: one JSON line on stdout at the end (what a step records in state),
// a one-line reason on stderr on failure, and never a secret (docs/hooks-cli.md, "Conventions").
import { Transform } from "stream";
import { parseArgs, ParseArgsConfig } from "util";
import { UsageError } from "./command";
import { scrubSecrets } from "./docker";
import { installInterruptHandlers } from "./interrupt";

/** Error of an operation whose message is already the one line to show the operator. */
export class HookError extends Error {}

/** The operation refused to go on because going on could lose data; nothing was changed. Exit 3. */
export class RefusedError extends HookError {}

/** Exit code of a refusal (RefusedError), apart from a failure (1) and a usage error (2). */
export const EXIT_REFUSED = 3;

/**
 * Runs an operation's body: on success prints `{"ok":true,...result}` and resolves to 0; on
 * failure prints the scrubbed reason to stderr and resolves to 1 (3 for a refusal). Usage errors go to the CLI (2).
 */
export async function runOperation(name: string, body: () => Promise<Record<string, unknown>>): Promise<number> {
    // SIGINT/SIGTERM/SIGHUP or the parent's death: registered clean-ups run, then exit 128+n.
    installInterruptHandlers(name);
    try {
        const result = await body();
        process.stdout.write(scrubSecrets(JSON.stringify({ ok: true, operation: name, ...result })) + "\n");
        return 0;
    } catch (err) {
        if (err instanceof UsageError) throw err;
        const msg = err instanceof Error ? err.message : String(err);
        process.stderr.write(`upshift ${name}: ${scrubSecrets(msg).replace(/\s*\n\s*/g, " | ")}\n`);
        return err instanceof RefusedError ? EXIT_REFUSED : 1;
    }
}

/**
 * The first of `flags` missing from `values` is a usage error: `--NAME HINT is required`. Each
 * flag is "NAME" or "NAME HINT" (e.g. "backup DIR/P/ID"); empty counts as missing.
 */
export function requireFlags(values: Readonly<Record<string, unknown>>, ...flags: string[]): void {
    for (const f of flags) {
        const v = values[f.split(" ")[0]];
        if (v === undefined || v === "" || (Array.isArray(v) && !v.length)) throw new UsageError(`--${f} is required`);
    }
}

/** A log line on stderr (never stdout), scrubbed. */
export function log(name: string, message: string): void {
    process.stderr.write(`upshift ${name}: ${scrubSecrets(message)}\n`);
}

/** util.parseArgs with its errors turned into UsageError (exit 2 with the usage text). */
export function parseOptions<T extends NonNullable<ParseArgsConfig["options"]>>(
    argv: string[],
    options: T,
    allowPositionals = false,
) {
    try {
        return parseArgs({ args: argv, options, allowPositionals, strict: true });
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
}

/** Splits `a,b, c` lists (repeatable flags may also hold comma lists). */
export function splitList(values: string | string[] | undefined): string[] {
    const all = Array.isArray(values) ? values : values ? [values] : [];
    return all
        .flatMap((v) => v.split(","))
        .map((v) => v.trim())
        .filter(Boolean);
}

/** A stream that scrubs secrets line by line (a secret split across two chunks is still caught). */
export function scrubLines(): Transform {
    let rest = "";
    return new Transform({
        transform(chunk: Buffer, _enc, cb) {
            const text = rest + chunk.toString("utf8");
            const cut = text.lastIndexOf("\n") + 1;
            rest = text.slice(cut);
            // A single line longer than 64 KiB is passed on rather than held.
            if (rest.length > 65536) {
                cb(null, scrubSecrets(text));
                rest = "";
                return;
            }
            cb(null, scrubSecrets(text.slice(0, cut)));
        },
        flush(cb) {
            cb(null, scrubSecrets(rest));
        },
    });
}
