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
