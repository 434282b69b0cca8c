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

/**
 * What every operation's exit code means, printed after its usage (restic's EXIT STATUS): a step's
 * log and an operator's script can tell a refusal and an interruption from a failure.
 */
export const EXIT_STATUS = [
    "exit status:",
    "  0            done (one JSON line on stdout)",
    "  1            failed (the reason on stderr); what the operation stopped is started again",
    "  2            bad arguments: the flag is named, nothing was done",
    "  3            refused: going on could lose data, nothing was changed",
    "  129 130 143  interrupted (SIGHUP or the step's shell gone, SIGINT, SIGTERM): its containers started again, its helpers and partial output removed",
].join("\n");
