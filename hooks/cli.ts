// Entry point of the hooks CLI (bin/upshift). Dispatches to one operation per file.
import { HookCommand, UsageError } from "./command";

/** Every operation; add new ones here (one line each). */
function commands(): HookCommand[] {
    /* eslint-disable @typescript-eslint/no-var-requires */
    const list: HookCommand[] = [];
    const load = (mod: string) => {
        const m = require(mod);
        for (const v of Object.values(m)) {
            if (v && typeof v === "object" && "name" in (v as object) && "run" in (v as object)) list.push(v as HookCommand);
        }
    };
    for (const mod of OPERATION_MODULES) load(mod);
    return list;
}

/** Modules whose exported HookCommand objects are the CLI's operations. */
const OPERATION_MODULES: string[] = [
    "./stop",
    "./exec",
    "./preflight",
    "./verify",
    "./backup",
    "./restore",
    "./postgres-dump",
    "./postgres-restore",
    "./postgres-migrate",
    "./push",
    "./pull",
    "./list",
    "./prune",
    "./copy-dir",
    "./mongo-fcv",
    "./intermediate-server",
    "./image-present",
    "./kwdb-certs",
    "./kwdb-export",
    "./kwdb-import",
];

export async function main(argv: string[]): Promise<number> {
    const all = commands();
    const [name, ...rest] = argv;
    if (!name || name === "help" || name === "--help" || name === "-h") {
        process.stdout.write("usage: upshift <operation> [options]\n\noperations:\n");
        for (const c of all) process.stdout.write(`  ${c.name.padEnd(16)} ${c.summary}\n`);
        return name ? 0 : 2;
    }
    const cmd = all.find((c) => c.name === name);
    if (!cmd) {
        process.stderr.write(`upshift: unknown operation "${name}"; run \`upshift help\` for the list\n`);
        return 2;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
        process.stdout.write(cmd.usage + "\n");
        return 0;
    }
    try {
        return await cmd.run(rest);
    } catch (err) {
        if (err instanceof UsageError) {
            process.stderr.write(`upshift ${name}: ${err.message}\n${cmd.usage}\n`);
            return 2;
        }
        throw err;
    }
}
