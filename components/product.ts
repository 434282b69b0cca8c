// The shared building blocks of every product component: volumes, images, containers and one
// Command per plan step, ordered around the container replacements. Product classes are thin.
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlanStep, ProductCatalog, ServiceSpec } from "../catalog/types";
import {
    attemptDirs,
    attemptId,
    AttemptVolumes,
    attemptVolumesFile,
    AuditEntry,
    DeployedProduct,
    LastChange,
    Plan,
    planChange,
    describePlan,
} from "../plan";
import { publishJson } from "../hooks/core/atomic-file";
import { hookLine, shellQuote, StepCommandBuilder, StepContext, stepShellLine } from "./hookSteps";
import { IDENTITY_LABELS } from "../hooks/containers/orphans";

export interface ProductArgs {
    /** The configured version (the one-line upgrade gesture). */
    readonly version: string;
    /** What this stack deployed before (its own `deployed` output); undefined on a first run. */
    readonly deployed?: DeployedProduct;
    /** Exact image reference -> replacement. Default: none. */
    readonly images?: Readonly<Record<string, string>>;
    /** Prefix for every default image (private mirror). Default: none. */
    readonly registryMirror?: string;
    /** Volume name / host dir per data key, to adopt an existing install. Default: the vendor's names. */
    readonly volumes?: Readonly<Record<string, string>>;
    /** Secret values by config key (`dbPassword`...). */
    readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Docker host for the hooks (same as the provider's). Default: DOCKER_HOST or the local socket. */
    readonly dockerHost?: string;
    /** Where backups and dumps go. */
    readonly backupDir: string;
    /** How steps call the hooks CLI. Default: `node <this checkout>/bin/upshift`. */
    readonly hooksCommand?: string;
    /** Image for tar/zstd helper containers. Default: the hooks' own default. */
    readonly helperImage?: string;
    /** pg_upgrade helper for a Postgres major change (config upshift:pgUpgradeImage). Default: per image pair (catalog/pgUpgrade.ts). */
    readonly pgUpgradeImage?: string;
    /** Optional services switched on (ServiceSpec.optional). Default: none. */
    readonly features?: Readonly<Record<string, boolean>>;
    /** Off-site copies of each verified restore point (config upshift:s3). Default: none. */
    readonly s3?: { readonly bucket: string; readonly prefix?: string };
    /** Keep the last N backups per product after each verified restore point. Default: no pruning. */
    readonly keepBackups?: number;
    /** Resources the first step waits for (e.g. the backup bucket). Default: none. */
    readonly stepsDependOn?: pulumi.Resource[];
    /**
     * First run only (config `<product>:adopt`): true = an existing install is adopted and its data
     * must be found; false = a fresh install, nothing checked. Default: see `adoptionCheck`.
     */
    readonly adopt?: boolean;
}

export interface ProductDeployment {
    readonly plan: Plan;
    /** The record to export: plan.next plus this change's audit entry, with the restore point's checksums. */
    readonly deployed: pulumi.Output<DeployedProduct>;
    readonly containers: Record<string, docker.Container>;
    readonly volumes: Record<string, docker.Volume>;
    readonly steps: Record<string, command.local.Command>;
    readonly network: docker.Network;
}

/** Secrets a step's hooks need, by step kind (passed in the Command's environment, never its command line). */
export type StepSecrets = (kind: string) => Record<string, string>;

export interface ProductInternals {
    readonly catalog: ProductCatalog;
    readonly extraCommands?: StepCommandBuilder;
    /** Env var name -> secret config key, per step kind. */
    readonly stepSecrets?: StepSecrets;
    /** The config key, besides `<product>:volumes.<key>`, that said where a data key is adopted from (ClearML's `clearml:dataDir`). */
    readonly adoptedBy?: (key: string) => string | undefined;
    /** The adoption check, when the component declared it itself (KWDB: before its certificates). Default: declared here. */
    readonly adoption?: AdoptionStep;
}

/** The first run's `adopt-check` Command and what the deployed record keeps of it. */
export interface AdoptionStep {
    readonly step?: command.local.Command;
    readonly record?: { readonly create: string; readonly version: string };
}

/**
 * The hooks argv that checks, on a first run, the data an install is adopted from (undefined: none).
 * The keys the vendor's install always has data in (`vendorData`) are checked:
 * - each must exist and hold data when config says where they are (`<product>:volumes.<key>`, ClearML's
 *   `clearml:dataDir`, KWDB's installer path) or `<product>:adopt` is true;
 * - otherwise all or none (a fresh install at the vendor's names; part of an install is refused);
 * - nothing with `<product>:adopt false` (a fresh install wherever config says).
 */
export function adoptionCheck(
    catalog: ProductCatalog,
    plan: Plan,
    args: Pick<ProductArgs, "volumes" | "adopt" | "helperImage">,
    adoptedBy?: (key: string) => string | undefined,
): string[] | undefined {
    if (plan.kind !== "install" || args.adopt === false) return undefined;
    const p = catalog.product;
    const keys = new Set(
        catalog
            .dataVolumes(plan.to)
            .filter((d) => d.vendorData)
            .map((d) => d.key),
    );
    const data = plan.volumes.filter((v) => keys.has(v.key));
    const told = [
        ...new Set(
            data
                .map((v) => (args.volumes?.[v.key] !== undefined ? `${p}:volumes.${v.key}` : adoptedBy?.(v.key)))
                .filter((k): k is string => k !== undefined),
        ),
    ];
    const required = args.adopt === true || told.length > 0;
    if (!data.length || (!required && data.length < 2)) return undefined;
    const where = data.map((v) => `${v.key} ${v.name}`).join(", ");
    const point = told.length
        ? told.map((k) => `pulumi config set ${k} <where the install keeps it>`).join("; ")
        : data
              .map(
                  (v) =>
                      `pulumi config set --path ${p}:volumes.${v.key} <the install's ${v.type === "dir" ? "directory" : "volume"}>`,
              )
              .join("; ");
    const how = required
        ? `${p} ${plan.to} is adopted from ${where} (${told.length ? told.join(", ") : `${p}:adopt true`}), and the vendor's install always has data there. ` +
          `Fix: ${point}; for a fresh install instead: pulumi config set ${p}:adopt false`
        : `the vendor's ${p} ${plan.to} has data in all of ${where}. Fix: ${point} where the rest of that install is, or restore it from a backup; ` +
          `for a fresh install move the partial data away first`;
    return [
        "adopt-check",
        ...data.flatMap((v) => (v.type === "dir" ? ["--dir", v.name] : ["--volume", v.name])),
        ...(required ? [] : ["--all-or-none"]),
        "--how",
        how,
        ...(args.helperImage ? ["--helper-image", args.helperImage] : []),
    ];
}

/**
 * Declares the adoption check (`<name>-adopt-check`): on a first run from `adoptionCheck`; later,
 * exactly as the record has it (same inputs: no diff, never run again; docs/pulumi.md, like `lastChange`).
 */
export function declareAdoptionCheck(
    parent: pulumi.Resource,
    name: string,
    catalog: ProductCatalog,
    plan: Plan,
    args: ProductArgs,
    adoptedBy?: (key: string) => string | undefined,
): AdoptionStep {
    const argv = adoptionCheck(catalog, plan, args, adoptedBy);
    const record =
        plan.kind === "install"
            ? argv
                ? { create: hookLine(args.hooksCommand ?? defaultHooksCommand(), argv), version: plan.to }
                : undefined
            : args.deployed?.adoptCheck;
    if (!record) return {};
    const env: Record<string, string> = args.dockerHost ? { DOCKER_HOST: args.dockerHost } : {};
    return {
        record,
        step: stepResource(
            `${name}-adopt-check`,
            record.create,
            ["adopt-check", record.version],
            env,
            parent,
            args.stepsDependOn ?? [],
        ),
    };
}

/** Image for a service at a version: config `images` wins, then the mirror prefix, then the catalog. */
export function resolveImage(
    catalog: ProductCatalog,
    args: Pick<ProductArgs, "images" | "registryMirror">,
    service: string,
    version: string,
): string {
    const spec = catalog.services(version).find((s) => s.name === service);
    if (!spec) throw new Error(`catalog bug: ${catalog.product} ${version} has no service ${service}`);
    return resolveRef(args, spec.image);
}

/** Any default image reference (a service's, a helper's), after config `images` and `registryMirror`. */
export function resolveRef(args: Pick<ProductArgs, "images" | "registryMirror">, ref: string): string {
    return args.images?.[ref] ?? (args.registryMirror ? `${args.registryMirror.replace(/\/$/, "")}/${ref}` : ref);
}

/**
 * How steps run the hooks CLI unless config says otherwise. Absolute: the command provider's working
 * directory is not documented; a moved checkout changes only `create`, a no-op update for a finished step.
 */
export const defaultHooksCommand = (): string => `node ${shellQuote([path.join(__dirname, "..", "bin", "upshift")])}`;

/** What every product component exposes; `adopt` fills it from deployProduct and registers the outputs. */
export abstract class ProductComponent extends pulumi.ComponentResource {
    /** The plan this run applies (install, unchanged, upgrade or rollback). */
    public plan!: Plan;
    /** The record the stack exports as `deployed.<product>`: the plan's next state plus its audit entry. */
    public deployed!: pulumi.Output<DeployedProduct>;
    public containers!: Record<string, docker.Container>;
    public volumes!: Record<string, docker.Volume>;
    public steps!: Record<string, command.local.Command>;

    protected adopt(d: ProductDeployment): void {
        this.plan = d.plan;
        this.deployed = d.deployed;
        this.containers = d.containers;
        this.volumes = d.volumes;
        this.steps = d.steps;
        this.registerOutputs({ plan: d.plan, deployed: d.deployed });
    }
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_");

export function deployProduct(
    parent: pulumi.ComponentResource,
    name: string,
    args: ProductArgs,
    internals: ProductInternals,
): ProductDeployment {
    const { catalog } = internals;
    const productDir = path.join(args.backupDir, catalog.product);
    const plan = planChange({
        catalog,
        to: args.version,
        deployed: args.deployed,
        volumeNames: args.volumes,
        backupPolicy: { offsite: args.s3 !== undefined, keep: args.keepBackups },
        attemptsFound: attemptDirs(listDir(productDir)),
        attemptVolumes: readAttemptVolumes(productDir),
        imageRef: (ref) => resolveRef(args, ref),
        pgUpgradeImage: args.pgUpgradeImage,
    });
    writeAttemptVolumes(productDir, plan);
    pulumi.log.info(describePlan(plan), parent);
    for (const req of catalog.hostRequirements?.(args.version) ?? [])
        pulumi.log.warn(`${catalog.product}: host requirement: ${req}`, parent);

    // Before any volume, image or container: the data an install is adopted from is there.
    // dependsOn is an option, not an input: existing stacks see no diff from it (docs/pulumi.md).
    const adoption = internals.adoption ?? declareAdoptionCheck(parent, name, catalog, plan, args, internals.adoptedBy);
    const firstDeps: pulumi.Resource[] = [...(args.stepsDependOn ?? []), ...(adoption.step ? [adoption.step] : [])];
    const opts = { parent, dependsOn: adoption.step ? [adoption.step] : [] };
    const network = new docker.Network(`${name}-network`, { name: `upshift_${catalog.product}` }, opts);

    // Data volumes: every one this stack has ever used stays declared, so a retained volume of an
    // older format is never deleted and can be re-attached on rollback (reference/pulumi-notes.md,
    // docker.Volume: any change replaces, so the inputs are only the name).
    const volumes: Record<string, docker.Volume> = {};
    const volumeNames = new Set<string>();
    for (const v of Object.values(plan.next.volumes)) volumeNames.add(v.name);
    for (const v of plan.volumes) if (v.type === "volume") volumeNames.add(v.name);
    for (const [key, known] of Object.entries(plan.next.volumes)) {
        const current = key.split("~")[0]; // archived entries: key@format~lastVersion (plan/index.ts record)
        const type = catalog.dataVolumes(known.lastVersion).find((d) => `${d.key}@${d.format}` === current)?.type;
        if (type === "dir") volumeNames.delete(known.name);
    }
    for (const volName of [...volumeNames].sort()) {
        volumes[volName] = new docker.Volume(
            `${name}-vol-${safe(volName)}`,
            { name: volName },
            // The provider reads a volume's labels back and any change replaces it (ForceNew:
            // kreuzwerker resource_docker_volume.go), so an adopted compose volume, labelled
            // com.docker.compose.*, would be replaced (refused: protected) on the second run.
            { ...opts, retainOnDelete: true, protect: true, ignoreChanges: ["labels"] },
        );
    }

    const services = catalog.services(args.version).filter((s) => !s.optional || args.features?.[s.optional]);
    const images: Record<string, docker.RemoteImage> = {};
    const imageFor = (s: ServiceSpec) => {
        const ref = resolveImage(catalog, args, s.name, args.version);
        // keepLocally: the old image must stay on the host for a rollback.
        return (images[ref] ??= new docker.RemoteImage(
            `${name}-image-${safe(ref)}`,
            { name: ref, keepLocally: true },
            opts,
        ));
    };

    // Steps, chained in plan order within each phase.
    const ctx: StepContext = {
        product: catalog.product,
        from: plan.from ?? plan.to,
        to: plan.to,
        attempt: plan.attempt,
        hooks: args.hooksCommand ?? defaultHooksCommand(),
        backupDir: args.backupDir,
        helperImage: args.helperImage,
        volumes: plan.volumes,
        fromVolumes: plan.fromVolumes,
        image: (service, version) => resolveImage(catalog, args, service, version),
        s3: args.s3,
    };
    const steps: Record<string, command.local.Command> = {};
    const env = (kind: string): Record<string, pulumi.Input<string>> => {
        const e: Record<string, pulumi.Input<string>> = {};
        if (args.dockerHost) e.DOCKER_HOST = args.dockerHost;
        for (const [envName, secretKey] of Object.entries(internals.stepSecrets?.(kind) ?? {})) {
            const value = args.secrets?.[secretKey];
            if (value !== undefined) e[envName] = pulumi.secret(value);
        }
        return e;
    };
    let last: pulumi.Resource[] = [];
    // A step that writes a new volume of this change (pg-migrate's) waits for the engine to create it.
    const newVolumesOf = (step: PlanStep): docker.Volume[] =>
        Object.values(step.params)
            .flatMap((v) =>
                [...v.matchAll(/\$\{vol:([^:}]+):to\}/g)].map((m) => plan.volumes.find((pv) => pv.key === m[1])),
            )
            .flatMap((pv) => (pv && pv.isNew && pv.type === "volume" && volumes[pv.name] ? [volumes[pv.name]] : []));
    const addSteps = (phase: string, after: pulumi.Resource[]): pulumi.Resource[] => {
        let prev = after;
        for (const step of plan.steps.filter((s) => s.phase === phase)) {
            const cmd = stepResource(
                `${name}-${ctx.from}-to-${ctx.to}-${step.id}`,
                stepShellLine(step, ctx, internals.extraCommands),
                stepTriggers(ctx.from, ctx.to, ctx.attempt),
                env(step.kind),
                parent,
                [...prev, ...newVolumesOf(step)],
            );
            steps[step.id] = cmd;
            prev = [cmd];
        }
        return prev;
    };
    last = addSteps("before-stop", firstDeps);
    // Nothing changes: the last change's steps stay declared exactly as they ran (no diff, nothing
    // runs), instead of being deleted by the first run after it (e2e: --expect-no-changes).
    const kept =
        plan.kind === "unchanged" && args.deployed?.lastChange?.to === plan.to ? args.deployed.lastChange : undefined;
    if (kept) {
        let prev: pulumi.Resource[] = args.stepsDependOn ?? [];
        for (const step of kept.steps) {
            const cmd = stepResource(
                `${name}-${kept.from}-to-${kept.to}-${step.id}`,
                step.create,
                stepTriggers(kept.from, kept.to, kept.attempt),
                env(step.kind),
                parent,
                prev,
            );
            steps[step.id] = cmd;
            prev = [cmd];
        }
    }

    // Containers target each other and are targeted by steps by fixed name, never by `container.name`
    // (that would make a step depend on the container and reverse the order; pulumi-notes.md).
    const containers: Record<string, docker.Container> = {};
    const makeContainers = (role: ServiceSpec["role"], dependsOn: pulumi.Resource[]) => {
        for (const s of services.filter((x) => x.role === role)) {
            containers[s.name] = makeContainer(parent, name, s, imageFor(s), network, volumes, plan, args, dependsOn);
        }
        return Object.values(containers).filter((c, i, all) => all.indexOf(c) === i);
    };
    const dataContainers = makeContainers("data", last);
    last = addSteps("after-data-service", [...last, ...dataContainers]);
    const appContainers = makeContainers("app", last).filter((c) => !dataContainers.includes(c));
    addSteps("after-app", [...last, ...appContainers]);

    const lastChange: LastChange | undefined =
        plan.kind === "upgrade" || plan.kind === "rollback"
            ? {
                  from: ctx.from,
                  to: ctx.to,
                  attempt: ctx.attempt,
                  steps: plan.steps.map((s) => ({
                      id: s.id,
                      kind: s.kind,
                      create: stepShellLine(s, ctx, internals.extraCommands),
                  })),
              }
            : undefined;
    return {
        plan,
        deployed: auditedRecord(plan, steps, containers, args.backupDir, lastChange, adoption),
        containers,
        volumes,
        steps,
        network,
    };
}

/**
 * A step's triggers: the versions and the attempt. A step of a new attempt is a replacement, so its
 * `create` runs; with only its command line changed it would run `update: "true"` and do nothing.
 */
const stepTriggers = (from: string, to: string, attempt: number | undefined) =>
    attempt === undefined ? [from, to] : [from, to, `a${attempt}`];

const ATTEMPT_VOLUMES_FORMAT = "upshift-attempt-volumes/1";

/**
 * Before the engine creates a new volume of an upgrade or rollback, its name goes on disk (the stack
 * outputs of a failed update are not saved): a later run keeps declaring the volumes of an attempt
 * that did not finish (plan/index.ts `AttemptVolumes`). Not in a preview, which changes nothing.
 */
function writeAttemptVolumes(productDir: string, plan: Plan): void {
    if (
        pulumi.runtime.isDryRun() ||
        plan.attempt === undefined ||
        (plan.kind !== "upgrade" && plan.kind !== "rollback")
    )
        return;
    const volumes = plan.volumes
        .filter((v) => v.isNew && v.type === "volume")
        .map((v) => ({ key: v.key, format: v.format, name: v.name }));
    if (!volumes.length) return;
    const file = path.join(productDir, attemptVolumesFile(plan.from!, plan.to, plan.attempt));
    const ledger = {
        format: ATTEMPT_VOLUMES_FORMAT,
        stack: stackName(),
        from: plan.from,
        to: plan.to,
        n: plan.attempt,
        volumes,
    };
    try {
        fs.mkdirSync(productDir, { recursive: true, mode: 0o700 });
        publishJson(file, ledger);
    } catch (e) {
        throw new Error(
            `cannot record this attempt's new volumes in ${file}: ${(e as Error).message}; check upshift:backupDir and its permissions (nothing was changed)`,
        );
    }
}

/** The ledgers of this stack's earlier attempts (another stack may share the backup directory). */
function readAttemptVolumes(productDir: string): AttemptVolumes[] {
    const out: AttemptVolumes[] = [];
    for (const name of listDir(productDir).filter((n) => /-a\d+-volumes\.json$/.test(n))) {
        const file = path.join(productDir, name);
        let l: AttemptVolumes & { format?: string; stack?: string };
        try {
            l = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch (e) {
            throw new Error(
                `cannot read ${file} (${(e as Error).message}): it lists volumes an earlier attempt declared; restore it from a backup of that directory, or move it away if no such attempt ran`,
            );
        }
        if (l.format !== ATTEMPT_VOLUMES_FORMAT || !Array.isArray(l.volumes))
            throw new Error(`${file} is not an upshift attempt ledger (${ATTEMPT_VOLUMES_FORMAT}); move it away`);
        if (l.stack === stackName()) out.push(l);
    }
    return out;
}

const stackName = () => `${pulumi.getProject()}/${pulumi.getStack()}`;

/** Names in a directory; none when it does not exist (a first run) or cannot be read. */
function listDir(dir: string): string[] {
    try {
        return fs.readdirSync(dir);
    } catch {
        return [];
    }
}

/** One step's Command. */
function stepResource(
    name: string,
    create: string,
    triggers: string[],
    environment: Record<string, pulumi.Input<string>>,
    parent: pulumi.Resource,
    dependsOn: pulumi.Resource[],
): command.local.Command {
    return new command.local.Command(
        name,
        {
            create,
            // A finished step is never redone: an input change (e.g. a moved checkout) is a no-op update.
            update: "true",
            // Plain version strings: a change always replaces (pulumi-command #855).
            triggers,
            environment,
            // Hooks print one small JSON line; never carry it into the next run (pulumi-command #285).
            addPreviousOutputInEnv: false,
        },
        { parent, dependsOn },
    );
}

function makeContainer(
    parent: pulumi.Resource,
    name: string,
    s: ServiceSpec,
    image: docker.RemoteImage,
    network: docker.Network,
    volumes: Record<string, docker.Volume>,
    plan: Plan,
    args: ProductArgs,
    dependsOn: pulumi.Resource[],
): docker.Container {
    const envs = Object.entries(s.env ?? {}).flatMap(([k, v]) => {
        if (typeof v === "string") return [pulumi.output(`${k}=${v}`)];
        const secret = args.secrets?.[v.secret];
        if (secret === undefined && v.optional) return [];
        if (secret === undefined)
            throw new Error(
                `${plan.product}:${v.secret} is needed by ${s.name}. Fix: pulumi config set --secret ${plan.product}:${v.secret} <value>`,
            );
        return [pulumi.secret(pulumi.interpolate`${k}=${secret}`)];
    });
    const mounts = (s.mounts ?? []).map((m) => {
        const v = plan.volumes.find((x) => x.key === m.volume);
        if (!v) throw new Error(`catalog bug: ${s.name} mounts unknown data key ${m.volume}`);
        return v.type === "dir"
            ? { hostPath: v.name, containerPath: m.target, readOnly: m.readOnly ?? false }
            : { volumeName: volumes[v.name].name, containerPath: m.target, readOnly: m.readOnly ?? false };
    });
    // Host paths that are not data (traefik's Docker socket): bind-mounted as the vendor's file does.
    for (const b of s.binds ?? [])
        mounts.push({ hostPath: b.source, containerPath: b.target, readOnly: b.readOnly ?? false });
    const resourceName = `${name}-${s.name}`;
    const grace = s.role === "data" ? DATA_GRACE_SECONDS : APP_GRACE_SECONDS;
    return new docker.Container(
        resourceName,
        {
            name: s.name,
            // imageId, not the tag: a tag or repoDigest replaces the container on every run (pulumi-docker #325, #1431).
            image: image.imageId,
            envs: envs.length ? pulumi.all(envs) : undefined,
            command: s.command ? [...s.command] : undefined,
            entrypoints: s.entrypoint ? [...s.entrypoint] : undefined,
            volumes: mounts.length ? mounts : undefined,
            // The container name and the names the app's code connects to (compose service aliases).
            networksAdvanced: [{ name: network.name, aliases: [...new Set([s.name, ...(s.aliases ?? [])])] }],
            // The vendor's labels, and what made it (upshift.stack, upshift.resource): after a killed run,
            // `upshift orphans` removes only a container that run created and the state never recorded.
            labels: [
                ...Object.entries(s.labels ?? {}),
                [IDENTITY_LABELS[0], `${pulumi.getProject()}/${pulumi.getStack()}`],
                [IDENTITY_LABELS[1], resourceName],
            ].map(([label, value]) => ({ label, value })),
            tmpfs: s.tmpfs?.length ? Object.fromEntries(s.tmpfs.map((t) => [t, ""])) : undefined,
            init: s.init,
            ports: s.ports?.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip ?? "127.0.0.1" })),
            restart: "unless-stopped",
            // Durations in Go's form: the provider reads them back with time.Duration.String() ("1m0s"
            // for "60s"; kreuzwerker resource_docker_container_funcs.go), and any other spelling is a
            // diff, with replaceOnChanges a replacement, on every run.
            healthcheck: s.healthcheck
                ? {
                      tests: [...s.healthcheck.test],
                      interval: goDuration(s.healthcheck.interval),
                      timeout: goDuration(s.healthcheck.timeout),
                      retries: s.healthcheck.retries,
                      startPeriod: goDuration(s.healthcheck.startPeriod),
                  }
                : undefined,
            // Create returns only once healthy, so the next steps run on a ready service. The provider
            // fails only at waitTimeout, and a container that timed out is kept with an init error that
            // the next run does not wait for again: the final `start` step waits for health itself.
            wait: s.wait ?? false,
            waitTimeout: s.wait ? Math.min(s.waitTimeout ?? 60, MAX_WAIT_SECONDS) : undefined,
            // Without it the provider removes a container with no grace period (kreuzwerker
            // resource_docker_container_funcs.go, delete): the old Postgres would be killed and its
            // retained volume only crash-consistent.
            destroyGraceSeconds: grace,
            privileged: s.privileged,
            ipcMode: s.ipcMode,
            ulimits: s.ulimits?.map((u) => ({ ...u })),
            user: s.user,
            workingDir: s.workingDir,
        },
        {
            parent,
            dependsOn,
            // A healthcheck change alone is recorded but not applied by the provider (pulumi-notes.md).
            replaceOnChanges: ["healthcheck"],
            // The bridge takes the create timeout from here (default 20 min), which caps waitTimeout.
            ...(s.wait
                ? { customTimeouts: { create: `${Math.min(s.waitTimeout ?? 60, MAX_WAIT_SECONDS) + 300}s` } }
                : {}),
        },
    );
}

/** Longest healthcheck wait asked of the provider; the `start` step waits again, as long as it takes. */
const MAX_WAIT_SECONDS = 1800;
/** Clean shutdown times on delete: a database flushes and checkpoints; apps drain requests. */
const DATA_GRACE_SECONDS = 120;
const APP_GRACE_SECONDS = 60;

/** "60s" -> "1m0s", "90s" -> "1m30s", "5s" -> "5s", "1h" -> "1h0m0s": Go's time.Duration.String(). */
export function goDuration(d: string | undefined): string | undefined {
    if (d === undefined) return undefined;
    const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(d.trim());
    if (!m || d.trim() === "") throw new Error(`catalog bug: duration "${d}" is not like 30s, 1m30s or 500ms`);
    const ms = ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000 + Number(m[4] ?? 0);
    if (ms === 0) return "0s";
    if (ms < 1000) return `${ms}ms`;
    const h = Math.floor(ms / 3600000),
        min = Math.floor((ms % 3600000) / 60000),
        sec = (ms % 60000) / 1000;
    const secText = `${sec}s`;
    if (h) return `${h}h${min}m${secText}`;
    if (min) return `${min}m${secText}`;
    return secText;
}

/** Entries kept in the audit record. */
const HISTORY = 50;

/**
 * The deployed record with this change's audit entry. The restore point's checksums come from the
 * backup step's one-line JSON report (its stdout; hooks never print secrets: docs/hooks-cli.md).
 */
function auditedRecord(
    plan: Plan,
    steps: Record<string, command.local.Command>,
    containers: Record<string, docker.Container>,
    backupDir: string,
    lastChange: LastChange | undefined,
    adoption: AdoptionStep,
): pulumi.Output<DeployedProduct> {
    // The record resolves only once every step and every container of this change has succeeded
    // (containers with `wait` are created healthy; the last step waits for all). The SDK sends a
    // stack output as soon as it resolves, and after a failed update the engine keeps an output
    // that was sent (pulumi/pulumi#14621, step_executor.go: only outputs NOT sent again keep their
    // old value): resolving earlier would record a half-done change as deployed. docs/pulumi.md.
    const done = pulumi.all([
        ...Object.values(steps).map((s) => s.stdout),
        ...Object.values(containers).map((c) => c.id),
        ...(adoption.step ? [adoption.step.stdout] : []),
    ]);
    if (plan.kind === "unchanged") return done.apply(() => plan.next);
    const adopted = plan.kind === "install" && adoption.record ? { adoptCheck: adoption.record } : {};
    const point = plan.kind === "upgrade" ? "restore-point" : "rollback-point";
    const pointId =
        plan.attempt === undefined
            ? `${plan.from}-to-${plan.to}-${point}`
            : attemptId(plan.from!, plan.to, plan.attempt, point);
    const entry: AuditEntry = {
        kind: plan.kind,
        ...(plan.from ? { from: plan.from } : {}),
        to: plan.to,
        steps: plan.steps.map((s) => s.id),
        backups: steps[point] ? [`${plan.product}/${pointId}`] : [],
    };
    const report = steps[point]?.stdout ?? pulumi.output("");
    const manifest = `${backupDir}/${plan.product}/${pointId}/manifest.json`;
    return pulumi.all([report, done]).apply(([out]) => {
        // A finished step re-run by an input change runs `update: true`, whose stdout is empty: the
        // restore point's own manifest then gives the same checksums.
        const parsed = parseReport(out) ?? readManifestReport(manifest);
        const full: AuditEntry = {
            ...entry,
            ...(parsed?.archives ? { archives: parsed.archives } : {}),
            ...(parsed?.createdAt ? { at: parsed.createdAt } : {}),
        };
        return {
            ...plan.next,
            ...adopted,
            history: [...(plan.next.history ?? []), full].slice(-HISTORY),
            ...(lastChange ? { lastChange } : {}),
        };
    });
}

function readManifestReport(file: string): { archives?: AuditEntry["archives"]; createdAt?: string } | undefined {
    try {
        return parseReport(fs.readFileSync(file, "utf8").replace(/\n/g, " "));
    } catch {
        return undefined;
    }
}

function parseReport(out: string | undefined): { archives?: AuditEntry["archives"]; createdAt?: string } | undefined {
    const line = (out ?? "").trim().split("\n").pop();
    if (!line) return undefined;
    try {
        const r = JSON.parse(line) as {
            archives?: { name: string; sha256: string; bytes: number }[];
            createdAt?: string;
        };
        return {
            archives: r.archives?.map((a) => ({ name: a.name, sha256: a.sha256, bytes: a.bytes })),
            createdAt: r.createdAt,
        };
    } catch {
        return undefined;
    }
}
