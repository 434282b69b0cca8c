// Entry point of the hooks CLI (bin/upshift). One operation per file, loaded only when it runs:
// every step Command starts this CLI, and loading all operations costs seconds per step.
import { HookCommand, UsageError } from "./command";

/** Operation name -> module exporting its HookCommand (add new ones here, one line each). */
const OPERATIONS: Readonly<Record<string, string>> = {
    "backup": "./backup",
    "restore": "./restore",
    "verify": "./verify",
    "stop": "./stop",
    "start": "./start",
    "exec": "./exec",
    "preflight": "./preflight",
    "pg-dump": "./postgres-dump",
    "pg-restore": "./postgres-restore",
    "pg-migrate": "./postgres-migrate",
    "pg-analyze": "./postgres-analyze",
    "push": "./push",
    "pull": "./pull",
    "list": "./list",
    "prune": "./prune",
    "copy-dir": "./copy-dir",
    "mongo-fcv": "./mongo-fcv",
    "intermediate-server": "./intermediate-server",
    "image-present": "./image-present",
    "adopt-check": "./adopt-check",
    "kwdb-certs": "./kwdb-certs",
    "kwdb-export": "./kwdb-export",
    "kwdb-import": "./kwdb-import",
    "orphans": "./orphans",
};

function load(name: string): HookCommand {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(OPERATIONS[name]) as Record<string, unknown>;
    const cmd = Object.values(mod).find((v): v is HookCommand =>
        !!v && typeof v === "object" && (v as HookCommand).name === name && typeof (v as HookCommand).run === "function");
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
        process.stdout.write(cmd.usage + "\n");
        return 0;
    }
    try {
        return await cmd.run(rest);
    } catch (err) {
        if (err instanceof UsageError) {
            // Scrubbed like every other message: a bad --backup names its path, which may hold anything.
            const { scrubSecrets } = require("./docker") as typeof import("./docker");
            process.stderr.write(`upshift ${name}: ${scrubSecrets(err.message)}\n${cmd.usage}\n`);
            return 2;
        }
        throw err;
    }
}
