// Turns a plan step into the hooks CLI command line its Command runs (docs/hooks-cli.md).
// Pure: no Pulumi here, so the exact command lines are unit-tested on their own.
import { PlanStep, Product } from "../catalog/types";
import { attemptId, Plan, PlannedVolume } from "../plan";

export interface StepContext {
    readonly product: Product;
    readonly from: string;
    readonly to: string;
    /** The change's attempt number (plan.attempt): part of every backup and dump id. */
    readonly attempt?: number;
    /** The hooks CLI, e.g. `node ./bin/upshift`. */
    readonly hooks: string;
    readonly backupDir: string;
    readonly helperImage?: string;
    /** Volume/dir names before and after the change, by key. */
    readonly volumes: readonly PlannedVolume[];
    /** Image of a service at a version, after config overrides. */
    readonly image: (service: string, version: string) => string;
    /** Off-site copies (config upshift:s3). */
    readonly s3?: { readonly bucket: string; readonly prefix?: string };
    /** The deployed version's data volumes (plan/index.ts `Plan.fromVolumes`). */
    readonly fromVolumes?: Plan["fromVolumes"];
}

/** Product-specific kinds (Mongo FCV, KWDB export...) plug in here; undefined = not handled. */
export type StepCommandBuilder = (step: PlanStep, ctx: StepContext) => string[] | undefined;

/** POSIX shell quoting: every argument in single quotes. */
export function shellQuote(args: readonly string[]): string {
    return args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Replaces `${vol:KEY:from|to}` and `${image:SERVICE:VERSION}` tokens in a step parameter. */
export function resolveTokens(value: string, ctx: StepContext): string {
    return value
        .replace(/\$\{vol:([^:}]+):(from|to)\}/g, (_, key: string, when: string) => {
            // A rollback past the version that added a volume still backs it up: it is only in the from set.
            const before = when === "from" ? ctx.fromVolumes?.find((x) => x.key === key) : undefined;
            if (before) return before.name;
            const v = ctx.volumes.find((x) => x.key === key);
            if (!v) throw new Error(`catalog bug: step refers to unknown volume key ${key}`);
            const name = when === "from" ? (v.fromName ?? v.name) : v.name;
            return name;
        })
        .replace(/\$\{image:([^:}]+):([^}]+)\}/g, (_, service: string, version: string) => ctx.image(service, version));
}

/** The dir of one upgrade's backups and dumps: `<backupDir>/<product>/<id>`. */
export const backupPath = (ctx: StepContext, id: string) => `${ctx.backupDir}/${ctx.product}/${id}`;
export const stepId = (ctx: StepContext, suffix: string) =>
    ctx.attempt === undefined ? `${ctx.from}-to-${ctx.to}-${suffix}` : attemptId(ctx.from, ctx.to, ctx.attempt, suffix);

/** Volumes (by resolved name) as `--volume`/`--dir` arguments; `keys` is a comma list of tokens. */
function sourceArgs(list: string, ctx: StepContext, flagFor: (type: "volume" | "dir") => string): string[] {
    const out: string[] = [];
    for (const token of list.split(",").filter(Boolean)) {
        const [, key, when] = /\$\{vol:([^:}]+):(from|to)\}/.exec(token) ?? [];
        const v =
            (when === "from" ? ctx.fromVolumes?.find((x) => x.key === key) : undefined) ??
            ctx.volumes.find((x) => x.key === key);
        const type = v?.type ?? "volume";
        out.push(flagFor(type), resolveTokens(token, ctx));
    }
    return out;
}

export function stepCommand(step: PlanStep, ctx: StepContext, extra?: StepCommandBuilder): string[] {
    const p = (k: string) => {
        const v = step.params[k];
        if (v === undefined) throw new Error(`catalog bug: step ${step.id} (${step.kind}) has no ${k} parameter`);
        return resolveTokens(v, ctx);
    };
    const opt = (k: string, flag: string) => (step.params[k] ? [flag, p(k)] : []);
    const helper = ctx.helperImage ? ["--helper-image", ctx.helperImage] : [];
    switch (step.kind) {
        case "preflight":
            return [
                "preflight",
                ...p("containers")
                    .split(",")
                    .filter(Boolean)
                    .flatMap((c) => ["--container", c]),
                ...sourceArgs(step.params.volumes ?? "", ctx, (t) => (t === "dir" ? "--dir" : "--volume")),
                "--target",
                ctx.backupDir,
                "--factor",
                "3",
                ...(step.params.retained ?? "")
                    .split(",")
                    .filter(Boolean)
                    .flatMap((r) => {
                        const [type, name] = [r.slice(0, r.indexOf(":")), r.slice(r.indexOf(":") + 1)];
                        return [type === "dir" ? "--retained-dir" : "--retained-volume", name];
                    }),
                ...(step.params.backups ?? "")
                    .split(",")
                    .filter(Boolean)
                    .flatMap((id) => ["--backup", backupPath(ctx, id)]),
                ...helper,
            ];
        case "backup":
            return [
                "backup",
                "--product",
                ctx.product,
                "--version",
                p("version"),
                "--id",
                stepId(ctx, step.id),
                "--to",
                ctx.backupDir,
                "--label",
                p("label"),
                ...sourceArgs(step.params.volumes ?? "", ctx, (t) => (t === "dir" ? "--dir" : "--volume")),
                ...opt("stop", "--stop"),
                ...opt("pgCensus", "--pg-census"),
                ...helper,
            ];
        case "verify-backup":
            return [
                "verify",
                "--backup",
                backupPath(ctx, stepId(ctx, p("label"))),
                "--test-restore",
                ...opt("pgImage", "--pg-image"),
                ...helper,
            ];
        case "push": {
            if (!ctx.s3) throw new Error(`step ${step.id} needs upshift:s3`);
            return [
                "push",
                "--backup",
                backupPath(ctx, stepId(ctx, p("label"))),
                "--bucket",
                ctx.s3.bucket,
                ...(ctx.s3.prefix ? ["--prefix", ctx.s3.prefix] : []),
                "--quiet",
            ];
        }
        case "prune":
            return [
                "prune",
                "--keep",
                p("keep"),
                "--backup-dir",
                ctx.backupDir,
                "--product",
                ctx.product,
                ...(step.params.protect ?? "")
                    .split(",")
                    .filter(Boolean)
                    .flatMap((id) => ["--protect", id]),
                ...(ctx.s3 ? ["--bucket", ctx.s3.bucket, ...(ctx.s3.prefix ? ["--prefix", ctx.s3.prefix] : [])] : []),
                "--json",
                "--quiet",
            ];
        case "stop":
            return ["stop", "--container", p("containers")];
        case "start":
            return ["start", "--container", p("containers"), ...opt("optional", "--optional-container")];
        case "pg-dump":
            return [
                "pg-dump",
                "--container",
                p("container"),
                "--out",
                backupPath(ctx, stepId(ctx, "pg-dump")),
                ...opt("image", "--image"),
                ...opt("user", "--user"),
                ...opt("stop", "--stop"),
            ];
        case "pg-restore":
            return [
                "pg-restore",
                "--container",
                p("container"),
                "--from",
                backupPath(ctx, stepId(ctx, "pg-dump")),
                ...opt("image", "--image"),
                ...opt("user", "--user"),
            ];
        case "pg-migrate":
            return [
                "pg-migrate",
                "--container",
                p("container"),
                "--new-image",
                p("image"),
                "--new-volume",
                p("volume"),
                "--work",
                backupPath(ctx, stepId(ctx, "pg-migrate")),
                ...opt("user", "--user"),
                ...opt("stop", "--stop"),
                ...opt("upgradeImage", "--upgrade-image"),
                ...opt("method", "--method"),
                ...(step.params.deferAnalyze === "true" ? ["--defer-analyze"] : []),
            ];
        case "pg-analyze":
            return [
                "pg-analyze",
                "--container",
                p("container"),
                ...opt("user", "--user"),
                "--work",
                backupPath(ctx, stepId(ctx, "pg-migrate")),
            ];
        case "manage":
            return ["exec", "--container", p("container"), "--wait-healthy", "1800", "--", ...p("command").split(" ")];
        case "reattach":
            // The retained volume must still exist before any container is pointed at it.
            return ["preflight", step.params.type === "dir" ? "--dir" : "--volume", p("volume")];
        case "restore-backup":
            return [
                "restore",
                "--backup",
                `${ctx.backupDir}/${ctx.product}/${p("backup")}`,
                step.params.type === "dir" ? "--dir" : "--volume",
                `${p("source")}=${p("target")}`,
                ...helper,
            ];
        default: {
            const custom = extra?.(step, ctx);
            if (!custom) throw new Error(`no command for step kind ${step.kind} (${step.id}) of ${ctx.product}`);
            return custom;
        }
    }
}

/**
 * The shell line that runs the hooks CLI with ARGS. The shell's pid goes with it, so a hook whose
 * shell was killed before it could look (Ctrl-C right at the step's start) knows it is an orphan
 * and stops at once (hooks/core/interrupt.ts).
 */
export function hookLine(hooks: string, args: readonly string[]): string {
    return `UPSHIFT_PARENT_PID=$$ ${hooks} ${shellQuote(args)}`;
}

/** The full shell line a Command runs. `warn` steps only print their message (to stderr). */
export function stepShellLine(step: PlanStep, ctx: StepContext, extra?: StepCommandBuilder): string {
    if (step.kind === "warn")
        return `printf '%s\\n' ${shellQuote([`upshift: ${ctx.product} ${ctx.to}: ${resolveTokens(step.description, ctx)}`])} >&2`;
    return hookLine(ctx.hooks, stepCommand(step, ctx, extra));
}
