// KWDB as a Pulumi component: the vendor's single-node `kaiwudb-container` for the configured
// version (insecure or secure), image swaps within a major, and the export/import path from 2.x to 3.x
// (catalog/kwdb.ts). Before any image or container: a check that a tar-loaded image is on the host,
// and in secure mode the certificates, made once in their own volume.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
    isTarballImage,
    KWDB_CERTS_DIR,
    KWDB_CONTAINER,
    KWDB_DEFAULTS,
    KWDB_INSTALLER_CERTS,
    kwdbCatalogFor,
    KwdbOptions,
} from "../catalog/kwdb";
import { PlanStep } from "../catalog/types";
import { lt } from "../catalog/versions";
import { Plan, planChange, PlanRefused } from "../plan";
import { backupPath, hookLine, StepCommandBuilder, StepContext, stepId } from "./hookSteps";
import {
    declareAdoptionCheck,
    defaultHooksCommand,
    deployProduct,
    ProductArgs,
    ProductComponent,
    resolveImage,
} from "./product";

export interface KwdbArgs extends ProductArgs {
    /** Store path inside the container (kwdb:storePath). Default: `/kaiwudb/deploy/kaiwudb-container`. */
    readonly storePath?: string;
    /**
     * Secure mode: TLS with certificates from secrets `caCert`/`caKey`, or made once with `kwbase cert`.
     * Default: true when adopting the vendor installer's host directories (its default), else false.
     */
    readonly secure?: boolean;
    /** Host ports. Default: sql 26257, http 8080, brpc 27257 (3.x only). */
    readonly ports?: KwdbOptions["ports"];
    /** `--ulimit nofile`. Default: 1048576. */
    readonly maxFiles?: number;
}

const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
const CONTAINER = "docker:index/container:Container";

/** The hooks command line of the KWDB step kinds (the generic kinds are built in hookSteps.ts). */
export const kwdbStepCommands: StepCommandBuilder = (step: PlanStep, ctx: StepContext) => {
    const p = step.params;
    const auth = p.secure === "true" ? ["--certs-dir", KWDB_CERTS_DIR] : ["--insecure"];
    const exportDir = backupPath(ctx, stepId(ctx, "kwdb-export"));
    switch (step.kind) {
        case "kwdb-export":
            // --stop-after: a write after the export would not reach 3.x; the container is replaced next anyway.
            return [
                "kwdb-export",
                "--container",
                p.container,
                "--store",
                p.store,
                "--dir",
                p.dir,
                "--out",
                exportDir,
                ...auth,
                "--stop-after",
            ];
        case "kwdb-import":
            return [
                "kwdb-import",
                "--container",
                p.container,
                "--store",
                p.store,
                "--from",
                exportDir,
                ...auth,
                ...(p.stripPartitionInterval === "true" ? ["--strip-partition-interval"] : []),
            ];
        default:
            return undefined;
    }
};

/** What the operator does instead of a downgrade the planner refused (db-upgrade.md: no downgrade). */
function downgradeHelp(e: unknown, args: KwdbArgs): unknown {
    const from = args.deployed?.version;
    if (!(e instanceof PlanRefused) || !from || !lt(args.version, from)) return e;
    return new PlanRefused(
        `${e.message}. KWDB cannot be downgraded in place (KWDB docs, "Database Upgrade"): to run ${args.version} again, ` +
            `restore a backup taken at ${args.version} into a new volume (\`upshift list --product kwdb\`, then \`upshift restore --backup ${args.backupDir}/kwdb/<id> --volume <archived>=<new volume>\`) ` +
            `and deploy ${args.version} on it in a new stack (kwdb:volumes.kwdb_store=<new volume>); this stack stays on ${from}`,
    );
}

export class Kwdb extends ProductComponent {
    /** Checks and certificate setup that every image and container waits for. */
    public readonly prerequisites: command.local.Command[];

    constructor(name: string, args: KwdbArgs, opts?: pulumi.ComponentResourceOptions) {
        const prerequisites: command.local.Command[] = [];
        // The image and the container wait for the checks (deployProduct builds them; a transformation
        // adds the dependency, so product.ts stays generic).
        const waitForPrerequisites: pulumi.ResourceTransformation = (a) =>
            prerequisites.length && (a.type === REMOTE_IMAGE || a.type === CONTAINER)
                ? { props: a.props, opts: pulumi.mergeOptions(a.opts, { dependsOn: prerequisites }) }
                : undefined;
        super(
            "upshift:kwdb:Kwdb",
            name,
            {},
            { ...opts, transformations: [waitForPrerequisites, ...(opts?.transformations ?? [])] },
        );

        // kwdb:volumes.kwdb_store as a host path (the installer's /var/lib/kaiwudb): adopt the installer's
        // layout, bind mounts of its directories, never named volumes that would start an empty store.
        const storeDir = args.volumes?.kwdb_store?.startsWith("/") ? args.volumes.kwdb_store : undefined;
        const installerDirs = storeDir
            ? { store: storeDir, certs: args.volumes?.kwdb_certs ?? KWDB_INSTALLER_CERTS }
            : undefined;
        const options: KwdbOptions = {
            storePath: args.storePath ?? KWDB_DEFAULTS.storePath,
            secure: args.secure ?? installerDirs !== undefined,
            ports: args.ports ?? KWDB_DEFAULTS.ports,
            maxFiles: args.maxFiles,
            installerDirs,
        };
        const catalog = kwdbCatalogFor(options);
        let plan: Plan;
        try {
            // Pure and cheap: planned here too for the certs volume's name and a KWDB-specific refusal.
            plan = planChange({ catalog, to: args.version, deployed: args.deployed, volumeNames: args.volumes });
        } catch (e) {
            throw downgradeHelp(e, args);
        }
        // The installer's store must be there before anything, certificates included, is made.
        const adoption = declareAdoptionCheck(this, name, catalog, plan, args);
        if (adoption.step) prerequisites.push(adoption.step);
        const hooks = args.hooksCommand ?? defaultHooksCommand();
        const baseEnv: Record<string, pulumi.Input<string>> = args.dockerHost ? { DOCKER_HOST: args.dockerHost } : {};
        const ref = resolveImage(catalog, args, KWDB_CONTAINER, args.version);

        if (isTarballImage(ref)) {
            // An image of the vendor's KaiwuDB.tar (kwdb:images maps kwdb/kwdb:<v> to it) is on no registry:
            // without this check the provider would report a failed pull instead of the fix.
            const how =
                `${ref} comes from the vendor's KaiwuDB.tar, not a registry: load it on that host with \`docker load < KaiwuDB.tar\`, ` +
                `or drop the kwdb:images entry to pull kwdb/kwdb:${args.version}`;
            prerequisites.push(
                new command.local.Command(
                    `${name}-image-present`,
                    {
                        create: hookLine(hooks, ["image-present", "--image", ref, "--how", how]),
                        triggers: [ref],
                        environment: baseEnv,
                        addPreviousOutputInEnv: false,
                    },
                    { parent: this, dependsOn: [...prerequisites] },
                ),
            );
        }

        if (options.secure) {
            const certs = plan.volumes.find((v) => v.key === "kwdb_certs");
            if (!certs) throw new Error("catalog bug: secure KWDB without a kwdb_certs volume");
            const env: Record<string, pulumi.Input<string>> = { ...baseEnv };
            const caCert = args.secrets?.caCert;
            const caKey = args.secrets?.caKey;
            if ((caCert === undefined) !== (caKey === undefined)) {
                throw new Error(
                    "kwdb:caCert and kwdb:caKey go together. Fix: pulumi config set --secret kwdb:caCert/kwdb:caKey (both), or remove both to have a CA made once",
                );
            }
            // Secrets reach the hook through the environment only, as secret Outputs (never argv, never stdout).
            if (caCert !== undefined && caKey !== undefined) {
                env.KWDB_CA_CERT = pulumi.secret(caCert);
                env.KWDB_CA_KEY = pulumi.secret(caKey);
            }
            prerequisites.push(
                new command.local.Command(
                    `${name}-certs`,
                    {
                        create: hookLine(hooks, [
                            "kwdb-certs",
                            "--volume",
                            certs.name,
                            "--image",
                            ref,
                            "--hosts",
                            KWDB_CONTAINER,
                            ...(args.helperImage ? ["--helper-image", args.helperImage] : []),
                        ]),
                        // Made once: a later image swap changes nothing; another certs volume makes them again.
                        update: "true",
                        triggers: [certs.name],
                        environment: env,
                        addPreviousOutputInEnv: false,
                    },
                    { parent: this, dependsOn: [...prerequisites], additionalSecretOutputs: ["stdout", "stderr"] },
                ),
            );
        }

        const d = deployProduct(this, name, args, { catalog, extraCommands: kwdbStepCommands, adoption });
        this.prerequisites = prerequisites;
        this.adopt(d);
    }
}
