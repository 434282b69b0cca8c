// hooks/core/: the plumbing every operation shares, and nothing else (it imports no other folder;
// tests/unit/layout.test.ts): this file's operation contract and usage errors, the docker CLI and
// secret scrubbing (docker.ts), reports and option parsing (report.ts), progress, interrupts,
// durable files (atomic-file.ts), and the stop and restart of the containers that write the data,
// with its ledger (stop-restart.ts).
//
// The shape of one hooks CLI operation. Each operation lives in its own file and is listed in
// hooks/cli.ts. Hooks import nothing from Pulumi (design.md).

export interface HookCommand {
    /** Sub-command name: `upshift <name> ...`. */
    readonly name: string;
    /** One line for `upshift help`. */
    readonly summary: string;
    /** Usage text shown on `upshift <name> --help` and on a usage error. */
    readonly usage: string;
    /** Runs the operation; resolves to the process exit code. Throw UsageError for bad arguments. */
    run(argv: string[]): Promise<number>;
}

/** Bad command-line input: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}
