// Entry point of the hooks CLI (bin/upshift). One operation per file, loaded only when it runs:
// every step Command starts this CLI, and loading all operations costs seconds per step.
//
// hooks/ is grouped by what the code moves, one folder each, its first file's opening comment says
// what it holds: core/ (the shared plumbing), containers/, volumes/ (backups), postgres/, offsite/
// (S3 and retention), mongo/ and kwdb/. Imports go one way (tests/unit/layout.test.ts): core/ uses
// nothing else, the database folders never use each other, and this file is imported by none.
import { EXIT_STATUS, HookCommand, UsageError } from "./core/command";

/** Operation name -> module exporting its HookCommand (add new ones here, one line each). */
export const OPERATIONS: Readonly<Record<string, string>> = {
    backup: "./volumes/backup",
    restore: "./volumes/restore",
    verify: "./volumes/verify",
    stop: "./containers/stop",
    start: "./containers/start",
    exec: "./containers/exec",
    preflight: "./volumes/preflight",
    "pg-dump": "./postgres/pg-dump",
    "pg-restore": "./postgres/pg-restore",
    "pg-migrate": "./postgres/pg-migrate",
    "pg-analyze": "./postgres/pg-analyze",
    push: "./offsite/push",
    pull: "./offsite/pull",
    list: "./volumes/list",
    prune: "./offsite/prune",
    "copy-dir": "./volumes/copy-dir",
    "mongo-fcv": "./mongo/mongo-fcv",
    "intermediate-server": "./mongo/intermediate-server",
    "image-present": "./containers/image-present",
    "adopt-check": "./containers/adopt-check",
    "kwdb-certs": "./kwdb/kwdb-certs",
    "kwdb-export": "./kwdb/kwdb-export",
    "kwdb-import": "./kwdb/kwdb-import",
    orphans: "./containers/orphans",
};

function load(name: string): HookCommand {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(OPERATIONS[name]) as Record<string, unknown>;
    const cmd = Object.values(mod).find(
        (v): v is HookCommand =>
            !!v &&
            typeof v === "object" &&
            (v as HookCommand).name === name &&
            typeof (v as HookCommand).run === "function",
    );
    if (!cmd) throw new Error(`hooks/cli.ts: ${OPERATIONS[name]} exports no operation named ${name}`);
    return cmd;
}

export async function main(argv: string[]): Promise<number> {
    // Backups, dumps and state hold password hashes and app keys: whatever a hook creates is the
    // user's alone (directories 0700, files 0600; issue 12, finding 7).
    process.umask(0o077);
    const [name, ...rest] = argv;
    if (!name || name === "help" || name === "--help" || name === "-h") {
        // Asked for: the list on stdout, exit 0. No operation at all is a usage error: stderr, exit 2.
        const outStream = name ? process.stdout : process.stderr;
        outStream.write("usage: upshift <operation> [options]\n\noperations:\n");
        for (const op of Object.keys(OPERATIONS)) outStream.write(`  ${op.padEnd(20)} ${load(op).summary}\n`);
        return name ? 0 : 2;
    }
    if (!Object.prototype.hasOwnProperty.call(OPERATIONS, name)) {
        process.stderr.write(`upshift: unknown operation "${name}"; run \`upshift help\` for the list\n`);
        return 2;
    }
    const cmd = load(name);
    if (rest.includes("--help") || rest.includes("-h")) {
        process.stdout.write(`${cmd.usage}\n${EXIT_STATUS}\n`);
        return 0;
    }
    try {
        return await cmd.run(rest);
    } catch (err) {
        if (err instanceof UsageError) {
            // Scrubbed like every other message: a bad --backup names its path, which may hold anything.
            const { scrubSecrets } = require("./core/docker") as typeof import("./core/docker");
            process.stderr.write(`upshift ${name}: ${scrubSecrets(err.message)}\n${cmd.usage}\n${EXIT_STATUS}\n`);
            return 2;
        }
        throw err;
    }
}
